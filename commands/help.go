package commands

import (
	"fmt"
	"strings"
)

// Help returns help generated from the tree: with no words, every command
// with its usage and summary; with words naming a command (names or
// aliases, such as "admin" or "admin add"), that command's usage, who may
// use it, its aliases, its arguments and its subcommands. An unknown name
// gives an *[UnknownCommandError].
func (d *Dispatcher) Help(words ...string) (string, error) {
	if len(words) == 0 {
		return d.overview(), nil
	}
	cmds, path := d.commands, ""
	var cmd *Command
	for _, w := range words {
		c := lookup(cmds, w)
		if c == nil {
			s := suggest(cmds, w)
			if s != "" && path != "" {
				s = path + " " + s
			}
			return "", &UnknownCommandError{Prefix: d.prefix, Parent: path, Name: w, Suggestion: s}
		}
		cmd, cmds = c, c.Subcommands
		path = strings.TrimSpace(path + " " + c.Name)
	}
	return d.detail(path, cmd), nil
}

func (d *Dispatcher) overview() string {
	var b strings.Builder
	b.WriteString("Commands:\n")
	for _, c := range d.commands {
		fmt.Fprintf(&b, "%s%s — %s\n", d.prefix, usage(c.Name, c), c.Summary)
	}
	fmt.Fprintf(&b, "Type %shelp <command> for details.", d.prefix)
	return b.String()
}

func (d *Dispatcher) detail(path string, c *Command) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s — %s\n", d.prefix, usage(path, c), c.Summary)
	if len(c.Aliases) > 0 {
		fmt.Fprintf(&b, "Also: %s\n", strings.Join(c.Aliases, ", "))
	}
	if len(c.Subcommands) == 0 {
		fmt.Fprintf(&b, "Who can use it: %s\n", who(c))
	}
	for _, a := range c.Args {
		fmt.Fprintf(&b, "%s: %s\n", argUsage(a), argHelp(a))
	}
	for _, s := range c.Subcommands {
		fmt.Fprintf(&b, "%s%s — %s (%s)\n", d.prefix, usage(path+" "+s.Name, s), s.Summary, who(s))
	}
	if c.Help != "" {
		b.WriteString(c.Help + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// who says who may use c, for help.
func who(c *Command) string {
	if len(c.Subcommands) > 0 {
		return "see its subcommands"
	}
	switch {
	case c.Check != nil && c.Role > 0:
		return roleWho(c.Role) + ", as " + c.Check.Summary + " allows"
	case c.Check != nil:
		return c.Check.Summary
	}
	return roleWho(c.Role)
}

// usage returns the usage line of c at path, without the prefix:
// "admin add <member>", "admin add|remove|list", "help [command...]".
func usage(path string, c *Command) string {
	if len(c.Subcommands) > 0 {
		return path + " " + strings.Join(subNames(c), "|")
	}
	parts := []string{path}
	for _, a := range c.Args {
		parts = append(parts, argUsage(a))
	}
	return strings.Join(parts, " ")
}

func argUsage(a ArgSpec) string {
	switch a.Arity {
	case Optional:
		return "[" + a.Name + "]"
	case Variadic:
		return "<" + a.Name + ">..."
	case OptionalVariadic:
		return "[" + a.Name + "...]"
	}
	return "<" + a.Name + ">"
}

// argHelp explains an argument: its Help, else its kind's explanation.
func argHelp(a ArgSpec) string {
	h := a.Help
	if h == "" {
		h = kindHelp(a.Kind)
	}
	if a.Kind == ArgChoice {
		h += " (one of " + listWords(a.Choices, "or") + ")"
	}
	return h
}

func kindHelp(k ArgKind) string {
	switch k {
	case ArgMember:
		return "an inbox id (64 hex digits) or an address (0x and 40 hex digits), or an @mention of either"
	case ArgDuration:
		return "a duration such as 30m, 1h or 7d (units s, m, h, d, w), or off"
	case ArgText:
		return "text: the rest of the message"
	case ArgChoice:
		return "a choice"
	}
	return "a word"
}

// describeArg names a missing argument for a usage error.
func describeArg(a ArgSpec) string {
	return argUsage(a) + ": " + argHelp(a)
}
