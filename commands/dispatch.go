package commands

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"unicode"
	"unicode/utf8"

	"mlsbridge/policy"
)

// Rules the dispatcher itself applies, as [policy.Rule] IDs in the
// *[policy.DeniedError] it returns. Group-policy checks use policy's own
// rules.
const (
	// RuleRequiredRole: the command needs at least its declared role.
	RuleRequiredRole policy.RuleID = "command_role"
	// RuleDeleteMessage: "delete" is for the message's author, admins and
	// super admins.
	RuleDeleteMessage policy.RuleID = "command_delete_message"
)

// SectionCommands is the [policy.Rule] Section of the dispatcher's own
// rules: they are the bot's, not the group protocol's.
const SectionCommands = "mlsbridge commands"

// PreCheck decides whether a message is a command. It returns the command
// line to parse (the text with any prefix removed) and true, or false to
// ignore the message. It must be pure and quick. Compose them with [AnyOf]
// and [AllOf].
type PreCheck func(msg Message, text string) (line string, ok bool)

// Prefix returns the PreCheck that accepts text starting with prefix
// (after leading white space) and then a letter, and returns what follows
// the prefix. Requiring a letter keeps "!!!" or "! ok" from being read as
// commands. An empty prefix accepts any text starting with a letter.
func Prefix(prefix string) PreCheck {
	return func(_ Message, text string) (string, bool) {
		rest, ok := strings.CutPrefix(strings.TrimLeftFunc(text, unicode.IsSpace), prefix)
		if !ok {
			return "", false
		}
		r, _ := utf8.DecodeRuneInString(rest)
		return rest, unicode.IsLetter(r)
	}
}

// AnyOf returns the PreCheck that accepts what the first accepting check of
// checks accepts. With no checks it accepts nothing.
func AnyOf(checks ...PreCheck) PreCheck {
	return func(msg Message, text string) (string, bool) {
		for _, c := range checks {
			if line, ok := c(msg, text); ok {
				return line, true
			}
		}
		return "", false
	}
}

// AllOf returns the PreCheck that accepts only when every check does, each
// applied to the line the previous one returned. With no checks it accepts
// the text unchanged.
func AllOf(checks ...PreCheck) PreCheck {
	return func(msg Message, text string) (string, bool) {
		for _, c := range checks {
			var ok bool
			if text, ok = c(msg, text); !ok {
				return "", false
			}
		}
		return text, true
	}
}

// Config configures a [Dispatcher]. The zero value gives the built-in
// commands behind the "!" prefix.
type Config struct {
	// Prefix is the command prefix help and usage lines show. Empty means
	// "!".
	Prefix string
	// Accept decides which messages are commands. Nil means
	// Prefix(cfg.Prefix).
	Accept PreCheck
	// Commands is the command tree's top level. Nil means [Builtins]();
	// to extend the built-ins, append to Builtins(). The commands must not
	// be modified after New.
	Commands []*Command
}

// Dispatcher parses chat messages into commands of its tree, checks each
// command's requirements and runs its handler. It is immutable after [New]
// and safe for concurrent use.
type Dispatcher struct {
	prefix   string
	accept   PreCheck
	commands []*Command
}

// New returns a Dispatcher for cfg. It fails when the command tree is
// invalid: a bad or repeated name or alias among siblings, a command with
// both or neither of a handler and subcommands, or badly ordered
// arguments.
func New(cfg Config) (*Dispatcher, error) {
	d := &Dispatcher{prefix: cfg.Prefix, accept: cfg.Accept, commands: cfg.Commands}
	if d.prefix == "" {
		d.prefix = "!"
	}
	if d.accept == nil {
		d.accept = Prefix(d.prefix)
	}
	if d.commands == nil {
		d.commands = Builtins()
	}
	if err := validateLevel(d.commands, ""); err != nil {
		return nil, fmt.Errorf("commands: invalid command tree: %w", err)
	}
	return d, nil
}

// stage says how far a dispatch got, to word its failure.
type stage uint8

const (
	stageParse stage = iota
	stageCheck
	stageHandler
)

