package commands_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"mlsbridge/commands"
	"mlsbridge/policy"
)

func TestDispatchNotCommand(t *testing.T) {
	d := newDispatcher(t, commands.Config{})
	for _, text := range []string{"", "hello", "!", "!!!", "! ping", "!?", "!1h", "ping", "say !ping", "/ping"} {
		act := &fakeActions{}
		err := d.Dispatch(context.Background(), act, from(carol, text, testGroup(policy.Default())))
		if !errors.Is(err, commands.ErrNotCommand) {
			t.Errorf("Dispatch(%q) = %v, want ErrNotCommand", text, err)
		}
		if len(act.replies) > 0 {
			t.Errorf("Dispatch(%q) replied %q", text, act.replies)
		}
	}
}

func TestDispatchPrefix(t *testing.T) {
	g := testGroup(policy.Default())
	tests := []struct {
		name  string
		cfg   commands.Config
		text  string
		reply string // empty: not a command
	}{
		{name: "default prefix", text: "!ping", reply: "pong"},
		{name: "leading space", text: "  \n!ping", reply: "pong"},
		{name: "other prefix", cfg: commands.Config{Prefix: "/"}, text: "/ping", reply: "pong"},
		{name: "other prefix ignores !", cfg: commands.Config{Prefix: "/"}, text: "!ping"},
		{name: "other prefix in help", cfg: commands.Config{Prefix: "/"}, text: "/help", reply: "/help [command...]"},
		{name: "other prefix in usage", cfg: commands.Config{Prefix: "/"}, text: "/admin add", reply: "Usage: /admin add <member>"},
		{
			name: "any of two prefixes, first",
			cfg:  commands.Config{Accept: commands.AnyOf(commands.Prefix("!"), commands.Prefix("@bot "))},
			text: "!ping", reply: "pong",
		},
		{
			name: "any of two prefixes, second",
			cfg:  commands.Config{Accept: commands.AnyOf(commands.Prefix("!"), commands.Prefix("@bot "))},
			text: "@bot ping", reply: "pong",
		},
		{
			name: "all of: DM only, then prefix",
			cfg:  commands.Config{Accept: commands.AllOf(dmOnly, commands.Prefix("!"))},
			text: "!ping",
		},
		{name: "no checks accept nothing", cfg: commands.Config{Accept: commands.AnyOf()}, text: "!ping"},
		{name: "empty AllOf accepts all", cfg: commands.Config{Accept: commands.AllOf()}, text: "ping", reply: "pong"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDispatcher(t, tc.cfg)
			act := &fakeActions{}
			err := d.Dispatch(context.Background(), act, from(carol, tc.text, g))
			if tc.reply == "" {
				if !errors.Is(err, commands.ErrNotCommand) || len(act.replies) > 0 {
					t.Fatalf("Dispatch(%q) = %v, replies %q; want ErrNotCommand and silence", tc.text, err, act.replies)
				}
				return
			}
			if len(act.replies) != 1 || !strings.Contains(act.replies[0], tc.reply) {
				t.Fatalf("Dispatch(%q) replies %q (error %v), want one containing %q", tc.text, act.replies, err, tc.reply)
			}
		})
	}
}

// dmOnly accepts messages in DMs only.
func dmOnly(msg commands.Message, text string) (string, bool) {
	return text, msg.Group.Type == policy.ConversationDM
}

// TestDispatchRoleFromGroup checks that a sender cannot claim a role: the
// dispatcher takes it from the group's admin lists.
func TestDispatchRoleFromGroup(t *testing.T) {
	d := newDispatcher(t, commands.Config{})
	act := &fakeActions{}
	msg := from(carol, "!pending remove", testGroup(policy.Default()))
	msg.Sender.Role = policy.RoleSuperAdmin
	err := d.Dispatch(context.Background(), act, msg)
	if de, ok := errors.AsType[*policy.DeniedError](err); !ok || de.Decision.Actor.Role != policy.RoleMember {
		t.Fatalf("Dispatch = %v, want a denial of carol as a member", err)
	}
	if len(act.calls) > 0 {
		t.Errorf("acted: %q", act.calls)
	}
}

