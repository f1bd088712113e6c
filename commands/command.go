package commands

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"mlsbridge/policy"
)

// Command declares one command or subcommand of the tree. A Command is data:
// the dispatcher resolves the words of a line to a Command, checks its
// requirements, parses its arguments and only then calls its Handler.
//
// A Command has either a Handler or Subcommands, never both. Commands given
// to [New] must not be modified afterwards.
type Command struct {
	// Name is the canonical name: lower-case ASCII letters, digits, "_"
	// and "-", starting with a letter. Lookup ignores case.
	Name string
	// Aliases are other names for the command, with the same rules.
	Aliases []string
	// Summary is the one-line description help lists.
	Summary string
	// Help is an optional longer explanation shown by "help <command>".
	Help string
	// Args are the arguments, in order. An optional argument may not come
	// before a required one, and only the last may be variadic or
	// [ArgText].
	Args []ArgSpec
	// Role is the least role the issuer must have in the group; the zero
	// value, [policy.RoleMember], lets everyone.
	Role policy.Role
	// Check, when non-nil, runs after Role and after the arguments are
	// parsed, before Handler: typically a group-policy check ([GroupPolicy]).
	Check *Check
	// Handler does the work. Nil when the command only groups Subcommands.
	Handler HandlerFunc
	// Subcommands are the commands below this one ("add" under "admin").
	Subcommands []*Command
}

// HandlerFunc runs a command whose requirements passed. It acts through
// inv.Actions and replies with [Invocation.Reply]. An error it returns is
// replied by the dispatcher: with its UserMessage when it has one
// ([UserMessager]), else with a fixed apology; a handler that replies
// itself returns nil. ctx bounds every action.
type HandlerFunc func(ctx context.Context, inv *Invocation) error

// Check is a requirement evaluated before the handler, after the arguments
// are parsed. It is pure: it reads only the invocation (its message, group
// state and arguments), does no I/O and takes no context.
type Check struct {
	// Summary says who passes, for help: "the group's add_admin policy".
	Summary string
	// Func returns nil to allow, a *[policy.DeniedError] to deny (the
	// dispatcher replies with its rule), a *[UsageError] when the
	// arguments do not make sense, or another error (replied as internal).
	Func func(inv *Invocation) error
}

// GroupPolicy returns a Check that builds the change a command would make
// and evaluates it with [policy.Evaluate] against the group's state, with
// the issuer as actor: the issuer passes when the group's policies would let
// them make the change themselves. change may return a *UsageError; the
// Actor it sets is replaced by the issuer.
func GroupPolicy(summary string, change func(inv *Invocation) (policy.Change, error)) *Check {
	return &Check{Summary: summary, Func: func(inv *Invocation) error {
		c, err := change(inv)
		if err != nil {
			return err
		}
		c.Actor = inv.Message.Sender.Inbox
		return policy.Evaluate(inv.Message.Group, c).Err()
	}}
}

// ArgKind is the type of an argument.
type ArgKind uint8

const (
	// ArgWord is one word, as typed (quotes removed).
	ArgWord ArgKind = iota + 1
	// ArgText is the rest of the line as typed, surrounding space removed
	// and backslash escapes applied; when the rest is one quoted word, its
	// content (so "" gives empty text). Quotes inside free text need no
	// escaping (it's fine), but a quote that opens it must close. It must
	// be the last argument and cannot be variadic.
	ArgText
	// ArgMember is a member: an inbox id, an address, or a mention of
	// either (see [ParseMember]).
	ArgMember
	// ArgDuration is a duration such as 30m, 1h or 7d, or "off" (see
	// [ParseDuration]).
	ArgDuration
	// ArgChoice is one of the ArgSpec's Choices, in any case.
	ArgChoice
)

// String returns the kind's name as help shows it.
func (k ArgKind) String() string {
	switch k {
	case ArgWord:
		return "word"
	case ArgText:
		return "text"
	case ArgMember:
		return "member"
	case ArgDuration:
		return "duration"
	case ArgChoice:
		return "choice"
	}
	return fmt.Sprintf("ArgKind(%d)", uint8(k))
}

// Arity says how many values an argument takes.
type Arity uint8

const (
	// Required takes exactly one value. It is the zero value.
	Required Arity = iota
	// Optional takes zero or one.
	Optional
	// Variadic takes one or more; only the last argument may be.
	Variadic
	// OptionalVariadic takes zero or more; only the last argument may be.
	OptionalVariadic
)

func (a Arity) optional() bool { return a == Optional || a == OptionalVariadic }
func (a Arity) variadic() bool { return a == Variadic || a == OptionalVariadic }

// ArgSpec declares one argument.
type ArgSpec struct {
	// Name names the argument in usage lines and in [Args] lookups:
	// lower-case, as for command names.
	Name string
	Kind ArgKind
	// Arity is how many values it takes; the zero value is [Required].
	Arity Arity
	// Help explains the argument in "help <command>"; empty uses the
	// kind's standard explanation.
	Help string
	// Choices are the accepted values of an [ArgChoice], lower-case.
	Choices []string
}

// Value is one parsed argument value.
type Value struct {
	// Kind is the argument's kind.
	Kind ArgKind
	// Text is the word as typed (quotes removed) for an [ArgWord], the free
	// text of an [ArgText], and the canonical form of the typed kinds: the
	// member's id (with "@" for a mention), the duration as
	// [FormatDuration] writes it or "off", the lower-case choice.
	Text string
	// Member is set for an [ArgMember].
	Member Member
	// Duration is set for an [ArgDuration]; zero with Off.
	Duration time.Duration
	// Off reports an [ArgDuration] given as "off".
	Off bool
}

// arg returns v written as an argument that parses back to v.
func (v Value) arg() string {
	if v.Kind == ArgText {
		return renderText(v.Text)
	}
	return Quote(v.Text)
}

