package wordfilter_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"mlsbridge/plugins"
	"mlsbridge/plugins/plugintest"
	"mlsbridge/plugins/wordfilter"
	"mlsbridge/policy"
)

func harness(t *testing.T, config string) *plugintest.Harness {
	t.Helper()
	info, ok := plugins.Lookup(wordfilter.ID)
	if !ok {
		t.Fatal("wordfilter is not registered")
	}
	h := plugintest.New(t, info)
	h.Enable(wordfilter.ID, config)
	return h
}

var alice = plugintest.Inbox(1)

func TestDeletesAndWarns(t *testing.T) {
	h := harness(t, `{"words":"spam, buy now","patterns":["(?i)free\\s+crypto"]}`)
	bad := []string{"this is SPAM!", "Buy... now!!", "get FREE   crypto today", "ok\nspam"}
	for _, text := range bad {
		h.Actions.Reset()
		m := h.Say(alice, text)
		deletes := h.Actions.Of(plugintest.ActionDelete)
		if len(deletes) != 1 || deletes[0].Message != m.ID {
			t.Errorf("%q: deletes = %+v, want the message deleted", text, deletes)
		}
		replies := h.Actions.Of(plugintest.ActionReply)
		if len(replies) != 1 || !strings.Contains(replies[0].Text, alice.Mention()) || strings.Contains(replies[0].Text, text) {
			t.Errorf("%q: replies = %+v, want one warning mentioning the sender, not quoting them", text, replies)
		}
	}
}

func TestLeavesCompliantMessagesAlone(t *testing.T) {
	h := harness(t, `{"words":["spam","buy now"],"patterns":["free\\s+crypto"]}`)
	good := []string{"spammer is a word", "I'll buy it now", "Free crypto (capitalized, case-sensitive pattern)", "hello"}
	for _, text := range good {
		h.Say(alice, text)
	}
	if calls := h.Actions.Calls(); len(calls) != 0 {
		t.Errorf("compliant messages drew %+v", calls)
	}
}

func TestExemptions(t *testing.T) {
	h := harness(t, `{"words":"spam"}`)
	h.SayAs(alice, policy.RoleAdmin, "spam")
	h.SayAs(alice, policy.RoleSuperAdmin, "spam")
	dm := plugins.Message{ID: "m", Sender: alice, Text: "spam", DM: true}
	h.Handle(dm)
	h.Handle(plugins.Message{ID: "m2", Sender: alice, ContentType: "xmtp.org/reaction:1.0"})
	if calls := h.Actions.Calls(); len(calls) != 0 {
		t.Errorf("exempt messages drew %+v", calls)
	}
	h2 := harness(t, `{"words":"spam","moderate_admins":true,"keep_message":true,"silent":true}`)
	h2.SayAs(alice, policy.RoleAdmin, "spam")
	if calls := h2.Actions.Calls(); len(calls) != 0 {
		t.Errorf("keep_message and silent still acted: %+v", calls)
	}
	if len(h2.Logs.Containing(slog.LevelInfo, "message violates a rule")) != 1 {
		t.Errorf("moderate_admins did not check an admin's message")
	}
}

func TestCustomWarning(t *testing.T) {
	h := harness(t, `{"words":"spam","warning":"{sender}: no {rule}s here {{please}}"}`)
	h.Say(alice, "spam")
	replies := h.Actions.Of(plugintest.ActionReply)
	if want := alice.Mention() + ": no blocked words here {please}"; len(replies) != 1 || replies[0].Text != want {
		t.Errorf("replies = %+v, want %q", replies, want)
	}
}

func TestBadConfigs(t *testing.T) {
	info, _ := plugins.Lookup(wordfilter.ID)
	h := plugintest.New(t, info)
	cases := []struct{ config, reason string }{
		{`{"patterns":["(unclosed"]}`, "pattern 1 is not a valid regular expression"},
		{`{"patterns":["a{2000}"]}`, "pattern 1 is not a valid"},
		{`{"words":["ok","!!!"]}`, "word 2 has no letter or digit"},
		{`{"words":[` + strings.Repeat(`"w",`, wordfilter.MaxWords) + `"w"]}`, "the limit is"},
		{`{"patterns":["` + strings.Repeat("a", wordfilter.MaxPatternLength+1) + `"]}`, "the limit is"},
		{`{"warning":"{who}"}`, "not a placeholder"},
		{`{"word":"typo"}`, `no setting "word"`},
	}
	for _, c := range cases {
		err := h.Manager.SetConfig(t.Context(), h.Group, wordfilter.ID, json.RawMessage(c.config))
		ce, ok := errors.AsType[*plugins.ConfigError](err)
		if !ok || !strings.Contains(ce.UserMessage(), c.reason) {
			t.Errorf("config %.60s: %v, want a ConfigError with %q", c.config, err, c.reason)
		}
	}
	err := h.Manager.SetConfigKey(t.Context(), h.Group, wordfilter.ID, "words", "spam, scam")
	if err != nil {
		t.Fatalf("setting words as typed in chat: %v", err)
	}
}