// TestDispatchNotSupported checks every built-in that needs a capability
// against an Actions value that has none.
func TestDispatchNotSupported(t *testing.T) {
	d := newDispatcher(t, commands.Config{})
	g := testGroup(policy.AdminsOnly())
	tests := map[string]string{
		"!admin add " + carol:                  "add admins",
		"!admin remove " + bob:                 "remove admins",
		"!superadmin add " + bob:               "add super admins",
		"!superadmin remove " + bob:            "remove super admins",
		"!members add " + dave:                 "add members",
		"!members remove " + carol:             "remove members",
		"!group name x":                        "change the group's name",
		"!group description x":                 "change the group's description",
		"!group image x":                       "change the group's image",
		"!policy set add_member allow":         "change permissions",
		"!disappear 1h":                        "set disappearing messages",
		"!pending list":                        "list the members who asked to leave",
		"!pending remove":                      "remove the members who asked to leave",
		"!delete":                              "delete messages",
		"!block " + carol:                      "block members",
		"!unblock " + carol:                    "unblock members",
		"!plugins list":                        "manage plugins",
		"!plugins enable x":                    "enable plugins",
		"!plugins disable x":                   "disable plugins",
		"!plugins config x":                    "configure plugins",
		"!superadmin add " + bob + " ":         "add super admins",
		"!members add " + dave + " @" + erin:   "add members",
		"!plugins config x key value":          "configure plugins",
		"!policy set disappearing super_admin": "change permissions",
	}
	for text, action := range tests {
		act := &replyOnly{}
		msg := from(alice, text, g)
		msg.ReplyTo = &commands.Reference{ID: "beef"}
		err := d.Dispatch(context.Background(), act, msg)
		if !errors.Is(err, commands.ErrNotSupported) {
			t.Errorf("Dispatch(%q) = %v, want ErrNotSupported", text, err)
			continue
		}
		want := "Sorry, this bot can't " + action + " here: that isn't supported."
		if len(act.replies) != 1 || act.replies[0] != want {
			t.Errorf("Dispatch(%q) replies %q, want %q", text, act.replies, want)
		}
	}
}

// custom returns a dispatcher with the built-ins and extra commands.
func custom(t *testing.T, extra ...*commands.Command) *commands.Dispatcher {
	t.Helper()
	return newDispatcher(t, commands.Config{Commands: append(commands.Builtins(), extra...)})
}

func TestDispatchPanics(t *testing.T) {
	boom := func(context.Context, *commands.Invocation) error { panic("boom: secret-token") }
	d := custom(t,
		&commands.Command{Name: "boom", Summary: "panics", Handler: boom},
		&commands.Command{Name: "checkboom", Summary: "panics in its check", Handler: boom,
			Check: &commands.Check{Summary: "nobody", Func: func(*commands.Invocation) error { panic(errors.New("check boom")) }}},
		&commands.Command{Name: "typo", Summary: "reads an undeclared argument", Handler: func(ctx context.Context, inv *commands.Invocation) error {
			return inv.Reply(ctx, inv.Args.Text("nope"))
		}},
	)
	for _, text := range []string{"!boom", "!checkboom", "!typo"} {
		act := &fakeActions{}
		err := d.Dispatch(context.Background(), act, from(carol, text, testGroup(policy.Default())))
		pe, ok := errors.AsType[*commands.PanicError](err)
		if !ok {
			t.Fatalf("Dispatch(%q) = %v, want a *PanicError", text, err)
		}
		if pe.Command != strings.TrimPrefix(text, "!") || len(pe.Stack) == 0 {
			t.Errorf("PanicError = {Command: %q, stack %d bytes}, want the command and a stack", pe.Command, len(pe.Stack))
		}
		if len(act.replies) != 1 || !strings.HasPrefix(act.replies[0], "Sorry, something went wrong") || strings.Contains(act.replies[0], "secret") {
			t.Errorf("Dispatch(%q) replies %q, want one fixed apology", text, act.replies)
		}
	}
}

// panicky panics in every action, Reply included.
type panicky struct{ fakeActions }

func (p *panicky) Reply(context.Context, string) error             { panic("reply boom") }
func (p *panicky) AddAdmin(context.Context, commands.Member) error { panic("add boom") }

func TestDispatchPanicInActions(t *testing.T) {
	d := newDispatcher(t, commands.Config{})
	err := d.Dispatch(context.Background(), &panicky{}, from(alice, "!admin add "+carol, testGroup(policy.Default())))
	if _, ok := errors.AsType[*commands.PanicError](err); !ok {
		t.Fatalf("Dispatch = %v, want a *PanicError", err)
	}
	if !strings.Contains(err.Error(), "reply panicked") {
		t.Errorf("Dispatch = %v, want the failed apology joined", err)
	}
}

