package commands_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"mlsbridge/commands"
	"mlsbridge/policy"
)

// builtinCase is one message to the built-in commands.
type builtinCase struct {
	name string
	from string // the sender's inbox
	text string
	// group is the group's state; nil means testGroup(policy.AdminsOnly()).
	group func() policy.GroupState
	// replyTo, when set, makes the message a reply.
	replyTo *commands.Reference
	// wantCalls are the actions expected, in order.
	wantCalls []string
	// wantReply is a substring of the (last) reply.
	wantReply string
	// wantRule, when set, is the rule of the expected *policy.DeniedError.
	wantRule policy.RuleID
	// wantUsage expects a *commands.UsageError.
	wantUsage bool
}

func twoSuperAdmins() policy.GroupState {
	g := testGroup(policy.AdminsOnly())
	g.Metadata.SuperAdmins = ids(g.Metadata.SuperAdmins, bob)
	return g
}

func defaultGroup() policy.GroupState { return testGroup(policy.Default()) }

var builtinCases = []builtinCase{
	// help
	{name: "help", from: carol, text: "!help", wantReply: "Commands:\n!help [command...]"},
	{name: "help for a command", from: carol, text: "!help admin add", wantReply: "!admin add <member> — make a member an admin\nWho can use it: the group's add_admin policy"},
	{name: "help for an unknown command", from: carol, text: "!help admn", wantReply: "I don't know the command !admn. Did you mean !admin?"},
	{name: "help for an unknown subcommand", from: carol, text: "!help admin ad", wantReply: "!admin has no subcommand \"ad\". Did you mean !admin add?"},

	// ping
	{name: "ping", from: carol, text: "!ping", wantReply: "pong"},
	{name: "ping usage", from: carol, text: "!ping pong", wantUsage: true, wantReply: "!ping takes no arguments"},

	// admin
	{name: "admin add by super admin", from: alice, text: "!admin add " + carol, wantCalls: []string{"AddAdmin " + carol}, wantReply: carol + " is now an admin."},
	{name: "admin add by address", from: alice, text: "!admin add " + erin, wantCalls: []string{"AddAdmin " + erin}},
	{name: "admin add of an admin", from: alice, text: "!admin add " + bob, wantReply: bob + " is already an admin."},
	{name: "admin add by admin refused", from: bob, text: "!admin add " + carol, wantRule: policy.RuleAddAdmin,
		wantReply: "Sorry, you can't use !admin add: add_admin policy is super-admin-only and the actor is an admin."},
	{name: "admin add usage", from: alice, text: "!admin add", wantUsage: true, wantReply: "Usage: !admin add <member>"},
	{name: "admin add bad member", from: alice, text: "!admin add carol", wantUsage: true, wantReply: `"carol" is not a member I can use`},
	{name: "admin remove by super admin", from: alice, text: "!admin rm " + bob, wantCalls: []string{"RemoveAdmin " + bob}, wantReply: bob + " is no longer an admin."},
	{name: "admin remove of a member", from: alice, text: "!admin remove " + carol, wantReply: carol + " is not an admin."},
	{name: "admin remove by member refused", from: carol, text: "!admin remove " + bob, wantRule: policy.RuleRemoveAdmin, wantReply: "remove_admin policy is super-admin-only and the actor is a member"},
	{name: "admin remove usage", from: alice, text: "!admin remove " + bob + " " + carol, wantUsage: true, wantReply: "got one argument too many"},
	{name: "admin list", from: carol, text: "!admin list", wantReply: "Super admins:\n- " + alice + "\nAdmins:\n- " + bob},
	{name: "admin missing subcommand", from: carol, text: "!admin", wantUsage: true, wantReply: "!admin needs a subcommand: add, remove or list."},

	// superadmin
	{name: "superadmin add by super admin", from: alice, text: "!superadmin add @" + bob, wantCalls: []string{"AddSuperAdmin " + bob}, wantReply: "is now a super admin"},
	{name: "superadmin add by admin refused", from: bob, text: "!superadmin add " + carol, wantRule: policy.RuleAddSuperAdmin, wantReply: "only super admins may add super admins, and the actor is an admin"},
	{name: "superadmin add usage", from: alice, text: "!superadmin add 0x1", wantUsage: true, wantReply: "it has 1 hex digits after 0x"},
	{name: "superadmin remove another", from: alice, text: "!superadmin remove " + bob, group: twoSuperAdmins, wantCalls: []string{"RemoveSuperAdmin " + bob}},
	{name: "superadmin remove the last refused", from: alice, text: "!superadmin remove " + alice, wantRule: policy.RuleLastSuperAdmin, wantReply: "the group would be left without a super admin"},
	{name: "superadmin remove by admin refused", from: bob, text: "!super remove " + alice, wantRule: policy.RuleRemoveSuperAdmin, wantReply: "only super admins may remove super admins"},
	{name: "superadmin remove usage", from: alice, text: "!superadmin remove", wantUsage: true, wantReply: "Usage: !superadmin remove <member>"},

	// members
	{name: "members add by member in default group", from: carol, text: "!members add " + dave + " @" + erin + " " + dave, group: defaultGroup,
		wantCalls: []string{"AddMembers " + dave + "," + erin}, wantReply: "Added 2 members."},
	{name: "members add by member refused", from: carol, text: "!members add " + dave, wantRule: policy.RuleAddMember, wantReply: "add_member policy is admin-only and the actor is a member"},
	{name: "members add by admin", from: bob, text: "!members add " + dave, wantCalls: []string{"AddMembers " + dave}, wantReply: "Added 1 member."},
	{name: "members add usage", from: bob, text: "!members add", wantUsage: true, wantReply: "Usage: !members add <member>..."},
	{name: "members remove by admin", from: bob, text: "!members kick " + carol, wantCalls: []string{"RemoveMembers " + carol}, wantReply: "Removed 1 member."},
	{name: "members remove by member refused", from: carol, text: "!members remove " + bob, wantRule: policy.RuleRemoveMember, wantReply: "remove_member policy is admin-only and the actor is a member"},
	{name: "members remove of a super admin refused", from: bob, text: "!members remove " + alice, wantRule: policy.RuleSuperAdminNotRemovable, wantReply: "a super admin cannot be removed"},
	{name: "members remove usage", from: bob, text: "!members remove bob", wantUsage: true, wantReply: `"bob" is not a member I can use`},
	{name: "members list", from: carol, text: "!members list", wantReply: "3 members:\n- " + alice + " (super admin)\n- " + bob + " (admin)\n- " + carol},

	// group
	{name: "group name by admin", from: bob, text: "!group name The Book Club", wantCalls: []string{`SetMetadata group_name "The Book Club"`}, wantReply: `Renamed the group to "The Book Club".`},
	{name: "group name by member in default group", from: carol, text: `!group name "Carol's club"`, group: defaultGroup, wantCalls: []string{`SetMetadata group_name "Carol's club"`}},
	{name: "group name by member refused", from: carol, text: "!group name Mine", wantRule: policy.RuleUpdateMetadata, wantReply: "update_metadata policy for group_name is admin-only and the actor is a member"},
	{name: "group name too long refused", from: bob, text: "!group name " + strings.Repeat("n", 101), wantRule: policy.RuleLengthLimit, wantReply: "group_name is 101 bytes, over its limit of 100"},
	{name: "group name usage", from: bob, text: "!group name", wantUsage: true, wantReply: "!group name needs <name>"},
	{name: "group description cleared", from: bob, text: `!group description ""`, wantCalls: []string{`SetMetadata description ""`}},
	{name: "group description by member refused", from: carol, text: "!group description hi", wantRule: policy.RuleUpdateMetadata},
	{name: "group description usage", from: bob, text: "!group description", wantUsage: true},
	{name: "group image by admin", from: bob, text: "!group image https://x.test/a.png", wantCalls: []string{`SetMetadata group_image_url_square "https://x.test/a.png"`}},
	{name: "group image by member refused", from: carol, text: "!group image https://x.test/a.png", wantRule: policy.RuleUpdateMetadata},
	{name: "group image usage", from: bob, text: "!group image a b", wantUsage: true, wantReply: "got one argument too many"},
	{name: "group info", from: carol, text: "!group info", wantReply: "Name: Book club\nDescription: We read\nImage: (none)\nMembers: 3 (1 super admin, 1 admin)\nPermissions: admins only (!policy show for details)\nDisappearing messages: off"},

	// policy
	{name: "policy show", from: carol, text: "!policy show", wantReply: "Permissions (admins only):\nadd_member: admin\nremove_member: admin\nadd_admin: super_admin"},
	{name: "policy set by super admin", from: alice, text: "!policy set add_member allow", wantCalls: []string{"SetPermissionPolicy add_member allow "}, wantReply: "add_member is now allow."},
	{name: "policy set two fields", from: alice, text: "!policy set disappearing super_admin",
		wantCalls: []string{"SetPermissionPolicy update_metadata super_admin message_disappear_from_ns", "SetPermissionPolicy update_metadata super_admin message_disappear_in_ns"}},
	{name: "policy set unchanged", from: alice, text: "!policy set add_member admin", wantReply: "add_member is already admin."},
	{name: "policy set by admin refused", from: bob, text: "!policy set name allow", wantRule: policy.RuleUpdatePermissions, wantReply: "only super admins may change the group's permissions, and the actor is an admin"},
	{name: "policy set admin to allow is usage", from: alice, text: "!policy set add_admin allow", wantUsage: true, wantReply: "add_admin can't be allow"},
	{name: "policy set bad level", from: alice, text: "!policy set add_member everyone", wantUsage: true, wantReply: "use allow, deny, admin or super_admin"},
	{name: "policy set missing level", from: alice, text: "!policy set add_member", wantUsage: true, wantReply: "Usage: !policy set <action> <level>"},

	// disappear
	{name: "disappear by admin", from: bob, text: "!disappear 1h", wantCalls: []string{"SetDisappearing 1h0m0s"}, wantReply: "Messages now disappear after 1h."},
	{name: "disappear off", from: bob, text: "!disappearing off", wantCalls: []string{"SetDisappearing 0s"}, wantReply: "Disappearing messages are off."},
	{name: "disappear by member refused", from: carol, text: "!disappear 7d", group: defaultGroup, wantRule: policy.RuleUpdateMetadata, wantReply: "message_disappear_from_ns is admin-only and the actor is a member"},
	{name: "disappear usage", from: bob, text: "!disappear 5 minutes", wantUsage: true, wantReply: `"5" is not a duration`},

	// pending
	{name: "pending list", from: carol, text: "!pending list", wantCalls: []string{"PendingRemovals"}, wantReply: "Waiting to be removed:\n- " + dave},
	{name: "pending remove by super admin", from: alice, text: "!pending remove", wantCalls: []string{"RemovePendingRemovals"}, wantReply: "Removed 1 member who asked to leave."},
	{name: "pending remove by admin refused", from: bob, text: "!pending remove", wantRule: commands.RuleRequiredRole, wantReply: "Sorry, you can't use !pending remove: this command is for super admins, and you are an admin."},
	{name: "pending remove usage", from: alice, text: "!pending remove " + dave, wantUsage: true, wantReply: "takes no arguments"},

	// delete
	{name: "delete own message", from: carol, text: "!delete", replyTo: &commands.Reference{ID: "beef", Author: participant(carol)}, wantCalls: []string{"DeleteMessage beef"}, wantReply: "Deleted the message."},
	{name: "delete by admin", from: bob, text: "!del", replyTo: &commands.Reference{ID: "beef", Author: participant(carol)}, wantCalls: []string{"DeleteMessage beef"}},
	{name: "delete another's message refused", from: carol, text: "!delete", replyTo: &commands.Reference{ID: "beef", Author: participant(bob)}, wantRule: commands.RuleDeleteMessage,
		wantReply: "deleting someone else's message is for admins and super admins, and you are a member"},
	{name: "delete with unknown author refused", from: carol, text: "!delete", replyTo: &commands.Reference{ID: "beef"}, wantRule: commands.RuleDeleteMessage},
	{name: "delete not as a reply", from: bob, text: "!delete", wantUsage: true, wantReply: "Send !delete as a reply to the message you want deleted."},
	{name: "delete usage", from: bob, text: "!delete now", replyTo: &commands.Reference{ID: "beef"}, wantUsage: true},

	// block and unblock
	{name: "block by admin", from: bob, text: "!block " + carol, wantCalls: []string{"Block " + carol}, wantReply: "Blocked " + carol + "."},
	{name: "block by member refused", from: carol, text: "!block " + bob, wantRule: commands.RuleRequiredRole, wantReply: "Sorry, you can't use !block: this command is for admins and super admins, and you are a member."},
	{name: "block usage", from: bob, text: "!block", wantUsage: true},
	{name: "unblock by super admin", from: alice, text: "!unblock @" + erin, wantCalls: []string{"Unblock " + erin}},
	{name: "unblock by member refused", from: carol, text: "!unblock " + dave, wantRule: commands.RuleRequiredRole},
	{name: "unblock usage", from: alice, text: "!unblock x", wantUsage: true},

	// plugins
	{name: "plugins list", from: carol, text: "!plugins list", wantReply: "Plugins:\n- filter: on — word filter\n- flood: off"},
	{name: "plugins enable by admin", from: bob, text: "!plugins enable flood", wantCalls: []string{"SetPluginEnabled flood true"}, wantReply: "flood is now on here."},
	{name: "plugins enable already on", from: bob, text: "!plugins enable filter", wantReply: "filter is already on here."},
	{name: "plugins enable unknown", from: bob, text: "!plugins enable flod", wantReply: `There is no plugin "flod". Did you mean flood?`},
	{name: "plugins enable by member refused", from: carol, text: "!plugins enable flood", wantRule: commands.RuleRequiredRole},
	{name: "plugins enable usage", from: bob, text: "!plugins enable", wantUsage: true},
	{name: "plugins disable by admin", from: bob, text: "!plugin off filter", wantCalls: []string{"SetPluginEnabled filter false"}},
	{name: "plugins disable usage", from: bob, text: "!plugins disable filter flood", wantUsage: true},
	{name: "plugins disable by member refused", from: carol, text: "!plugins disable filter", wantRule: commands.RuleRequiredRole},
	{name: "plugins config show", from: bob, text: "!plugins config filter", wantCalls: []string{"PluginConfig filter"}, wantReply: "filter settings here:\nwords: spam, scam"},
	{name: "plugins config set", from: bob, text: "!plugins config filter words spam, scam, \"free\" money", wantCalls: []string{`SetPluginConfig filter words "spam, scam, \"free\" money"`}},
	{name: "plugins config by member refused", from: carol, text: "!plugins config filter", wantRule: commands.RuleRequiredRole},
	{name: "plugins config key without value", from: bob, text: "!plugins config filter words", wantUsage: true, wantReply: "Give a value for words"},
}