func TestTextNeverLogged(t *testing.T) {
	h := harness(t, `{"words":"spam"}`)
	const text = "spam and my password hunter2"
	h.Say(alice, text)
	if len(h.Actions.Of(plugintest.ActionDelete)) != 1 {
		t.Fatal("the message was not filtered")
	}
	if rs := h.Logs.Containing(slog.LevelDebug, "hunter2"); len(rs) != 0 {
		t.Errorf("message text logged: %v", rs)
	}
}

func TestViolationReachesOtherPlugins(t *testing.T) {
	info, _ := plugins.Lookup(wordfilter.ID)
	got := make(chan plugins.Violation, 1)
	listener := plugins.Info{ID: "test.listener", New: func() plugins.Plugin {
		return &plugins.Func{Handle: func(_ context.Context, _ *plugins.Host, ev plugins.Event) error {
			if v, ok := ev.(plugins.Violation); ok {
				got <- v
			}
			return nil
		}}
	}}
	h := plugintest.New(t, info, listener)
	h.Enable(wordfilter.ID, `{"words":"spam"}`)
	h.Enable("test.listener", "")
	m := h.Say(alice, "spam")
	v := <-got
	if v.Plugin != wordfilter.ID || v.Member != alice || v.Message != m.ID || v.Rule != wordfilter.Rule {
		t.Errorf("violation = %+v", v)
	}
}

// FuzzConfig feeds admin-typed config through decoding and provisioning,
// then filters text with whatever was accepted: nothing may panic, and a
// word that was accepted must block itself.
func FuzzConfig(f *testing.F) {
	f.Add(`{"words":"spam, buy now","patterns":["(?i)free\\s+crypto"]}`, "FREE crypto")
	f.Add(`{"words":["é","日本"],"patterns":["^\\p{Greek}+$"]}`, "ΑΒΓ")
	f.Add(`{"patterns":["a**"]}`, "aaa")
	f.Add(`{"words":"a,,b"}`, "a")
	f.Fuzz(func(t *testing.T, config, text string) {
		var fl wordfilter.Filter
		if err := json.Unmarshal([]byte(config), &fl); err != nil {
			return
		}
		if err := fl.Provision(); err != nil {
			return
		}
		fl.Blocked(text)
		for _, w := range fl.Words {
			if !fl.Blocked(w) {
				t.Fatalf("word %q does not block itself", w)
			}
		}
	})
}

// FuzzChatConfig sets one key as an admin types it in chat
// ("!plugins config moderation.wordfilter patterns <value>"): the manager
// must accept it or refuse it with a *ConfigError, never panic, and a
// refusal must leave the stored config as it was.
func FuzzChatConfig(f *testing.F) {
	f.Add(uint8(0), "spam, scam")
	f.Add(uint8(1), `["(?i)x+", "y"]`)
	f.Add(uint8(1), "(unclosed")
	f.Add(uint8(2), "{sender} stop {rule}")
	f.Add(uint8(3), "true")
	info, _ := plugins.Lookup(wordfilter.ID)
	keys := []string{"words", "patterns", "warning", "silent"}
	f.Fuzz(func(t *testing.T, k uint8, value string) {
		h := plugintest.New(t, info)
		key := keys[int(k)%len(keys)]
		err := h.Manager.SetConfigKey(t.Context(), h.Group, wordfilter.ID, key, value)
		if err == nil {
			return
		}
		if _, ok := errors.AsType[*plugins.ConfigError](err); !ok {
			t.Fatalf("SetConfigKey(%s, %q) = %v, want nil or a *ConfigError", key, value, err)
		}
		if s, ok := h.Store.Setting(h.Group, wordfilter.ID); ok {
			t.Fatalf("a refused value was stored: %+v", s)
		}
	})
}
