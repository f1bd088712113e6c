package welcome_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"mlsbridge/plugins"
	"mlsbridge/plugins/plugintest"
	"mlsbridge/plugins/welcome"
)

func harness(t *testing.T, config string) *plugintest.Harness {
	t.Helper()
	info, ok := plugins.Lookup(welcome.ID)
	if !ok {
		t.Fatal("welcome is not registered")
	}
	h := plugintest.New(t, info)
	h.Enable(welcome.ID, config)
	return h
}

var alice, bob = plugintest.Inbox(1), plugintest.Inbox(2)

func TestWelcomesNewMembers(t *testing.T) {
	h := harness(t, "")
	h.Handle(plugins.MembersAdded{Members: []plugins.InboxID{alice, bob}, By: plugintest.Inbox(9)})
	replies := h.Actions.Of(plugintest.ActionReply)
	want := "Welcome, " + alice.Mention() + ", " + bob.Mention() + "!"
	if len(replies) != 1 || replies[0].Text != want || replies[0].Message != "" {
		t.Errorf("replies = %+v, want one plain message %q", replies, want)
	}
}

func TestTemplate(t *testing.T) {
	h := harness(t, `{"message":"{count} new: {mentions}. Read the {{rules}}."}`)
	h.Handle(plugins.MembersAdded{Members: []plugins.InboxID{alice}})
	if r := h.Actions.Of(plugintest.ActionReply); len(r) != 1 || r[0].Text != "1 new: "+alice.Mention()+". Read the {rules}." {
		t.Errorf("replies = %+v", r)
	}
}

func TestManyMembersAreCounted(t *testing.T) {
	h := harness(t, `{"message":"{mentions}"}`)
	var many []plugins.InboxID
	for i := range welcome.MaxMentions + 5 {
		many = append(many, plugintest.Inbox(i))
	}
	h.Handle(plugins.MembersAdded{Members: many})
	r := h.Actions.Of(plugintest.ActionReply)
	if len(r) != 1 || !strings.HasSuffix(r[0].Text, " and 5 more") || strings.Count(r[0].Text, "@") != welcome.MaxMentions {
		t.Errorf("replies = %+v", r)
	}
}

func TestIgnoresOtherEvents(t *testing.T) {
	h := harness(t, "")
	h.Say(alice, "hello")
	h.Handle(plugins.MembersRemoved{Members: []plugins.InboxID{bob}})
	h.Handle(plugins.MembersAdded{})
	if calls := h.Actions.Calls(); len(calls) != 0 {
		t.Errorf("calls = %+v, want none", calls)
	}
}

func TestBadTemplate(t *testing.T) {
	info, _ := plugins.Lookup(welcome.ID)
	h := plugintest.New(t, info)
	err := h.Manager.SetConfig(t.Context(), h.Group, welcome.ID, json.RawMessage(`{"message":"Hi {name}"}`))
	if ce, ok := errors.AsType[*plugins.ConfigError](err); !ok || !strings.Contains(ce.UserMessage(), "{name} is not a placeholder I know; use {mentions}, {count}") {
		t.Errorf("SetConfig = %v, want a ConfigError listing the placeholders", err)
	}
}
