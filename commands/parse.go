package commands

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Invocation is one parsed command: what [Dispatcher.Parse] returns and
// what a handler receives. Message and Actions are set only by
// [Dispatcher.Dispatch].
type Invocation struct {
	// Command is the resolved command (a leaf, or a command with
	// subcommands when none was given).
	Command *Command
	// Path is the canonical path of Command, such as "admin add".
	Path string
	// Args are the parsed arguments.
	Args Args
	// Message is the message the command came in.
	Message Message
	// Actions acts in the message's group.
	Actions Actions

	d *Dispatcher
}

// Reply sends text to the group through inv.Actions.
func (inv *Invocation) Reply(ctx context.Context, text string) error {
	return inv.Actions.Reply(ctx, text)
}

// Prefix returns the prefix the dispatcher shows, such as "!".
func (inv *Invocation) Prefix() string { return inv.d.prefix }

// Usage returns the command's usage line with the prefix, such as
// "!admin add <member>".
func (inv *Invocation) Usage() string { return inv.d.prefix + usage(inv.Path, inv.Command) }

// UsageErrorf returns a *[UsageError] for this command with the formatted
// reason, for handlers and checks that find the arguments make no sense.
func (inv *Invocation) UsageErrorf(format string, args ...any) error {
	return &UsageError{Command: inv.Path, Reason: fmt.Sprintf(format, args...), Usage: inv.Usage()}
}

// String returns the invocation as a canonical line without the prefix:
// canonical names, canonical argument forms, quoting where needed. Parsing
// it gives an equal invocation.
func (inv *Invocation) String() string {
	parts := []string{inv.Path}
	for _, vs := range inv.Args.values {
		for _, v := range vs {
			parts = append(parts, v.arg())
		}
	}
	return strings.Join(parts, " ")
}

// Parse reads a command line, without its prefix ("admin add 0x…"): it
// splits it into words ([Tokenize]'s rules), resolves the command and its
// subcommands by name or alias (ignoring case), and parses the arguments by
// their declared kinds. It checks no permission and calls nothing.
//
// Errors: a *[ParseError] for a line that cannot be split into words, an
// *[UnknownCommandError] (with a suggestion when a name is close) and a
// *[UsageError] for missing, extra or malformed arguments or a missing
// subcommand. With a UsageError, the returned Invocation is non-nil: its
// command is resolved but its arguments are not. Parse is safe for
// concurrent use.
func (d *Dispatcher) Parse(line string) (*Invocation, error) {
	if err := checkLine(line); err != nil {
		return nil, err
	}
	l := &lexer{src: line}
	t, ok, err := l.next()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &UnknownCommandError{Prefix: d.prefix}
	}
	cmd := lookup(d.commands, t.Text)
	if cmd == nil {
		return nil, &UnknownCommandError{Prefix: d.prefix, Name: t.Text, Suggestion: suggest(d.commands, t.Text)}
	}
	path := cmd.Name
	for len(cmd.Subcommands) > 0 {
		inv := &Invocation{Command: cmd, Path: path, d: d}
		t, ok, err := l.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return inv, inv.UsageErrorf("%s%s needs a subcommand: %s.", d.prefix, path, listWords(subNames(cmd), "or"))
		}
		sub := lookup(cmd.Subcommands, t.Text)
		if sub == nil {
			s := suggest(cmd.Subcommands, t.Text)
			if s != "" {
				s = path + " " + s
			}
			return nil, &UnknownCommandError{Prefix: d.prefix, Parent: path, Name: t.Text, Suggestion: s}
		}
		cmd, path = sub, path+" "+sub.Name
	}
	inv := &Invocation{Command: cmd, Path: path, d: d}
	args, err := inv.parseArgs(l)
	if err != nil {
		return inv, err
	}
	inv.Args = args
	return inv, nil
}

// lookup finds the command named or aliased word, ignoring case.
func lookup(cmds []*Command, word string) *Command {
	w := strings.ToLower(word)
	for _, c := range cmds {
		if c.Name == w {
			return c
		}
	}
	for _, c := range cmds {
		for _, a := range c.Aliases {
			if a == w {
				return c
			}
		}
	}
	return nil
}

func subNames(c *Command) []string {
	out := make([]string, len(c.Subcommands))
	for i, s := range c.Subcommands {
		out[i] = s.Name
	}
	return out
}

