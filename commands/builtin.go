package commands

import (
	"context"
	"fmt"
	"strings"

	"mlsbridge/policy"
)

// Builtins returns the built-in commands as a fresh tree, which the caller
// may change (a Role, an alias) or extend before passing it to [New]:
//
//	help [command...]                     everyone
//	ping                                  everyone
//	admin add|remove <member>             the group's add_admin / remove_admin policy
//	admin list                            everyone
//	superadmin add|remove <member>        super admins (xmtp-groups §3.4)
//	members add|remove <member>...        the group's add_member / remove_member policy
//	members list                          everyone
//	group name|description <text>         the group's metadata policy for the field
//	group image <url>                     the group's metadata policy for the image
//	group info                            everyone
//	policy show                           everyone
//	policy set <action> <level>           super admins (xmtp-groups §3.4)
//	disappear <duration>|off              the metadata policy of the disappearing settings
//	pending list                          everyone
//	pending remove                        super admins (xmtp-groups §7)
//	delete (as a reply)                   the message's author, admins and super admins
//	block|unblock <member>                admins and super admins
//	plugins list                          everyone
//	plugins enable|disable|config …       admins and super admins
//
// Group-policy checks evaluate the change with the issuer as actor
// ([GroupPolicy]); the bot's own commit is checked again by its client.
func Builtins() []*Command {
	return []*Command{
		helpCommand(),
		pingCommand(),
		adminCommand(),
		superAdminCommand(),
		membersCommand(),
		groupCommand(),
		policyCommand(),
		disappearCommand(),
		pendingCommand(),
		deleteCommand(),
		blockCommand("block", "stop the bot from reacting to a member's messages and commands", Blocker.Block, "Blocked %s."),
		blockCommand("unblock", "let the bot react to a blocked member again", Blocker.Unblock, "Unblocked %s."),
		pluginsCommand(),
	}
}

func helpCommand() *Command {
	return &Command{
		Name:    "help",
		Aliases: []string{"h", "commands"},
		Summary: "list the commands, or explain one",
		Args: []ArgSpec{{
			Name: "command", Kind: ArgWord, Arity: OptionalVariadic,
			Help: "a command, with its subcommand if it has one, such as admin add",
		}},
		Handler: func(ctx context.Context, inv *Invocation) error {
			text, err := inv.d.Help(inv.Args.Texts("command")...)
			if err != nil {
				return err
			}
			return inv.Reply(ctx, text)
		},
	}
}

func pingCommand() *Command {
	return &Command{
		Name:    "ping",
		Summary: "check that the bot is listening",
		Handler: func(ctx context.Context, inv *Invocation) error { return inv.Reply(ctx, "pong") },
	}
}

// memberArg is the single-member argument of most built-ins.
var memberArg = ArgSpec{Name: "member", Kind: ArgMember}

// membersArg is the one-or-more-members argument of "members add|remove".
var membersArg = ArgSpec{Name: "member", Kind: ArgMember, Arity: Variadic}

// appendInbox appends s to a list of the inbox ids policy uses. commands may
// not import identity (STYLE.md §1), so the element type is inferred from
// the list. An address stands in for the inbox it will resolve to: it never
// equals an inbox id, so subject-dependent rules treat it as someone else,
// and the bot's client checks the resolved change again.
func appendInbox[S ~[]E, E ~string](list S, s string) S { return append(list, E(s)) }

// setInbox stores s in an inbox-id field of a policy type (see appendInbox).
func setInbox[E ~string](dst *E, s string) { *dst = E(s) }

// hasInbox reports whether list holds the inbox id s.
func hasInbox[E ~string](list []E, s string) bool {
	for _, id := range list {
		if string(id) == s {
			return true
		}
	}
	return false
}

// maxListed caps the lines of a listing reply.
const maxListed = 50

// listLines writes a heading and up to maxListed lines, noting how many
// were left out.
func listLines(heading string, lines []string) string {
	var b strings.Builder
	b.WriteString(heading)
	for i, l := range lines {
		if i == maxListed {
			fmt.Fprintf(&b, "\n…and %d more", len(lines)-maxListed)
			break
		}
		b.WriteString("\n- " + l)
	}
	return b.String()
}

// roleNote returns " (admin)" or " (super admin)" for id, "" for a member.
func roleNote[E ~string](m policy.Metadata, id E) string {
	switch {
	case hasInbox(m.SuperAdmins, string(id)):
		return " (super admin)"
	case hasInbox(m.Admins, string(id)):
		return " (admin)"
	}
	return ""
}

// plural returns "1 member" or "2 members".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