func TestBuiltins(t *testing.T) {
	d := newDispatcher(t, commands.Config{})
	for _, tc := range builtinCases {
		t.Run(tc.name, func(t *testing.T) {
			g := testGroup(policy.AdminsOnly())
			if tc.group != nil {
				g = tc.group()
			}
			act := &fakeActions{
				plugins: []commands.PluginInfo{{ID: "filter", Enabled: true, Summary: "word filter"}, {ID: "flood"}},
			}
			act.pending, _ = parseMembers(dave)
			msg := from(tc.from, tc.text, g)
			msg.ReplyTo = tc.replyTo
			err := d.Dispatch(context.Background(), act, msg)
			checkOutcome(t, tc, act, err)
		})
	}
}

func checkOutcome(t *testing.T, tc builtinCase, act *fakeActions, err error) {
	t.Helper()
	if len(act.replies) == 0 {
		t.Fatalf("no reply; error %v", err)
	}
	reply := act.replies[len(act.replies)-1]
	if !strings.Contains(reply, tc.wantReply) {
		t.Errorf("reply = %q, want it to contain %q", reply, tc.wantReply)
	}
	if !reflect.DeepEqual(act.calls, tc.wantCalls) {
		t.Errorf("calls = %q, want %q", act.calls, tc.wantCalls)
	}
	switch {
	case tc.wantRule != "":
		de, ok := errors.AsType[*policy.DeniedError](err)
		if !ok {
			t.Fatalf("error = %v, want a *policy.DeniedError", err)
		}
		if de.Decision.Rule.ID != tc.wantRule {
			t.Errorf("denied by %s, want %s", de.Decision.Rule.ID, tc.wantRule)
		}
		if !strings.Contains(reply, de.UserMessage()) {
			t.Errorf("reply %q does not give the rule's words %q", reply, de.UserMessage())
		}
		if len(act.calls) > 0 {
			t.Errorf("a refused command acted: %q", act.calls)
		}
	case tc.wantUsage:
		ue, ok := errors.AsType[*commands.UsageError](err)
		if !ok {
			t.Fatalf("error = %v, want a *commands.UsageError", err)
		}
		if !strings.Contains(reply, "Usage: "+ue.Usage) {
			t.Errorf("reply %q does not show the usage %q", reply, ue.Usage)
		}
	case strings.HasPrefix(reply, "I don't know") || strings.Contains(reply, "has no subcommand") || strings.HasPrefix(reply, "There is no plugin"):
		if err == nil {
			t.Errorf("an error reply with a nil error")
		}
	default:
		if err != nil {
			t.Errorf("Dispatch: %v", err)
		}
	}
}