func TestDispatchActionErrors(t *testing.T) {
	internal := errors.New("sql: password=hunter2 connection refused")
	denied := policy.Decision{Check: policy.Check{Rule: policy.Rule{
		ID: policy.RuleAddAdmin, Section: policy.SectionPolicies, Text: "add_admin policy is super-admin-only and the actor is an admin",
	}}}
	tests := []struct {
		name  string
		err   error
		reply string
	}{
		{name: "internal error hidden", err: internal, reply: "Sorry, something went wrong running that command. The bot's operator can find the details in its log."},
		{name: "wrapped internal error hidden", err: errors.Join(errors.New("commit"), internal), reply: "Sorry, something went wrong"},
		{name: "user error shown", err: commands.NewUserError("That member is not in the group.", internal), reply: "That member is not in the group."},
		{name: "bot refused by the group", err: &policy.DeniedError{Decision: denied},
			reply: "I couldn't do that: the group's rules don't allow it: add_admin policy is super-admin-only and the actor is an admin."},
		{name: "not supported by the implementation", err: errors.Join(commands.ErrNotSupported, internal), reply: "Sorry, that isn't supported here."},
		{name: "deadline", err: context.DeadlineExceeded, reply: "Sorry, that took too long and was stopped."},
	}
	d := newDispatcher(t, commands.Config{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			act := &fakeActions{err: tc.err}
			err := d.Dispatch(context.Background(), act, from(alice, "!admin add "+carol, testGroup(policy.Default())))
			if !errors.Is(err, tc.err) {
				t.Errorf("Dispatch = %v, want it to wrap %v", err, tc.err)
			}
			if len(act.replies) != 1 || !strings.HasPrefix(act.replies[0], tc.reply) {
				t.Fatalf("replies %q, want one starting %q", act.replies, tc.reply)
			}
			if strings.Contains(act.replies[0], "hunter2") || strings.Contains(act.replies[0], "sql") {
				t.Errorf("reply %q shows an internal error", act.replies[0])
			}
		})
	}
}

func TestDispatchReplyFails(t *testing.T) {
	d := newDispatcher(t, commands.Config{})
	replyErr := errors.New("network down")
	act := &fakeActions{replyErr: replyErr}
	err := d.Dispatch(context.Background(), act, from(carol, "!admin add "+dave, testGroup(policy.Default())))
	if _, ok := errors.AsType[*policy.DeniedError](err); !ok || !errors.Is(err, replyErr) {
		t.Errorf("Dispatch = %v, want the denial joined with the reply error", err)
	}
	act = &fakeActions{replyErr: replyErr}
	if err := d.Dispatch(context.Background(), act, from(carol, "!ping", testGroup(policy.Default()))); !errors.Is(err, replyErr) {
		t.Errorf("Dispatch(!ping) = %v, want the reply error", err)
	}
}

func TestDispatchNilActions(t *testing.T) {
	d := newDispatcher(t, commands.Config{})
	if err := d.Dispatch(context.Background(), nil, from(carol, "!ping", policy.GroupState{})); err == nil {
		t.Error("Dispatch with nil Actions succeeded")
	}
}

// TestCustomCommand declares a command as data, with a group-policy check,
// a role and an optional capability.
func TestCustomCommand(t *testing.T) {
	wave := &commands.Command{
		Name:    "wave",
		Aliases: []string{"hi"},
		Summary: "wave at a message",
		Role:    policy.RoleAdmin,
		Args:    []commands.ArgSpec{{Name: "emoji", Kind: commands.ArgChoice, Choices: []string{"👋", "🙌"}, Arity: commands.Optional}},
		Check: commands.GroupPolicy("the group's add_member policy", func(inv *commands.Invocation) (policy.Change, error) {
			var c policy.Change
			c.AddedMembers = make([]policy.MemberChange, 1)
			setID(&c.AddedMembers[0].Inbox, dave)
			return c, nil
		}),
		Handler: func(ctx context.Context, inv *commands.Invocation) error {
			r, ok := inv.Actions.(commands.Reactor)
			if !ok {
				return &commands.NotSupportedError{Action: "react"}
			}
			emoji := inv.Args.Text("emoji")
			if emoji == "" {
				emoji = "👋"
			}
			return r.React(ctx, inv.Message.ID, emoji)
		},
	}
	d := custom(t, wave)
	tests := []struct {
		name, from, text string
		policies         policy.PolicySet
		wantCalls        []string
		wantReply        string
	}{
		{name: "admin waves", from: bob, text: "!hi 🙌", policies: policy.AdminsOnly(), wantCalls: []string{"React c0ffee 🙌"}},
		{name: "member below the role", from: carol, text: "!wave", policies: policy.Default(), wantReply: "Sorry, you can't use !wave: this command is for admins and super admins, and you are a member."},
		{name: "admin refused by the policy", from: bob, text: "!wave", policies: denyAdds(), wantReply: "add_member policy denies everyone"},
		{name: "bad choice", from: bob, text: "!wave 🎉", policies: policy.AdminsOnly(), wantReply: "use 👋 or 🙌"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			act := &fakeActions{}
			err := d.Dispatch(context.Background(), act, from(tc.from, tc.text, testGroup(tc.policies)))
			if strings.Join(act.calls, ";") != strings.Join(tc.wantCalls, ";") {
				t.Errorf("calls %q, want %q (error %v)", act.calls, tc.wantCalls, err)
			}
			if tc.wantReply != "" && (len(act.replies) != 1 || !strings.Contains(act.replies[0], tc.wantReply)) {
				t.Errorf("replies %q, want one containing %q", act.replies, tc.wantReply)
			}
		})
	}
	help, err := d.Help("wave")
	if err != nil || !strings.Contains(help, "Who can use it: admins and super admins, as the group's add_member policy allows") || !strings.Contains(help, "Also: hi") {
		t.Errorf("Help(wave) = %q, %v", help, err)
	}
}

