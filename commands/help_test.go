package commands_test

import (
	"context"
	"strings"
	"testing"

	"mlsbridge/commands"
	"mlsbridge/policy"
)

// TestHelpListsEveryCommand checks that "!help" names every built-in
// command and subcommand, and that "!help <path>" explains each of them.
func TestHelpListsEveryCommand(t *testing.T) {
	d := newDispatcher(t, commands.Config{})
	act := &fakeActions{}
	if err := d.Dispatch(context.Background(), act, from(carol, "!help", testGroup(policy.Default()))); err != nil {
		t.Fatalf("!help: %v", err)
	}
	overview := act.replies[0]
	lines := strings.Split(overview, "\n")
	builtins := commands.Builtins()
	if got, want := len(lines), len(builtins)+2; got != want {
		t.Errorf("!help has %d lines, want %d (heading, one per command, footer):\n%s", got, want, overview)
	}
	for _, c := range builtins {
		want := "!" + c.Name
		if len(c.Subcommands) > 0 {
			var subs []string
			for _, s := range c.Subcommands {
				subs = append(subs, s.Name)
			}
			want += " " + strings.Join(subs, "|")
		}
		want += " "
		if !strings.Contains(overview, "\n"+want) || !strings.Contains(overview, c.Summary) {
			t.Errorf("!help does not list %q with its summary %q:\n%s", want, c.Summary, overview)
		}
	}

	var walk func(path []string, cmds []*commands.Command)
	walk = func(path []string, cmds []*commands.Command) {
		for _, c := range cmds {
			p := append(append([]string(nil), path...), c.Name)
			act := &fakeActions{}
			err := d.Dispatch(context.Background(), act, from(carol, "!help "+strings.Join(p, " "), testGroup(policy.Default())))
			if err != nil || len(act.replies) != 1 {
				t.Errorf("!help %s: %v, replies %q", strings.Join(p, " "), err, act.replies)
			} else if !strings.HasPrefix(act.replies[0], "!"+strings.Join(p, " ")) || !strings.Contains(act.replies[0], c.Summary) {
				t.Errorf("!help %s = %q, want its usage and summary", strings.Join(p, " "), act.replies[0])
			}
			walk(p, c.Subcommands)
		}
	}
	walk(nil, builtins)
}

func TestHelpDetail(t *testing.T) {
	d := newDispatcher(t, commands.Config{})
	tests := []struct {
		words []string
		want  string
	}{
		{[]string{"admin"}, "!admin add|remove|list — manage the group's admins\nAlso: admins\n!admin add <member> — make a member an admin (the group's add_admin policy)\n!admin remove <member> — make an admin a plain member again (the group's remove_admin policy)\n!admin list — list the admins and super admins (everyone)"},
		{[]string{"ADMINS", "rm"}, "!admin remove <member> — make an admin a plain member again\nAlso: rm\nWho can use it: the group's remove_admin policy\n<member>: an inbox id (64 hex digits) or an address (0x and 40 hex digits), or an @mention of either"},
		{[]string{"policy", "set"}, "<action>: what the policy guards (one of add_member, remove_member, add_admin, remove_admin, name, description, image, disappearing, app_data or min_version)\n<level>: who may do it (one of allow, deny, admin or super_admin)"},
		{[]string{"pending", "remove"}, "Who can use it: super admins\nOnly super admins process leave requests (xmtp-groups §7)."},
		{[]string{"plugins", "config"}, "!plugins config <plugin> [key] [value]"},
		{[]string{"help"}, "!help [command...] — list the commands, or explain one"},
		{[]string{"disappear"}, "!disappear <after> — make messages disappear after a while, or turn that off"},
	}
	for _, tc := range tests {
		got, err := d.Help(tc.words...)
		if err != nil || !strings.Contains(got, tc.want) {
			t.Errorf("Help(%q) = %q, %v; want it to contain %q", tc.words, got, err, tc.want)
		}
	}
}