// Dispatch handles one message. When the pre-check declines it, Dispatch
// returns [ErrNotCommand] and does nothing else. Otherwise it parses the
// line, checks the command's role, parses its arguments, runs its Check,
// and calls its handler with ctx, in that order; the first failure is
// replied to the group through act (in words, never a raw internal error)
// and returned.
//
// Returned errors are for logging and metrics only: Dispatch has already
// replied. They include *[ParseError], *[UnknownCommandError],
// *[UsageError], *[policy.DeniedError] (a requirement or the group refused),
// *[NotSupportedError], *[PanicError] (a panic in a check, a handler or act,
// recovered here) and whatever the handler returned, wrapped. A failed
// reply is joined to the error. Dispatch blocks while the handler runs; it
// is safe for concurrent use with different act values.
func (d *Dispatcher) Dispatch(ctx context.Context, act Actions, msg Message) (err error) {
	if act == nil {
		return errors.New("commands: dispatch with nil Actions")
	}
	inv := &Invocation{Message: msg, Actions: act, d: d}
	defer func() {
		if r := recover(); r != nil {
			err = d.fail(ctx, inv, stageHandler, &PanicError{Command: inv.Path, Value: r, Stack: debug.Stack()})
		}
	}()
	line, ok := d.accept(msg, msg.Text)
	if !ok {
		return ErrNotCommand
	}
	inv.Message.Sender = msg.Group.Metadata.Participant(msg.Sender.Inbox)
	if st, err := d.run(ctx, inv, line); err != nil {
		return d.fail(ctx, inv, st, err)
	}
	return nil
}

// ResolveObserver is an optional capability of [Actions]: Dispatch tells
// it the canonical path (such as "admin add") of the command a line
// resolved to, before checking and running it, so that the caller learns
// which command it was (for metrics) without parsing the line again. Lines
// that name no command are not reported.
type ResolveObserver interface {
	CommandResolved(path string)
}

// run parses and runs the line, returning the stage that failed.
func (d *Dispatcher) run(ctx context.Context, inv *Invocation, line string) (stage, error) {
	parsed, perr := d.Parse(line)
	if parsed != nil {
		inv.Command, inv.Path, inv.Args = parsed.Command, parsed.Path, parsed.Args
		if o, ok := inv.Actions.(ResolveObserver); ok {
			o.CommandResolved(inv.Path)
		}
		if err := checkRole(inv); err != nil {
			return stageCheck, err
		}
	}
	if perr != nil {
		return stageParse, perr
	}
	if c := inv.Command.Check; c != nil {
		if err := c.Func(inv); err != nil {
			return stageCheck, err
		}
	}
	if err := inv.Command.Handler(ctx, inv); err != nil {
		return stageHandler, fmt.Errorf("commands: %s: %w", inv.Path, err)
	}
	return stageHandler, nil
}

// checkRole denies with [RuleRequiredRole] when the issuer's role is below
// the command's.
func checkRole(inv *Invocation) error {
	need, have := inv.Command.Role, inv.Message.Sender.Role
	if have >= need {
		return nil
	}
	text := fmt.Sprintf("this command is for %s, and you are %s", roleWho(need), withArticle(have))
	return denial(inv, RuleRequiredRole, text)
}

// denial returns a *policy.DeniedError for one of the dispatcher's rules.
func denial(inv *Invocation, id policy.RuleID, text string) error {
	c := policy.Check{Rule: policy.Rule{ID: id, Section: SectionCommands, Text: text}}
	return &policy.DeniedError{Decision: policy.Decision{Check: c, Actor: inv.Message.Sender, Checks: []policy.Check{c}}}
}

// fail replies with err's user message and returns err, joined with a
// failed reply's error.
func (d *Dispatcher) fail(ctx context.Context, inv *Invocation, st stage, err error) error {
	if rerr := safeReply(ctx, inv.Actions, d.userMessage(inv, st, err)); rerr != nil {
		return errors.Join(err, fmt.Errorf("commands: reply: %w", rerr))
	}
	return err
}

// safeReply replies, turning a panic in Reply into an error.
func safeReply(ctx context.Context, act Actions, text string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("commands: reply panicked: %v", r)
		}
	}()
	return act.Reply(ctx, text)
}

// userMessage words err for the chat.
func (d *Dispatcher) userMessage(inv *Invocation, st stage, err error) string {
	if de, ok := errors.AsType[*policy.DeniedError](err); ok {
		if st == stageHandler {
			return "I couldn't do that: the group's rules don't allow it: " + de.UserMessage() + "."
		}
		return fmt.Sprintf("Sorry, you can't use %s%s: %s.", d.prefix, inv.Path, de.UserMessage())
	}
	if um, ok := errors.AsType[UserMessager](err); ok {
		return um.UserMessage()
	}
	switch {
	case errors.Is(err, ErrNotSupported):
		return "Sorry, that isn't supported here."
	case errors.Is(err, context.DeadlineExceeded):
		return "Sorry, that took too long and was stopped."
	}
	return internalMessage(inv.Path)
}

// roleWho names who holds at least role r.
func roleWho(r policy.Role) string {
	switch r {
	case policy.RoleAdmin:
		return "admins and super admins"
	case policy.RoleSuperAdmin:
		return "super admins"
	}
	return "everyone"
}

// withArticle returns "a member", "an admin" or "a super admin".
func withArticle(r policy.Role) string {
	if r == policy.RoleAdmin {
		return "an admin"
	}
	return "a " + r.String()
}
