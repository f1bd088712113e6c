package plugintest

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
)

// Record is one log record as a [LogHandler] kept it.
type Record struct {
	Level   slog.Level
	Message string
	// Attrs are every attribute, the logger's own included, as
	// "group.key=value" strings in order.
	Attrs []string
}

// String returns the record as one line: level, message and attributes.
func (r Record) String() string {
	return r.Level.String() + " " + r.Message + " " + strings.Join(r.Attrs, " ")
}

// LogHandler is a slog.Handler keeping every record at every level, so a
// test can check what was logged and, above all, what was not. Safe for
// concurrent use.
type LogHandler struct {
	state  *logState
	attrs  []string
	prefix string // open groups, "a.b."
}

type logState struct {
	mu      sync.Mutex
	records []Record
}

// NewLogHandler returns an empty LogHandler.
func NewLogHandler() *LogHandler { return &LogHandler{state: &logState{}} }

// Enabled reports true for every level.
func (h *LogHandler) Enabled(context.Context, slog.Level) bool { return true }

// Handle keeps r.
func (h *LogHandler) Handle(_ context.Context, r slog.Record) error {
	rec := Record{Level: r.Level, Message: r.Message, Attrs: slices.Clone(h.attrs)}
	r.Attrs(func(a slog.Attr) bool {
		rec.Attrs = appendAttr(rec.Attrs, h.prefix, a)
		return true
	})
	h.state.mu.Lock()
	h.state.records = append(h.state.records, rec)
	h.state.mu.Unlock()
	return nil
}

// WithAttrs returns a handler adding attrs to every record.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = slices.Clone(h.attrs)
	for _, a := range attrs {
		c.attrs = appendAttr(c.attrs, h.prefix, a)
	}
	return &c
}

// WithGroup returns a handler qualifying later attributes with name.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.prefix = h.prefix + name + "."
	return &c
}

func appendAttr(out []string, prefix string, a slog.Attr) []string {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		for _, sub := range v.Group() {
			out = appendAttr(out, prefix+a.Key+".", sub)
		}
		return out
	}
	return append(out, fmt.Sprintf("%s%s=%v", prefix, a.Key, v.Any()))
}

// Records returns the records so far, oldest first.
func (h *LogHandler) Records() []Record {
	h.state.mu.Lock()
	defer h.state.mu.Unlock()
	return slices.Clone(h.state.records)
}

// AtLeast returns the records at level or above.
func (h *LogHandler) AtLeast(level slog.Level) []Record {
	var out []Record
	for _, r := range h.Records() {
		if r.Level >= level {
			out = append(out, r)
		}
	}
	return out
}

// Containing returns the records at level or above whose message or
// attributes contain s.
func (h *LogHandler) Containing(level slog.Level, s string) []Record {
	var out []Record
	for _, r := range h.AtLeast(level) {
		if strings.Contains(r.String(), s) {
			out = append(out, r)
		}
	}
	return out
}