func denyAdds() policy.PolicySet {
	s := policy.AdminsOnly()
	s.AddMember = policy.NewMembershipPolicy(policy.Deny)
	return s
}

func TestNewRejectsBadTrees(t *testing.T) {
	h := func(context.Context, *commands.Invocation) error { return nil }
	leaf := func(name string, args ...commands.ArgSpec) *commands.Command {
		return &commands.Command{Name: name, Summary: "s", Handler: h, Args: args}
	}
	tests := []struct {
		name string
		cmds []*commands.Command
		want string
	}{
		{name: "nil command", cmds: []*commands.Command{nil}, want: "nil command"},
		{name: "bad name", cmds: []*commands.Command{leaf("Ping")}, want: "bad name"},
		{name: "bad alias", cmds: []*commands.Command{{Name: "a", Aliases: []string{"b c"}, Summary: "s", Handler: h}}, want: "bad name or alias"},
		{name: "duplicate name", cmds: []*commands.Command{leaf("a"), leaf("a")}, want: "used twice"},
		{name: "alias clashes with a name", cmds: []*commands.Command{leaf("a"), {Name: "b", Aliases: []string{"a"}, Summary: "s", Handler: h}}, want: "used twice"},
		{name: "duplicate subcommand", cmds: []*commands.Command{{Name: "g", Summary: "s", Subcommands: []*commands.Command{leaf("x"), leaf("x")}}}, want: "g x: name or alias \"x\" used twice"},
		{name: "neither handler nor subcommands", cmds: []*commands.Command{{Name: "a", Summary: "s"}}, want: "exactly one of"},
		{name: "both handler and subcommands", cmds: []*commands.Command{{Name: "a", Summary: "s", Handler: h, Subcommands: []*commands.Command{leaf("x")}}}, want: "exactly one of"},
		{name: "no summary", cmds: []*commands.Command{{Name: "a", Handler: h}}, want: "no summary"},
		{name: "unknown role", cmds: []*commands.Command{{Name: "a", Summary: "s", Handler: h, Role: 7}}, want: "unknown role"},
		{name: "check without func", cmds: []*commands.Command{{Name: "a", Summary: "s", Handler: h, Check: &commands.Check{}}}, want: "check without a func"},
		{name: "required after optional", cmds: []*commands.Command{leaf("a", commands.ArgSpec{Name: "x", Kind: commands.ArgWord, Arity: commands.Optional}, commands.ArgSpec{Name: "y", Kind: commands.ArgWord})}, want: "required argument after an optional"},
		{name: "variadic not last", cmds: []*commands.Command{leaf("a", commands.ArgSpec{Name: "x", Kind: commands.ArgMember, Arity: commands.Variadic}, commands.ArgSpec{Name: "y", Kind: commands.ArgWord})}, want: "only the last"},
		{name: "text not last", cmds: []*commands.Command{leaf("a", commands.ArgSpec{Name: "x", Kind: commands.ArgText}, commands.ArgSpec{Name: "y", Kind: commands.ArgWord})}, want: "only the last"},
		{name: "variadic text", cmds: []*commands.Command{leaf("a", commands.ArgSpec{Name: "x", Kind: commands.ArgText, Arity: commands.Variadic})}, want: "cannot be variadic"},
		{name: "choice without choices", cmds: []*commands.Command{leaf("a", commands.ArgSpec{Name: "x", Kind: commands.ArgChoice})}, want: "choices"},
		{name: "upper-case choice", cmds: []*commands.Command{leaf("a", commands.ArgSpec{Name: "x", Kind: commands.ArgChoice, Choices: []string{"A"}})}, want: "lower case"},
		{name: "unknown kind", cmds: []*commands.Command{leaf("a", commands.ArgSpec{Name: "x"})}, want: "unknown kind"},
		{name: "duplicate argument", cmds: []*commands.Command{leaf("a", commands.ArgSpec{Name: "x", Kind: commands.ArgWord}, commands.ArgSpec{Name: "x", Kind: commands.ArgWord})}, want: "declared twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := commands.New(commands.Config{Commands: tc.cmds})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
