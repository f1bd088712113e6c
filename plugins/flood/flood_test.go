package flood_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"mlsbridge/plugins"
	"mlsbridge/plugins/flood"
	"mlsbridge/plugins/plugintest"
	"mlsbridge/policy"
)

func harness(t *testing.T, config string) *plugintest.Harness {
	t.Helper()
	info, ok := plugins.Lookup(flood.ID)
	if !ok {
		t.Fatal("flood is not registered")
	}
	h := plugintest.New(t, info)
	h.Enable(flood.ID, config)
	return h
}

var alice, bob = plugintest.Inbox(1), plugintest.Inbox(2)

func TestFloodIsDeletedAndWarnedOnce(t *testing.T) {
	h := harness(t, `{"max_messages":3,"window":"10s"}`)
	for range 3 {
		h.Say(alice, "hi")
		h.Clock.Advance(time.Second)
	}
	if calls := h.Actions.Calls(); len(calls) != 0 {
		t.Fatalf("messages within the limit drew %+v", calls)
	}
	m4 := h.Say(alice, "hi")
	m5 := h.Say(alice, "hi")
	deletes := h.Actions.Of(plugintest.ActionDelete)
	if len(deletes) != 2 || deletes[0].Message != m4.ID || deletes[1].Message != m5.ID {
		t.Errorf("deletes = %+v, want messages 4 and 5", deletes)
	}
	if replies := h.Actions.Of(plugintest.ActionReply); len(replies) != 1 || !strings.Contains(replies[0].Text, alice.Mention()) {
		t.Errorf("replies = %+v, want one warning for the window", replies)
	}
	// Bob is counted on his own.
	h.Actions.Reset()
	h.Say(bob, "hi")
	if calls := h.Actions.Calls(); len(calls) != 0 {
		t.Errorf("another sender was limited: %+v", calls)
	}
}

func TestWindowSlides(t *testing.T) {
	h := harness(t, `{"max_messages":2,"window":"1m"}`)
	h.Say(alice, "1")
	h.Clock.Advance(40 * time.Second)
	h.Say(alice, "2")
	h.Clock.Advance(21 * time.Second) // the first message left the window
	h.Say(alice, "3")
	if calls := h.Actions.Calls(); len(calls) != 0 {
		t.Fatalf("a sender within the sliding window was limited: %+v", calls)
	}
	h.Say(alice, "4")
	if len(h.Actions.Of(plugintest.ActionDelete)) != 1 {
		t.Errorf("the third message in a minute was not deleted")
	}
	// After the warning's window a new warning may come.
	h.Clock.Advance(time.Minute)
	for range 3 {
		h.Say(alice, "again")
	}
	if n := len(h.Actions.Of(plugintest.ActionReply)); n != 2 {
		t.Errorf("%d warnings, want one per window", n)
	}
}

func TestDefaultsAndExemptions(t *testing.T) {
	h := harness(t, "")
	for range flood.DefaultMaxMessages {
		h.Say(alice, "hi")
	}
	for range 20 {
		h.SayAs(bob, policy.RoleAdmin, "admin may")
	}
	h.Handle(plugins.Message{ID: "dm", Sender: alice, Text: "dm", DM: true, Time: h.Clock.Now()})
	if calls := h.Actions.Calls(); len(calls) != 0 {
		t.Fatalf("calls = %+v, want none", calls)
	}
	h.Say(alice, "one too many")
	if len(h.Actions.Of(plugintest.ActionDelete)) != 1 {
		t.Errorf("message %d within the default window was not deleted", flood.DefaultMaxMessages+1)
	}
	text, err := h.Manager.ConfigText(t.Context(), h.Group, flood.ID)
	if err != nil || !strings.Contains(text, "max_messages: 10") || !strings.Contains(text, `window: "10s"`) {
		t.Errorf("ConfigText = %q, %v; want the defaults shown", text, err)
	}
}

func TestUsesMessageTimeWhenKnown(t *testing.T) {
	h := harness(t, `{"max_messages":1,"window":"1m"}`)
	// A backlog of old messages, an hour apart, handled now: no flood.
	for i := range 3 {
		h.Handle(plugins.Message{ID: "old", Sender: alice, Text: "x", Time: plugintest.Start.Add(time.Duration(i-5) * time.Hour)})
	}
	if calls := h.Actions.Calls(); len(calls) != 0 {
		t.Errorf("old messages far apart were limited: %+v", calls)
	}
	// Without a time, the clock decides.
	h.Handle(plugins.Message{ID: "a", Sender: bob, Text: "x"})
	h.Handle(plugins.Message{ID: "b", Sender: bob, Text: "x"})
	if len(h.Actions.Of(plugintest.ActionDelete)) != 1 {
		t.Errorf("two messages at the same clock time were not limited")
	}
}

func TestBadConfigs(t *testing.T) {
	info, _ := plugins.Lookup(flood.ID)
	h := plugintest.New(t, info)
	for config, reason := range map[string]string{
		`{"max_messages":-1}`:   "max_messages must be from 1",
		`{"max_messages":5000}`: "max_messages must be from 1",
		`{"window":"2d"}`:       "window must be at most 1d",
		`{"window":5}`:          "write a duration as text",
		`{"warning":"{x}"}`:     "not a placeholder",
	} {
		err := h.Manager.SetConfig(t.Context(), h.Group, flood.ID, json.RawMessage(config))
		if ce, ok := errors.AsType[*plugins.ConfigError](err); !ok || !strings.Contains(ce.UserMessage(), reason) {
			t.Errorf("%s: %v, want a ConfigError with %q", config, err, reason)
		}
	}
}
