package commands

import (
	"errors"
	"fmt"
	"strings"

	"mlsbridge/policy"
)

// ErrNotCommand is returned by [Dispatcher.Dispatch] for a message that is
// not a command (the pre-check declined it). Nothing was replied.
var ErrNotCommand = errors.New("commands: not a command")

// ErrNotSupported means an action is not available: the [Actions] value
// lacks the capability, or its implementation cannot do it in this group.
// [*NotSupportedError] matches it with errors.Is; Actions implementations
// may return it (wrapped) themselves.
var ErrNotSupported = errors.New("commands: not supported")

// UserMessager is implemented by errors whose UserMessage is safe to show
// in a chat: it names no internal detail (no stack, no key, no database or
// network error text). [*policy.DeniedError] implements it too.
type UserMessager interface {
	error
	UserMessage() string
}

// Compile-time checks that each error type this package shows in chat
// carries a user-safe message.
var (
	_ UserMessager = (*UserError)(nil)
	_ UserMessager = (*ParseError)(nil)
	_ UserMessager = (*UnknownCommandError)(nil)
	_ UserMessager = (*UsageError)(nil)
	_ UserMessager = (*NotSupportedError)(nil)
	_ UserMessager = (*PanicError)(nil)
	_ UserMessager = (*policy.DeniedError)(nil)
)

// UserError pairs an error with a message that is safe to show in chat.
// Handlers and [Actions] implementations return it when they know what to
// tell the person ("that member is not in the group"); the dispatcher
// replies with Message and returns the whole error for logging.
type UserError struct {
	// Message is the reply: a sentence for a person, without internal
	// details.
	Message string
	// Err is the underlying error, for logs; nil when there is none.
	Err error
}

// NewUserError returns a *UserError showing msg in chat and wrapping err
// (which may be nil).
func NewUserError(msg string, err error) error { return &UserError{Message: msg, Err: err} }

func (e *UserError) Error() string {
	if e.Err == nil {
		return "commands: " + e.Message
	}
	return "commands: " + e.Message + ": " + e.Err.Error()
}

// UserMessage returns Message.
func (e *UserError) UserMessage() string { return e.Message }

func (e *UserError) Unwrap() error { return e.Err }

// ParseError reports a command line that cannot be split into words: an
// unclosed quote, a dangling backslash, a control character, invalid UTF-8
// or a line over the limits.
type ParseError struct {
	// Offset is the byte offset in the parsed line (after the prefix)
	// where the problem starts.
	Offset int
	// Reason says what is wrong, in words a person understands.
	Reason string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("commands: parse at byte %d: %s", e.Offset, e.Reason)
}

// UserMessage returns "I couldn't read that command: " and the reason.
func (e *ParseError) UserMessage() string { return "I couldn't read that command: " + e.Reason + "." }

// UnknownCommandError reports a command or subcommand name that the tree
// does not have.
type UnknownCommandError struct {
	// Prefix is the prefix the dispatcher shows in help, such as "!".
	Prefix string
	// Parent is the canonical path of the command whose subcommand was not
	// found ("admin"); empty for a top-level name.
	Parent string
	// Name is the word as typed (empty when no command was given).
	Name string
	// Suggestion is the canonical path of the closest command, such as
	// "admin add"; empty when nothing is close.
	Suggestion string
}

func (e *UnknownCommandError) Error() string {
	if e.Parent != "" {
		return fmt.Sprintf("commands: %s has no subcommand %q", e.Parent, e.Name)
	}
	return fmt.Sprintf("commands: unknown command %q", e.Name)
}

// UserMessage names the unknown command and, when one is close, suggests
// it.
func (e *UnknownCommandError) UserMessage() string {
	var b strings.Builder
	switch {
	case e.Name == "":
		fmt.Fprintf(&b, "You gave no command after %s.", e.Prefix)
	case e.Parent != "":
		fmt.Fprintf(&b, "%s%s has no subcommand %q.", e.Prefix, e.Parent, snippet(e.Name, 32))
	default:
		fmt.Fprintf(&b, "I don't know the command %s%s.", e.Prefix, snippet(e.Name, 32))
	}
	if e.Suggestion != "" {
		fmt.Fprintf(&b, " Did you mean %s%s?", e.Prefix, e.Suggestion)
	}
	if e.Parent != "" {
		fmt.Fprintf(&b, " Type %shelp %s for its subcommands.", e.Prefix, e.Parent)
	} else {
		fmt.Fprintf(&b, " Type %shelp for the list of commands.", e.Prefix)
	}
	return b.String()
}

// UsageError reports a known command given the wrong arguments: one
// missing, one extra, one of the wrong kind, or a group command given no
// subcommand. Handlers may return one (see [Invocation.UsageErrorf]).
type UsageError struct {
	// Command is the canonical path of the command, such as "admin add".
	Command string
	// Reason says what is wrong, in words a person understands.
	Reason string
	// Usage is the command's usage line with the prefix, such as
	// "!admin add <member>".
	Usage string
}

func (e *UsageError) Error() string {
	return fmt.Sprintf("commands: %s: %s", e.Command, e.Reason)
}

// UserMessage returns the reason and the usage line.
func (e *UsageError) UserMessage() string {
	return e.Reason + "\nUsage: " + e.Usage
}

// NotSupportedError reports a built-in whose capability the [Actions]
// value does not implement. It matches [ErrNotSupported].
type NotSupportedError struct {
	// Action says what could not be done, as a verb phrase: "add members".
	Action string
}

func (e *NotSupportedError) Error() string { return "commands: not supported: " + e.Action }

// UserMessage says the bot cannot do the action here.
func (e *NotSupportedError) UserMessage() string {
	return "Sorry, this bot can't " + e.Action + " here: that isn't supported."
}

// Is reports whether target is [ErrNotSupported].
func (e *NotSupportedError) Is(target error) bool { return target == ErrNotSupported }

// PanicError is a panic recovered at the dispatch boundary: a bug in a
// handler, a check or an [Actions] implementation. Its UserMessage shows
// nothing of it.
type PanicError struct {
	// Command is the canonical path of the command that panicked; empty
	// when the panic happened before a command was found.
	Command string
	// Value is what was passed to panic.
	Value any
	// Stack is the panicking goroutine's stack, for the log.
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("commands: %s: panic: %v", e.Command, e.Value)
}

// UserMessage is a fixed apology.
func (e *PanicError) UserMessage() string { return internalMessage(e.Command) }

// Unwrap returns Value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

func internalMessage(command string) string {
	if command == "" {
		return "Sorry, something went wrong. The bot's operator can find the details in its log."
	}
	return "Sorry, something went wrong running that command. The bot's operator can find the details in its log."
}