// TestBuiltinsCovered checks that the table has an allowed, and where one
// exists a refused and a usage, case for every built-in leaf command.
func TestBuiltinsCovered(t *testing.T) {
	d := newDispatcher(t, commands.Config{})
	type cover struct{ ok, refused, usage bool }
	seen := map[string]*cover{}
	for _, tc := range builtinCases {
		inv, _ := d.Parse(strings.TrimPrefix(tc.text, "!"))
		if inv == nil {
			continue
		}
		c := seen[inv.Path]
		if c == nil {
			c = &cover{}
			seen[inv.Path] = c
		}
		switch {
		case tc.wantRule != "":
			c.refused = true
		case tc.wantUsage:
			c.usage = true
		default:
			c.ok = true
		}
	}
	var walk func(path string, cmds []*commands.Command)
	walk = func(path string, cmds []*commands.Command) {
		for _, c := range cmds {
			p := strings.TrimSpace(path + " " + c.Name)
			if len(c.Subcommands) > 0 {
				walk(p, c.Subcommands)
				continue
			}
			cv := seen[p]
			switch {
			case cv == nil || !cv.ok:
				t.Errorf("%s: no case where it works", p)
			case (c.Role > policy.RoleMember || c.Check != nil) && !cv.refused:
				t.Errorf("%s: no case where it is refused", p)
			case canBeMisused(c.Args) && !cv.usage:
				t.Errorf("%s: no case with bad arguments", p)
			}
		}
	}
	walk("", commands.Builtins())
}

// canBeMisused reports whether some arguments are malformed or missing:
// false only for optional words (help's), which accept anything.
func canBeMisused(specs []commands.ArgSpec) bool {
	for _, a := range specs {
		if a.Kind != commands.ArgWord || (a.Arity != commands.Optional && a.Arity != commands.OptionalVariadic) {
			return true
		}
	}
	return false
}

func parseMembers(s ...string) ([]commands.Member, error) {
	var out []commands.Member
	for _, x := range s {
		m, err := commands.ParseMember(x)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
