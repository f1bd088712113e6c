package bot

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"time"

	"mlsbridge/client"
	"mlsbridge/policy"
)

// Handler handles the events of the conversations the bot serves. The bot
// calls it on the conversation's goroutine: calls for one conversation
// never overlap, calls for different conversations may. ctx ends when the
// handling takes longer than Config.HandlerTimeout or the bot stops hard.
// An error is logged; the event is not retried.
type Handler interface {
	HandleEvent(ctx context.Context, ev *Event) error
}

// HandlerFunc adapts a func to [Handler].
type HandlerFunc func(ctx context.Context, ev *Event) error

// HandleEvent calls f.
func (f HandlerFunc) HandleEvent(ctx context.Context, ev *Event) error { return f(ctx, ev) }

// Middleware wraps a Handler: it may inspect or change the ctx, skip the
// next handler, or act before and after it.
type Middleware func(next Handler) Handler

// Chain returns h wrapped in mws; the first middleware is the outermost
// (it sees the event first).
func Chain(h Handler, mws ...Middleware) Handler {
	for _, mw := range slices.Backward(mws) {
		h = mw(h)
	}
	return h
}

// Filter selects events. Combine filters with [All], [Any] and [Not], and
// apply one with [When].
type Filter func(ev *Event) bool

// When returns the Middleware that passes the events f selects to the next
// handler and drops the others (returning nil).
func When(f Filter) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, ev *Event) error {
			if !f(ev) {
				return nil
			}
			return next.HandleEvent(ctx, ev)
		})
	}
}

// All selects the events every filter selects (all of none: every event).
func All(fs ...Filter) Filter {
	return func(ev *Event) bool {
		for _, f := range fs {
			if !f(ev) {
				return false
			}
		}
		return true
	}
}

// Any selects the events one of the filters selects (any of none: no
// event).
func Any(fs ...Filter) Filter {
	return func(ev *Event) bool {
		for _, f := range fs {
			if f(ev) {
				return true
			}
		}
		return false
	}
}

// Not selects the events f does not.
func Not(f Filter) Filter { return func(ev *Event) bool { return !f(ev) } }

// OfType selects events of the given types.
func OfType(ts ...EventType) Filter {
	return func(ev *Event) bool { return slices.Contains(ts, ev.Type) }
}

// FromSelf selects the events the bot's own inbox caused; Not(FromSelf)
// drops them.
func FromSelf(ev *Event) bool { return ev.FromSelf }

// WithContentType selects messages of the given content types (any minor
// version).
func WithContentType(ts ...client.ContentTypeID) Filter {
	return func(ev *Event) bool {
		if ev.Message == nil {
			return false
		}
		return slices.ContainsFunc(ts, func(t client.ContentTypeID) bool { return sameType(t, ev.ContentType) })
	}
}

// InDM selects events of DMs.
func InDM(ev *Event) bool { return ev.Conversation.IsDM() }

// InGroup selects events of groups (not DMs).
func InGroup(ev *Event) bool { return !ev.Conversation.IsDM() }

// SenderRoleAtLeast selects events whose sender has at least role r in the
// group.
func SenderRoleAtLeast(r policy.Role) Filter {
	return func(ev *Event) bool { return ev.Sender != "" && ev.SenderRole >= r }
}

// PanicError is a panic recovered at a handler boundary, returned as the
// handler's error.
type PanicError struct {
	// Where names the boundary: "handler", "commands", "plugins", "event".
	Where string
	// Value is what was passed to panic.
	Value any
	// Stack is the panicking goroutine's stack, for the log.
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("bot: %s panicked: %v", e.Where, e.Value) }

// Unwrap returns Value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// protect runs fn, turning a panic into a *PanicError.
func protect(where string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Where: where, Value: r, Stack: debug.Stack()}
		}
	}()
	return fn()
}

// Recover returns the Middleware that turns a panic in the next handler
// into a *[PanicError]. The bot already wraps every handler in it.
func Recover() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, ev *Event) error {
			return protect("handler", func() error { return next.HandleEvent(ctx, ev) })
		})
	}
}

// Logging returns the Middleware that logs each event the next handler
// gets at Debug (type, group, sender, duration) and its failure at Warn.
// It never logs message text.
func Logging(log *slog.Logger) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, ev *Event) error {
			start := time.Now()
			err := next.HandleEvent(ctx, ev)
			attrs := []any{"event", ev.Type.String(), "group_id", ev.Conversation.ID().String(),
				"sender", string(ev.Sender), "duration", time.Since(start)}
			if err != nil {
				log.Warn("event handler failed", append(attrs, "error", err)...)
			} else {
				log.Debug("event handled", attrs...)
			}
			return err
		})
	}
}
