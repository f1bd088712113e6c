package plugins_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"mlsbridge/plugins"
)

type nopPlugin struct{}

func (*nopPlugin) HandleEvent(context.Context, *plugins.Host, plugins.Event) error { return nil }

func newNop() plugins.Plugin { return &nopPlugin{} }

// mustPanic calls f and returns the panic message, failing when f does not
// panic.
func mustPanic(t *testing.T, f func()) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatalf("no panic")
		}
		msg, _ = r.(string)
	}()
	f()
	return ""
}

// runs makes IDs unique across -count runs in one process.
var runs atomic.Int64

func TestRegisterDuplicatePanics(t *testing.T) {
	id := plugins.ID(fmt.Sprintf("test.duplicate%d", runs.Add(1)))
	plugins.Register(plugins.Info{ID: id, New: newNop})
	msg := mustPanic(t, func() { plugins.Register(plugins.Info{ID: id, New: newNop}) })
	if !strings.Contains(msg, "already registered") {
		t.Errorf("panic = %q, want it to say already registered", msg)
	}
}

func TestRegisterRefusesProgrammerErrors(t *testing.T) {
	cases := []struct {
		name string
		info plugins.Info
		want string
	}{
		{"empty id", plugins.Info{New: newNop}, "invalid plugin id"},
		{"no namespace", plugins.Info{ID: "wordfilter", New: newNop}, "no namespace"},
		{"upper case", plugins.Info{ID: "Test.Upper", New: newNop}, "invalid plugin id"},
		{"empty segment", plugins.Info{ID: "test..x", New: newNop}, "invalid plugin id"},
		{"leading dot", plugins.Info{ID: ".test", New: newNop}, "invalid plugin id"},
		{"trailing dot", plugins.Info{ID: "test.", New: newNop}, "invalid plugin id"},
		{"digit first", plugins.Info{ID: "test.1x", New: newNop}, "invalid plugin id"},
		{"dash", plugins.Info{ID: "test.a-b", New: newNop}, "invalid plugin id"},
		{"space", plugins.Info{ID: "test.a b", New: newNop}, "invalid plugin id"},
		{"too long", plugins.Info{ID: plugins.ID("test." + strings.Repeat("x", 60)), New: newNop}, "more than 64"},
		{"nil New", plugins.Info{ID: "test.nilnew"}, "nil New"},
		{"New returns nil", plugins.Info{ID: "test.newnil", New: func() plugins.Plugin { return nil }}, "returned nil"},
		{"New returns nil pointer", plugins.Info{ID: "test.newnilptr", New: func() plugins.Plugin { return (*nopPlugin)(nil) }}, "non-nil pointer"},
		{"New returns non-pointer", plugins.Info{ID: "test.newvalue", New: func() plugins.Plugin { return plugins.HandlerFunc(nil) }}, "non-nil pointer"},
		{"multi-line summary", plugins.Info{ID: "test.summary", Summary: "a\nb", New: newNop}, "one line"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := mustPanic(t, func() { plugins.Register(c.info) })
			if !strings.Contains(msg, c.want) {
				t.Errorf("panic = %q, want it to contain %q", msg, c.want)
			}
			if _, ok := plugins.Lookup(c.info.ID); ok && c.info.ID != "" {
				t.Errorf("Lookup(%q) found a plugin whose registration panicked", c.info.ID)
			}
		})
	}
}

func TestListAndLookup(t *testing.T) {
	for _, id := range []plugins.ID{"test.list_b", "test.list_a", "test.list_c"} {
		if _, done := plugins.Lookup(id); !done { // by an earlier -count run
			plugins.Register(plugins.Info{ID: id, Summary: "summary of " + string(id), New: newNop})
		}
	}
	list := plugins.List()
	var ids []plugins.ID
	for _, info := range list {
		ids = append(ids, info.ID)
	}
	if !slices.IsSortedFunc(ids, func(a, b plugins.ID) int { return strings.Compare(string(a), string(b)) }) {
		t.Errorf("List is not sorted by ID: %v", ids)
	}
	for _, id := range []plugins.ID{"test.list_a", "test.list_b", "test.list_c"} {
		if !slices.Contains(ids, id) {
			t.Errorf("List lacks %s", id)
		}
		info, ok := plugins.Lookup(id)
		if !ok || info.ID != id || info.Summary != "summary of "+string(id) {
			t.Errorf("Lookup(%s) = %+v, %v", id, info, ok)
		}
	}
	list[0].ID = "test.changed"
	if _, ok := plugins.Lookup("test.changed"); ok {
		t.Errorf("changing List's result changed the registry")
	}
	if _, ok := plugins.Lookup("test.missing"); ok {
		t.Errorf("Lookup found an unregistered plugin")
	}
}

func TestParseID(t *testing.T) {
	good := []string{"a.b", "moderation.wordfilter", "a1.b_2.c3", "x." + strings.Repeat("y", 62)}
	for _, s := range good {
		id, err := plugins.ParseID(s)
		if err != nil || string(id) != s || !id.Valid() {
			t.Errorf("ParseID(%q) = %q, %v", s, id, err)
		}
	}
	bad := []string{"", "a", "a.", ".a", "A.b", "a.B", "a.-b", "a..b", "é.b", "a.b/c", "x." + strings.Repeat("y", 63)}
	for _, s := range bad {
		if _, err := plugins.ParseID(s); !errors.Is(err, plugins.ErrInvalidID) {
			t.Errorf("ParseID(%q) error = %v, want ErrInvalidID", s, err)
		}
	}
	id := plugins.ID("moderation.spam.words")
	if id.Namespace() != "moderation" || id.Name() != "words" {
		t.Errorf("Namespace, Name = %q, %q", id.Namespace(), id.Name())
	}
}