// renderText writes free text so that it parses back to itself: as typed
// when that reads back the same, else quoted.
func renderText(s string) string {
	if s != "" && s == strings.TrimSpace(s) && !strings.Contains(s, `\`) && !isOneQuotedWord(s) && openingQuoteError(s) == nil {
		return s
	}
	return Quote(s)
}

// isOneQuotedWord reports whether s lexes as exactly one word that was
// quoted or escaped, the case in which free text takes the word's content.
func isOneQuotedWord(s string) bool {
	l := lexer{src: s}
	t, ok, err := l.next()
	if err != nil || !ok || !t.Quoted {
		return false
	}
	_, more, err := l.next()
	return err == nil && !more
}

// Args are the parsed arguments of an invocation, looked up by name.
// Looking up a name the command does not declare is a programmer error and
// panics (the dispatcher recovers it as a [*PanicError]).
type Args struct {
	specs  []ArgSpec
	values [][]Value // values[i] are spec i's values; empty when absent
}

func (a Args) index(name string) int {
	for i, s := range a.specs {
		if s.Name == name {
			return i
		}
	}
	panic(fmt.Sprintf("commands: no argument %q declared", name))
}

// Has reports whether the argument was given.
func (a Args) Has(name string) bool { return len(a.values[a.index(name)]) > 0 }

// Value returns the argument's first value, and false when it was not
// given.
func (a Args) Value(name string) (Value, bool) {
	vs := a.values[a.index(name)]
	if len(vs) == 0 {
		return Value{}, false
	}
	return vs[0], true
}

// Values returns every value of a variadic argument (one at most for
// others). The caller must not modify the slice.
func (a Args) Values(name string) []Value { return a.values[a.index(name)] }

// Text returns the argument's text ([Value.Text]); empty when not given.
func (a Args) Text(name string) string {
	v, _ := a.Value(name)
	return v.Text
}

// Texts returns the text of every value of the argument.
func (a Args) Texts(name string) []string {
	vs := a.Values(name)
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Text
	}
	return out
}

// Member returns the argument's member; the zero Member when not given.
func (a Args) Member(name string) Member {
	v, _ := a.Value(name)
	return v.Member
}

// Members returns the member of every value of the argument.
func (a Args) Members(name string) []Member {
	vs := a.Values(name)
	out := make([]Member, len(vs))
	for i, v := range vs {
		out[i] = v.Member
	}
	return out
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// validate checks c and its subcommands; path names c for errors.
func (c *Command) validate(path string) error {
	switch {
	case c == nil:
		return fmt.Errorf("%s: nil command", path)
	case (c.Handler == nil) == (len(c.Subcommands) == 0):
		return fmt.Errorf("%s: a command needs exactly one of a handler and subcommands", path)
	case len(c.Subcommands) > 0 && (len(c.Args) > 0 || c.Check != nil):
		return fmt.Errorf("%s: a command with subcommands takes no arguments and no check", path)
	case c.Summary == "":
		return fmt.Errorf("%s: no summary", path)
	case c.Role > policy.RoleSuperAdmin:
		return fmt.Errorf("%s: unknown role %d", path, c.Role)
	case c.Check != nil && c.Check.Func == nil:
		return fmt.Errorf("%s: check without a func", path)
	}
	if err := validateArgs(c.Args); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return validateLevel(c.Subcommands, path+" ")
}

func validateArgs(specs []ArgSpec) error {
	seen := map[string]bool{}
	sawOptional := false
	for i, s := range specs {
		last := i == len(specs)-1
		switch {
		case !nameRE.MatchString(s.Name):
			return fmt.Errorf("argument %q: bad name", s.Name)
		case seen[s.Name]:
			return fmt.Errorf("argument %q declared twice", s.Name)
		case s.Kind < ArgWord || s.Kind > ArgChoice:
			return fmt.Errorf("argument %q: unknown kind %d", s.Name, s.Kind)
		case s.Arity > OptionalVariadic:
			return fmt.Errorf("argument %q: unknown arity %d", s.Name, s.Arity)
		case (s.Kind == ArgChoice) != (len(s.Choices) > 0):
			return fmt.Errorf("argument %q: choices go with ArgChoice and only with it", s.Name)
		case s.Kind == ArgText && s.Arity.variadic():
			return fmt.Errorf("argument %q: text cannot be variadic", s.Name)
		case (s.Kind == ArgText || s.Arity.variadic()) && !last:
			return fmt.Errorf("argument %q: only the last argument may be text or variadic", s.Name)
		case sawOptional && !s.Arity.optional():
			return fmt.Errorf("argument %q: a required argument after an optional one", s.Name)
		}
		for _, ch := range s.Choices {
			if ch != strings.ToLower(ch) || ch == "" {
				return fmt.Errorf("argument %q: choice %q must be non-empty lower case", s.Name, ch)
			}
		}
		seen[s.Name] = true
		sawOptional = sawOptional || s.Arity.optional()
	}
	return nil
}

// validateLevel checks sibling commands: names and aliases are valid and
// unique among them.
func validateLevel(cmds []*Command, prefix string) error {
	names := map[string]bool{}
	for _, c := range cmds {
		if c == nil {
			return errors.New(prefix + "nil command")
		}
		for _, n := range append([]string{c.Name}, c.Aliases...) {
			if !nameRE.MatchString(n) {
				return fmt.Errorf("%s%s: bad name or alias %q", prefix, c.Name, n)
			}
			if names[n] {
				return fmt.Errorf("%s%s: name or alias %q used twice", prefix, c.Name, n)
			}
			names[n] = true
		}
		if err := c.validate(prefix + c.Name); err != nil {
			return err
		}
	}
	return nil
}
