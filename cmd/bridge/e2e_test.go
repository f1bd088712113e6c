package main

import (
	"slices"
	"strings"
	"testing"
)

// e2eStep is one row of the built-in command table: user types text in
// the group (as a reply to the message saved under replyTo when set), and
// the bot's next message must hold every one of want; check then looks at
// the effect from the libxmtp side. before runs first (setting the scene).
type e2eStep struct {
	name    string
	group   string // empty: the main group
	before  func(t *testing.T)
	user    string
	text    string // {alice} is alice's inbox id, {alice.address} her address
	replyTo string
	want    []string
	check   func(t *testing.T)
}

// TestE2EBuiltinCommands runs the real bridge binary with one bot, and
// libxmtp users (npm @xmtp/node-bindings 1.9.1) in an admins-only group
// with it: every built-in command works for a role allowed to use it and
// is refused, saying why, for one that is not; the effects are checked on
// the libxmtp side (groupInfo, members, permissions, messages).
//
// Roles: alice created the group (super admin), the bot is made super
// admin by alice so that its commits pass, bob and carol are members,
// dave is the one added and removed.
func TestE2EBuiltinCommands(t *testing.T) {
	dir := t.TempDir()
	br := startBridge(t, dir, e2eConfig(t, dir))
	bot := br.Bot(t, defaultBotName)
	x := newXMTP(t, br, bot)
	alice, bob, carol, dave := x.User(t, "alice"), x.User(t, "bob"), x.User(t, "carol"), x.User(t, "dave")
	g := x.NewGroup(t, "alice", []string{bot.InboxID, "bob", "carol"}, map[string]any{"name": "e2e", "permissions": "adminOnly"})
	x.P.Call(t, map[string]any{"op": "addSuperAdmin", "client": "alice", "group": g, "inbox": bot.InboxID})

	expand := strings.NewReplacer("{alice}", alice.InboxID, "{bob}", bob.InboxID, "{carol}", carol.InboxID,
		"{dave}", dave.InboxID, "{carol.address}", carol.Address, "{dave.address}", dave.Address).Replace
	info := func(t *testing.T) map[string]any { return x.GroupInfo(t, "alice", g) }
	has := func(field, inbox string, want bool) func(t *testing.T) {
		return func(t *testing.T) {
			if got := slices.Contains(strs(info(t)[field]), inbox); got != want {
				t.Fatalf("libxmtp groupInfo %s = %v; holds %s: %v, want %v", field, info(t)[field], inbox, got, want)
			}
		}
	}
	field := func(key, want string) func(t *testing.T) {
		return func(t *testing.T) {
			if got, _ := info(t)[key].(string); got != want {
				t.Fatalf("libxmtp groupInfo %s = %q, want %q", key, got, want)
			}
		}
	}
	policyIs := func(key, want string) func(t *testing.T) {
		return func(t *testing.T) {
			res := x.P.Call(t, map[string]any{"op": "permissions", "client": "alice", "group": g, "sync": true})
			if got := res["policies"].(map[string]any)[key]; got != want {
				t.Fatalf("libxmtp permissions %s = %v, want %s", key, got, want)
			}
		}
	}
	saved := map[string]string{}
	send := func(user, key, text string) func(t *testing.T) {
		return func(t *testing.T) { saved[key] = x.Send(t, user, g, text) }
	}
	deleted := func(key string) func(t *testing.T) {
		return func(t *testing.T) {
			res := x.P.Call(t, map[string]any{"op": "enriched", "client": "carol", "group": g})
			for _, m := range res["messages"].([]any) {
				msg := m.(map[string]any)
				if msg["id"] == saved[key] {
					if msg["deleted"] != true {
						t.Fatalf("libxmtp shows message %s as %v, want it deleted", key, msg)
					}
					return
				}
			}
			t.Fatalf("message %s not in carol's enriched view", key)
		}
	}
	refused := func(cmd string, reason ...string) []string {
		return append([]string{"Sorry, you can't use !" + cmd + ":"}, reason...)
	}
	// Group-policy denials name the rule and the actor's role; the
	// dispatcher's own (a command's required role) address the issuer.
	const actorMember, youMember = "the actor is a member", "and you are a member"

	steps := []e2eStep{
		{name: "help/everyone", user: "bob", text: "!help", want: []string{"Commands:", "!ping", "!admin", "!plugins"}},
		{name: "help command/everyone", user: "carol", text: "!help admin add", want: []string{"admin add"}},
		{name: "ping/everyone", user: "bob", text: "!ping", want: []string{"pong"}},

		{name: "admin add/member refused", user: "bob", text: "!admin add {bob}", want: refused("admin add", "add_admin policy is super-admin-only", actorMember), check: has("admins", bob.InboxID, false)},
		{name: "admin add/super admin", user: "alice", text: "!admin add {bob}", want: []string{bob.InboxID + " is now an admin."}, check: has("admins", bob.InboxID, true)},
		{name: "admin list/everyone", user: "carol", text: "!admin list", want: []string{"Super admins:", alice.InboxID, bot.InboxID, "Admins:", bob.InboxID}},
		{name: "admin remove/admin refused", user: "bob", text: "!admin remove {bob}", want: refused("admin remove", "remove_admin policy is super-admin-only", "the actor is an admin"), check: has("admins", bob.InboxID, true)},
		{name: "admin remove/super admin", user: "alice", text: "!admin remove {bob}", want: []string{bob.InboxID + " is no longer an admin."}, check: has("admins", bob.InboxID, false)},

		{name: "superadmin add/member refused", user: "bob", text: "!superadmin add {carol}", want: refused("superadmin add", "only super admins may add super admins", actorMember), check: has("superAdmins", carol.InboxID, false)},
		{name: "superadmin add by address/super admin", user: "alice", text: "!superadmin add {carol.address}", want: []string{"is now a super admin."}, check: has("superAdmins", carol.InboxID, true)},
		{name: "superadmin remove/member refused", user: "bob", text: "!superadmin remove {carol}", want: refused("superadmin remove", "only super admins may remove super admins", actorMember), check: has("superAdmins", carol.InboxID, true)},
		{name: "superadmin remove/super admin", user: "alice", text: "!superadmin remove {carol}", want: []string{carol.InboxID + " is no longer a super admin."}, check: has("superAdmins", carol.InboxID, false)},

		{name: "members add/member refused", user: "bob", text: "!members add {dave}", want: refused("members add", "add_member policy is admin-only", actorMember),
			check: func(t *testing.T) {
				if slices.Contains(x.Members(t, "alice", g), dave.InboxID) {
					t.Fatal("dave was added")
				}
			}},
		{name: "members add/super admin", user: "alice", text: "!members add {dave.address}", want: []string{"Added 1 member."},
			check: func(t *testing.T) { x.WaitMembers(t, "alice", g, []string{"dave"}, nil) }},
		{name: "members list/everyone", user: "bob", text: "!members list", want: []string{"5 members:", dave.InboxID, alice.InboxID + " (super admin)"}},
		{name: "members remove/member refused", user: "bob", text: "!members remove {dave}", want: refused("members remove", "remove_member policy is admin-only", actorMember),
			check: func(t *testing.T) { x.WaitMembers(t, "alice", g, []string{"dave"}, nil) }},
		{name: "members remove/super admin", user: "alice", text: "!members remove {dave}", want: []string{"Removed 1 member."},
			check: func(t *testing.T) { x.WaitMembers(t, "alice", g, nil, []string{"dave"}) }},

		{name: "group name/member refused", user: "bob", text: "!group name Bob's room", want: refused("group name", "group_name", actorMember), check: field("name", "e2e")},
		{name: "group name/super admin", user: "alice", text: "!group name E2E room", want: []string{`Renamed the group to "E2E room".`}, check: field("name", "E2E room")},
		{name: "group description/member refused", user: "carol", text: "!group description nope", want: refused("group description", "description", actorMember), check: field("description", "")},
		{name: "group description/super admin", user: "alice", text: "!group description Where the bot is tested", want: []string{"Changed the description to"}, check: field("description", "Where the bot is tested")},
		{name: "group image/member refused", user: "bob", text: "!group image https://example.com/b.png", want: refused("group image", "group_image_url_square", actorMember), check: field("imageUrl", "")},
		{name: "group image/super admin", user: "alice", text: "!group image https://example.com/e2e.png", want: []string{`Changed the image to "https://example.com/e2e.png".`}, check: field("imageUrl", "https://example.com/e2e.png")},
		{name: "group info/everyone", user: "carol", text: "!group info", want: []string{"Name: E2E room", "Description: Where the bot is tested", "Image: https://example.com/e2e.png", "Members: 4", "Permissions: admins only"}},

		{name: "policy show/everyone", user: "bob", text: "!policy show", want: []string{"Permissions (admins only):", "add_member: "}},
		{name: "policy set/member refused", user: "bob", text: "!policy set add_member allow", want: refused("policy set", "only super admins may change the group's permissions", actorMember), check: policyIs("addMemberPolicy", "admin")},
		{name: "policy set/super admin", user: "alice", text: "!policy set add_member allow", want: []string{"add_member is now allow."}, check: policyIs("addMemberPolicy", "allow")},

		{name: "disappear/member refused", user: "bob", text: "!disappear 1h", want: refused("disappear", "message_disappear", actorMember),
			check: func(t *testing.T) {
				if info(t)["disappearingEnabled"] == true {
					t.Fatal("disappearing messages turned on")
				}
			}},
		{name: "disappear 1h/super admin", user: "alice", text: "!disappear 1h", want: []string{"Messages now disappear after 1h."},
			check: func(t *testing.T) {
				in := info(t)
				d, _ := in["disappearing"].(map[string]any)
				if in["disappearingEnabled"] != true || d == nil || d["inNs"] != "3600000000000" {
					t.Fatalf("libxmtp disappearing = %v (enabled %v), want 1h on", in["disappearing"], in["disappearingEnabled"])
				}
			}},
		{name: "disappear off/super admin", user: "alice", text: "!disappear off", want: []string{"Disappearing messages are off."},
			check: func(t *testing.T) {
				if info(t)["disappearingEnabled"] != false {
					t.Fatal("disappearing messages still on")
				}
			}},

		{name: "delete/not a reply", user: "alice", text: "!delete", want: []string{"as a reply"}},
		{name: "delete/member refused", before: send("bob", "oops", "oops, wrong chat"), user: "carol", replyTo: "oops", text: "!delete",
			want: refused("delete", "deleting someone else's message is for admins and super admins", youMember)},
		{name: "delete/super admin", user: "alice", replyTo: "oops", text: "!delete", want: []string{"Deleted the message."}, check: deleted("oops")},
		{name: "delete own message/member", before: send("carol", "mine", "my own typo"), user: "carol", replyTo: "mine", text: "!delete", want: []string{"Deleted the message."}, check: deleted("mine")},

		{name: "block/member refused", user: "bob", text: "!block {carol}", want: refused("block", "this command is for admins and super admins", youMember)},
		{name: "block/super admin", user: "alice", text: "!block {bob}", want: []string{"Blocked " + bob.InboxID + "."},
			check: func(t *testing.T) {
				mark := x.Mark(t, "alice", g)
				x.Send(t, "bob", g, "!ping") // ignored: bob is blocked
				x.Send(t, "alice", g, "!ping")
				_, since := x.WaitBot(t, "alice", g, mark, "pong")
				if len(since) != 1 {
					t.Fatalf("after bob's and alice's !ping the bot said %q, want one pong (bob is blocked)", since)
				}
			}},
		{name: "unblock/member refused", user: "carol", text: "!unblock {bob}", want: refused("unblock", "this command is for admins and super admins", youMember)},
		{name: "unblock/super admin", user: "alice", text: "!unblock {bob}", want: []string{"Unblocked " + bob.InboxID + "."},
			check: func(t *testing.T) { x.Command(t, "bob", g, "!ping", "pong") }},

		{name: "plugins list/everyone", user: "bob", text: "!plugins list", want: []string{"Plugins:", "moderation.flood: off", "moderation.wordfilter: off", "members.pending: off"}},
		{name: "plugins enable/member refused", user: "bob", text: "!plugins enable moderation.flood", want: refused("plugins enable", "this command is for admins and super admins", youMember)},
		{name: "plugins enable/super admin", user: "alice", text: "!plugins enable moderation.flood", want: []string{"moderation.flood is now on here."},
			check: func(t *testing.T) { x.Command(t, "carol", g, "!plugins list", "moderation.flood: on") }},
		{name: "plugins config/member refused", user: "carol", text: "!plugins config moderation.flood max_messages 1", want: refused("plugins config", "this command is for admins and super admins", youMember)},
		{name: "plugins config set/super admin", user: "alice", text: "!plugins config moderation.flood max_messages 50", want: []string{"Set max_messages of moderation.flood."},
			check: func(t *testing.T) {
				x.Command(t, "alice", g, "!plugins config moderation.flood", "moderation.flood settings here:", "max_messages", "50")
			}},
		{name: "plugins disable/member refused", user: "bob", text: "!plugins disable moderation.flood", want: refused("plugins disable", "this command is for admins and super admins", youMember)},
		{name: "plugins disable/super admin", user: "alice", text: "!plugins disable moderation.flood", want: []string{"moderation.flood is now off here."},
			check: func(t *testing.T) { x.Command(t, "bob", g, "!plugins list", "moderation.flood: off") }},

		{name: "pending list/everyone", before: func(t *testing.T) {
			x.P.Call(t, map[string]any{"op": "leaveGroup", "client": "carol", "group": g})
			br.WaitLog(t, "member asked to leave", "inbox_id="+carol.InboxID)
		}, user: "bob", text: "!pending list", want: []string{"Waiting to be removed:", carol.InboxID}},
		{name: "pending remove/member refused", user: "bob", text: "!pending remove", want: refused("pending remove", "this command is for super admins", youMember),
			check: func(t *testing.T) { x.WaitMembers(t, "bob", g, []string{"carol"}, nil) }},
		{name: "pending remove/super admin", user: "alice", text: "!pending remove", want: []string{"Removed 1 member who asked to leave."},
			check: func(t *testing.T) { x.WaitMembers(t, "bob", g, nil, []string{"carol"}) }},
	}
	// A group with the default ("all members") permissions where the bot
	// is a plain member: what the policies allow members works for bob,
	// and what the bot's own role does not allow is refused by the group
	// even for a super admin, saying so.
	g2 := x.NewGroup(t, "alice", []string{bot.InboxID, "bob"}, map[string]any{"name": "open"})
	steps = append(steps,
		e2eStep{name: "open group members add/member", group: g2, user: "bob", text: "!members add {dave}", want: []string{"Added 1 member."},
			check: func(t *testing.T) { x.WaitMembers(t, "bob", g2, []string{"dave"}, nil) }},
		e2eStep{name: "open group group name/member", group: g2, user: "bob", text: "!group name Open room", want: []string{`Renamed the group to "Open room".`},
			check: func(t *testing.T) {
				if got := x.GroupInfo(t, "alice", g2)["name"]; got != "Open room" {
					t.Fatalf("libxmtp name = %v", got)
				}
			}},
		e2eStep{name: "open group members remove/member refused", group: g2, user: "bob", text: "!members remove {dave}",
			want: refused("members remove", "remove_member policy is admin-only", actorMember)},
		e2eStep{name: "open group admin add/bot not super admin, refused by the group", group: g2, user: "alice", text: "!admin add {bob}",
			want: []string{"I couldn't do that: the group's rules don't allow it: add_admin policy is super-admin-only and the actor is a member."},
			check: func(t *testing.T) {
				if admins := strs(x.GroupInfo(t, "alice", g2)["admins"]); slices.Contains(admins, bob.InboxID) {
					t.Fatalf("libxmtp admins = %v, bob made admin", admins)
				}
			}},
	)

	for _, s := range steps {
		ok := t.Run(s.name, func(t *testing.T) {
			if s.before != nil {
				s.before(t)
			}
			in := g
			if s.group != "" {
				in = s.group
			}
			text := expand(s.text)
			var got string
			if s.replyTo != "" {
				got = x.ReplyCommand(t, s.user, in, saved[s.replyTo], text, s.want...)
			} else {
				got = x.Command(t, s.user, in, text, s.want...)
			}
			t.Logf("%s: %q → %q", s.user, text, got)
			if s.check != nil {
				s.check(t)
			}
		})
		if !ok {
			t.Fatalf("step %q failed; later steps depend on it", s.name)
		}
	}

	t.Run("healthz and metrics", func(t *testing.T) {
		code, body := br.Get(t, "/healthz")
		mustContain(t, "/healthz", body, `"status":"ok"`, `"bot_default":"ok"`, `"node":"ok"`)
		if code != 200 {
			t.Fatalf("/healthz answered %d", code)
		}
		// Every step typed one command (a few typed more in their checks);
		// each was answered.
		typed := float64(len(steps))
		for _, m := range []struct {
			name   string
			labels map[string]string
			min    float64
		}{
			{"mlsbridge_groups", nil, 2},
			{"mlsbridge_messages_received_total", nil, typed},
			{"mlsbridge_messages_sent_total", nil, typed},
			{"mlsbridge_command_duration_seconds_count", nil, typed},
			{"mlsbridge_command_duration_seconds_count", map[string]string{"command": "admin", "outcome": "denied"}, 2},
			{"mlsbridge_command_duration_seconds_count", map[string]string{"command": "admin", "outcome": "ok"}, 3},
			{"mlsbridge_command_duration_seconds_count", map[string]string{"command": "delete", "outcome": "error"}, 1},
		} {
			if got := br.Metric(t, m.name, m.labels); got < m.min {
				t.Errorf("%s%v = %v, want at least %v", m.name, m.labels, got, m.min)
			}
		}
		if got := br.Metric(t, "mlsbridge_plugin_actions_total", nil); got != 0 {
			t.Errorf("mlsbridge_plugin_actions_total = %v, want 0 (the !delete commands are not plugin actions)", got)
		}
	})
}