// parseArgs reads the arguments of inv.Command from the rest of l.
func (inv *Invocation) parseArgs(l *lexer) (Args, error) {
	specs := inv.Command.Args
	args := Args{specs: specs, values: make([][]Value, len(specs))}
	for i, s := range specs {
		if s.Kind == ArgText {
			v, ok, err := freeText(l)
			if err != nil {
				return Args{}, err
			}
			if !ok && !s.Arity.optional() {
				return Args{}, inv.UsageErrorf("%s%s needs %s.", inv.d.prefix, inv.Path, describeArg(s))
			}
			if ok {
				args.values[i] = []Value{v}
			}
			return args, nil
		}
		for {
			t, ok, err := l.next()
			if err != nil {
				return Args{}, err
			}
			if !ok {
				if len(args.values[i]) == 0 && !s.Arity.optional() {
					return Args{}, inv.UsageErrorf("%s%s needs %s.", inv.d.prefix, inv.Path, describeArg(s))
				}
				break
			}
			v, err := inv.parseValue(s, t.Text)
			if err != nil {
				return Args{}, err
			}
			args.values[i] = append(args.values[i], v)
			if !s.Arity.variadic() {
				break
			}
		}
	}
	if t, ok, err := l.next(); err != nil {
		return Args{}, err
	} else if ok {
		return Args{}, inv.extraArg(t.Text)
	}
	return args, nil
}

// freeText takes the rest of the line as an ArgText value. Backslash
// escapes apply; a quote that opens the text and never closes is an error,
// as elsewhere; quotes later in the text are plain (it's fine).
func freeText(l *lexer) (Value, bool, error) {
	l.skipSpace()
	start, rest := l.pos, l.rest()
	l.pos = len(l.src)
	if rest == "" {
		return Value{}, false, nil
	}
	if err := openingQuoteError(rest); err != nil {
		err.Offset += start
		return Value{}, false, err
	}
	if isOneQuotedWord(rest) {
		t, _, _ := (&lexer{src: rest}).next()
		return Value{Kind: ArgText, Text: t.Text}, true, nil
	}
	text, err := unescape(rest)
	if err != nil {
		err.Offset += start
		return Value{}, false, err
	}
	return Value{Kind: ArgText, Text: text}, true, nil
}

// unescape applies backslash escapes to free text, leaving quotes as they
// are.
func unescape(s string) (string, *ParseError) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == '\\' {
			if i+n >= len(s) {
				return "", &ParseError{Offset: i, Reason: backslashReason}
			}
			r, n = utf8.DecodeRuneInString(s[i+n:])
			i++
		}
		b.WriteRune(r)
		i += n
	}
	return b.String(), nil
}

// openingQuoteError returns the error of a quote that opens s and never
// closes, else nil.
func openingQuoteError(s string) *ParseError {
	r, _ := utf8.DecodeRuneInString(s)
	if _, opens := quotePairs[r]; !opens {
		return nil
	}
	_, _, err := (&lexer{src: s}).next()
	if pe, ok := err.(*ParseError); ok && pe.Offset == 0 {
		return pe
	}
	return nil
}

func (inv *Invocation) extraArg(word string) error {
	if len(inv.Command.Args) == 0 {
		return inv.UsageErrorf("%s%s takes no arguments, but got %q.", inv.d.prefix, inv.Path, snippet(word, 32))
	}
	return inv.UsageErrorf("%s%s got one argument too many: %q.", inv.d.prefix, inv.Path, snippet(word, 32))
}

// parseValue reads one word as a value of s's kind.
func (inv *Invocation) parseValue(s ArgSpec, word string) (Value, error) {
	v := Value{Kind: s.Kind, Text: word}
	var err error
	switch s.Kind {
	case ArgMember:
		if v.Member, err = ParseMember(word); err == nil {
			v.Text = v.Member.arg()
		}
	case ArgDuration:
		if v.Duration, v.Off, err = ParseDuration(word); err == nil {
			v.Text = "off"
			if !v.Off {
				v.Text = FormatDuration(v.Duration)
			}
		}
	case ArgChoice:
		w := strings.ToLower(word)
		for _, c := range s.Choices {
			if c == w {
				v.Text = c
				return v, nil
			}
		}
		msg := fmt.Sprintf("%q is not a %s I know: use %s.", snippet(word, 32), s.Name, listWords(s.Choices, "or"))
		if sg := closest(s.Choices, w); sg != "" {
			msg += fmt.Sprintf(" Did you mean %s?", sg)
		}
		return Value{}, inv.UsageErrorf("%s", msg)
	}
	if err != nil {
		return Value{}, inv.UsageErrorf("%s.", userText(err))
	}
	return v, nil
}

// userText returns err's user message; err is one of this package's
// argument errors.
func userText(err error) string {
	if um, ok := err.(UserMessager); ok {
		return um.UserMessage()
	}
	return "that argument is not valid"
}

// listWords joins words as "a, b or c".
func listWords(words []string, conj string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}
