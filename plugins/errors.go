package plugins

import (
	"errors"
	"fmt"

	"mlsbridge/commands"
)

var (
	// ErrInvalidID is wrapped by [ParseID]'s errors.
	ErrInvalidID = errors.New("plugins: invalid plugin id")
	// ErrUnknownPlugin means no plugin with that ID is registered (or the
	// manager was configured without it). [*UnknownPluginError] matches
	// it.
	ErrUnknownPlugin = errors.New("plugins: unknown plugin")
	// ErrNotStarted is returned by [Manager] methods called before
	// [Manager.Start].
	ErrNotStarted = errors.New("plugins: manager not started")
	// ErrStopped is returned by [Manager] methods after [Manager.Stop],
	// and by a [Host] whose instance has stopped.
	ErrStopped = errors.New("plugins: stopped")
	// ErrInvalidKey is returned by [KV] for a key that is empty or longer
	// than [MaxKeyLength], or a value longer than [MaxValueLength].
	ErrInvalidKey = errors.New("plugins: invalid storage key or value")
	// ErrNotEnabled is returned when a plugin command is used in a group
	// where the plugin is off. [*NotEnabledError] matches it.
	ErrNotEnabled = errors.New("plugins: plugin not enabled")
)

// Compile-time checks that errors shown in chat carry a user-safe message.
var (
	_ commands.UserMessager = (*ConfigError)(nil)
	_ commands.UserMessager = (*UnknownPluginError)(nil)
	_ commands.UserMessager = (*NotEnabledError)(nil)
	_ commands.UserMessager = (*PanicError)(nil)
)

// UnknownPluginError reports an ID no registered plugin has.
type UnknownPluginError struct {
	ID string
}

func (e *UnknownPluginError) Error() string { return fmt.Sprintf("plugins: unknown plugin %q", e.ID) }

// Is reports whether target is [ErrUnknownPlugin].
func (e *UnknownPluginError) Is(target error) bool { return target == ErrUnknownPlugin }

// UserMessage says there is no such plugin.
func (e *UnknownPluginError) UserMessage() string {
	return fmt.Sprintf("There is no plugin %q.", truncate(e.ID, 64))
}

// NotEnabledError reports a plugin command used where its plugin is off.
type NotEnabledError struct {
	Plugin ID
}

func (e *NotEnabledError) Error() string {
	return fmt.Sprintf("plugins: %s is not enabled in this group", e.Plugin)
}

// Is reports whether target is [ErrNotEnabled].
func (e *NotEnabledError) Is(target error) bool { return target == ErrNotEnabled }

// UserMessage says the plugin is off here.
func (e *NotEnabledError) UserMessage() string {
	return fmt.Sprintf("That command belongs to %s, which is off in this group.", e.Plugin)
}

// ConfigError reports a config a plugin rejected: it does not decode, or
// the plugin's Provision or Validate refused it. Nothing was saved.
type ConfigError struct {
	// Plugin is the plugin whose config it is.
	Plugin ID
	// Key is the setting being changed; empty when the whole config was.
	Key string
	// Reason says what is wrong, for a person. It comes from the plugin
	// and from the decoder, and may quote the admin's input (never
	// message text).
	Reason string
	// Err is the underlying error.
	Err error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("plugins: %s: invalid config: %s", e.Plugin, e.Reason)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// UserMessage says why the config was refused.
func (e *ConfigError) UserMessage() string {
	if e.Key != "" {
		return fmt.Sprintf("I can't set %s of %s: %s.", truncate(e.Key, 64), e.Plugin, e.Reason)
	}
	return fmt.Sprintf("The settings of %s are not valid: %s.", e.Plugin, e.Reason)
}

// PanicError is a panic recovered at the boundary of a plugin call: a bug
// in the plugin. Its UserMessage shows nothing of it.
type PanicError struct {
	// Plugin is the plugin that panicked.
	Plugin ID
	// Call names the call: "new", "provision", "validate", "start",
	// "stop", "event", "scheduled" or "command".
	Call string
	// Value is what was passed to panic.
	Value any
	// Stack is the panicking goroutine's stack, for the log.
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("plugins: %s: panic in %s: %v", e.Plugin, e.Call, e.Value)
}

// Unwrap returns Value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// UserMessage is a fixed apology.
func (e *PanicError) UserMessage() string {
	return "Sorry, a plugin failed. The bot's operator can find the details in its log."
}

// truncate shortens s to at most n bytes on a rune boundary, marking a cut
// with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
