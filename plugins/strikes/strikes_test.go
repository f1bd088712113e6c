package strikes_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"mlsbridge/commands"
	"mlsbridge/plugins"
	"mlsbridge/plugins/plugintest"
	"mlsbridge/plugins/strikes"
	"mlsbridge/plugins/wordfilter"
	"mlsbridge/policy"
)

var alice, bob = plugintest.Inbox(1), plugintest.Inbox(2)

func info(t *testing.T, id plugins.ID) plugins.Info {
	t.Helper()
	i, ok := plugins.Lookup(id)
	if !ok {
		t.Fatalf("%s is not registered", id)
	}
	return i
}

func harness(t *testing.T, config string) *plugintest.Harness {
	t.Helper()
	h := plugintest.New(t, info(t, strikes.ID))
	h.Enable(strikes.ID, config)
	return h
}

var msgSeq int

func violate(h *plugintest.Harness, who plugins.InboxID) {
	msgSeq++
	h.Handle(plugins.Violation{Plugin: "moderation.wordfilter", Member: who, Message: commands.MessageID(fmt.Sprint(msgSeq)),
		Rule: "blocked word", Time: h.Clock.Now()})
}

func removals(h *plugintest.Harness) []plugins.InboxID {
	var out []plugins.InboxID
	for _, c := range h.Actions.Of(plugintest.ActionRemove) {
		out = append(out, c.Members...)
	}
	return out
}

func replies(h *plugintest.Harness) []string {
	var out []string
	for _, c := range h.Actions.Of(plugintest.ActionReply) {
		out = append(out, c.Text)
	}
	return out
}

func TestRemovesAfterMaxStrikes(t *testing.T) {
	h := harness(t, "")
	violate(h, alice)
	violate(h, alice)
	violate(h, bob)
	if got := removals(h); len(got) != 0 {
		t.Fatalf("removed %v before the limit", got)
	}
	want := []string{
		alice.Mention() + ": strike 1 of 3 (blocked word).",
		alice.Mention() + ": strike 2 of 3 (blocked word).",
		bob.Mention() + ": strike 1 of 3 (blocked word).",
	}
	if got := replies(h); !slices.Equal(got, want) {
		t.Errorf("replies = %q, want %q", got, want)
	}
	violate(h, alice)
	if got := removals(h); !slices.Equal(got, []plugins.InboxID{alice}) {
		t.Errorf("removals = %v, want alice at her third strike", got)
	}
	if got := replies(h); got[len(got)-1] != alice.Mention()+" was removed after 3 strikes." {
		t.Errorf("last reply = %q", got[len(got)-1])
	}
	if keys := h.Store.DataKeys(h.Group, strikes.ID); slices.Contains(keys, "member/"+string(alice)) {
		t.Errorf("a removed member's strikes were kept: %v", keys)
	}
}

func TestOneStrikePerMessage(t *testing.T) {
	h := harness(t, `{"max_strikes":2,"silent":true}`)
	v := plugins.Violation{Plugin: "moderation.wordfilter", Member: alice, Message: "same", Rule: "r", Time: h.Clock.Now()}
	h.Handle(v)
	v.Plugin = "moderation.links"
	h.Handle(v)
	if got := removals(h); len(got) != 0 || len(replies(h)) != 0 {
		t.Errorf("one message drew two strikes (removals %v) or a silent notice (%v)", got, replies(h))
	}
}

func TestStrikesExpire(t *testing.T) {
	h := harness(t, `{"max_strikes":2,"expiry":"1h"}`)
	violate(h, alice)
	h.Clock.Advance(time.Hour)
	violate(h, alice)
	if got := removals(h); len(got) != 0 {
		t.Fatalf("an expired strike still counted")
	}
	h.Clock.Advance(59 * time.Minute)
	violate(h, alice)
	if got := removals(h); !slices.Equal(got, []plugins.InboxID{alice}) {
		t.Errorf("removals = %v, want alice", got)
	}
}

func TestOnlyListedPluginsCount(t *testing.T) {
	h := harness(t, `{"max_strikes":1,"plugins":"moderation.flood"}`)
	violate(h, alice) // from moderation.wordfilter
	if got := removals(h); len(got) != 0 {
		t.Fatalf("a violation from an unlisted plugin counted")
	}
	h.Handle(plugins.Violation{Plugin: "moderation.flood", Member: alice, Rule: "too many messages", Time: h.Clock.Now()})
	if got := removals(h); !slices.Equal(got, []plugins.InboxID{alice}) {
		t.Errorf("removals = %v, want alice", got)
	}
}

func TestAppealWindowSurvivesRestart(t *testing.T) {
	h := harness(t, `{"max_strikes":1,"appeal_window":"1h"}`)
	violate(h, alice)
	if r := replies(h); len(r) != 1 || !strings.Contains(r[0], "removed in 1h unless an admin pardons you") {
		t.Errorf("replies = %q", r)
	}
	h.Clock.Advance(30 * time.Minute)
	if len(removals(h)) != 0 {
		t.Fatal("removed during the appeal window")
	}
	// Restart: a new manager on the same store, 40 minutes later.
	if err := h.Manager.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	again := plugintest.NewWith(t, plugins.Config{Actions: h.Actions, Settings: h.Store, Data: h.Store,
		Plugins: []plugins.Info{info(t, strikes.ID)}})
	again.Clock.Advance(h.Clock.Now().Sub(again.Clock.Now()) + 10*time.Minute)
	if err := again.Manager.LoadGroup(context.Background(), h.Group); err != nil {
		t.Fatal(err)
	}
	again.Clock.Advance(19 * time.Minute)
	if len(removals(h)) != 0 {
		t.Fatal("removed before the deadline after a restart")
	}
	again.Clock.Advance(time.Minute)
	if got := removals(h); !slices.Equal(got, []plugins.InboxID{alice}) {
		t.Errorf("removals = %v, want alice at the original deadline", got)
	}
}

func TestPastDeadlineRemovesOnStart(t *testing.T) {
	h := harness(t, `{"max_strikes":1,"appeal_window":"1h"}`)
	violate(h, alice)
	h.Manager.Stop(context.Background())
	again := plugintest.NewWith(t, plugins.Config{Actions: h.Actions, Settings: h.Store, Data: h.Store,
		Plugins: []plugins.Info{info(t, strikes.ID)}})
	again.Clock.Advance(2 * time.Hour)
	again.Manager.LoadGroup(context.Background(), h.Group)
	again.Clock.Advance(0)
	if got := removals(h); !slices.Equal(got, []plugins.InboxID{alice}) {
		t.Errorf("removals = %v, want alice removed as soon as the bot is back", got)
	}
}

// appendInbox and setInbox fill identity.InboxID values without naming the
// type, since plugins may not import identity.
func appendInbox[E ~string](list []E, s plugins.InboxID) []E { return append(list, E(s)) }

func setInbox[E ~string](dst *E, s plugins.InboxID) { *dst = E(s) }

// chat is the commands.Actions of the harness's group.
type chat struct {
	group   plugins.GroupID
	replies []string
}

func (c *chat) Reply(_ context.Context, text string) error {
	c.replies = append(c.replies, text)
	return nil
}

func TestResetCommandCancelsRemoval(t *testing.T) {
	h := harness(t, `{"max_strikes":1,"appeal_window":"1h"}`)
	cmds, err := h.Manager.Commands(func(inv *commands.Invocation) (plugins.GroupID, bool) {
		return inv.Actions.(*chat).group, true
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := commands.New(commands.Config{Commands: cmds})
	if err != nil {
		t.Fatal(err)
	}
	violate(h, alice)
	var group policy.GroupState
	admin := plugintest.Inbox(7)
	group.Metadata.Admins = appendInbox(group.Metadata.Admins, admin)
	var sender, adminSender policy.Participant
	setInbox(&sender.Inbox, bob)
	setInbox(&adminSender.Inbox, admin)
	c := &chat{group: h.Group}
	ctx := context.Background()
	// A member may look but not reset.
	if err := d.Dispatch(ctx, c, commands.Message{Text: "!strikes show " + string(alice), Sender: sender, Group: group}); err != nil {
		t.Fatalf("show: %v", err)
	}
	if !strings.Contains(c.replies[0], "has 1 of 1 strikes. Their removal is pending.") {
		t.Errorf("show replied %q", c.replies[0])
	}
	err = d.Dispatch(ctx, c, commands.Message{Text: "!strikes pardon " + string(alice), Sender: sender, Group: group})
	if _, denied := errors.AsType[*policy.DeniedError](err); !denied {
		t.Errorf("a member's reset = %v, want denied", err)
	}
	if err := d.Dispatch(ctx, c, commands.Message{Text: "!strikes reset @" + string(alice), Sender: adminSender, Group: group}); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if last := c.replies[len(c.replies)-1]; !strings.Contains(last, "strikes are cleared") {
		t.Errorf("reset replied %q", last)
	}
	h.Clock.Advance(2 * time.Hour)
	if got := removals(h); len(got) != 0 {
		t.Errorf("removed %v after a pardon", got)
	}
	if keys := h.Store.DataKeys(h.Group, strikes.ID); slices.Contains(keys, "member/"+string(alice)) {
		t.Errorf("strikes kept after a reset: %v", keys)
	}
	err = d.Dispatch(ctx, c, commands.Message{Text: "!strikes reset 0x" + strings.Repeat("ab", 20), Sender: adminSender, Group: group})
	if um, ok := errors.AsType[commands.UserMessager](err); !ok || !strings.Contains(um.UserMessage(), "inbox id") {
		t.Errorf("reset by address = %v, want a user error asking for the inbox id", err)
	}
}

func TestDeniedRemovalIsSaid(t *testing.T) {
	h := plugintest.New(t, info(t, strikes.ID))
	h.Actions.Err = func(c plugintest.Call) error {
		if c.Action == plugintest.ActionRemove {
			return &policy.DeniedError{}
		}
		return nil
	}
	h.Enable(strikes.ID, `{"max_strikes":1}`)
	violate(h, alice)
	if r := replies(h); len(r) != 1 || !strings.Contains(r[0], "not allowed to remove members") {
		t.Errorf("replies = %q", r)
	}
	if len(h.Logs.AtLeast(slog.LevelWarn)) != 0 {
		t.Errorf("a policy refusal was logged as a failure: %v", h.Logs.AtLeast(slog.LevelWarn))
	}
}

func TestFailedRemovalIsRetriedThenDropped(t *testing.T) {
	h := plugintest.New(t, info(t, strikes.ID))
	h.Actions.Err = func(c plugintest.Call) error {
		if c.Action == plugintest.ActionRemove {
			return errors.New("node unreachable")
		}
		return nil
	}
	h.Enable(strikes.ID, `{"max_strikes":1}`)
	violate(h, alice)
	h.Clock.Advance(time.Hour)
	if n := len(removals(h)); n != 3 {
		t.Errorf("%d removal tries, want 3", n)
	}
	if h.Clock.Pending() != 0 || len(h.Logs.Containing(slog.LevelWarn, "giving up")) != 1 {
		t.Errorf("still %d scheduled, or giving up not logged", h.Clock.Pending())
	}
}

func TestMemberWhoLeftStartsOver(t *testing.T) {
	h := harness(t, `{"max_strikes":2,"silent":true}`)
	violate(h, alice)
	h.Handle(plugins.MembersRemoved{Members: []plugins.InboxID{alice}})
	violate(h, alice)
	if got := removals(h); len(got) != 0 {
		t.Errorf("strikes from before leaving counted: %v", got)
	}
}

// TestWithWordfilter runs the two plugins together, as a group would.
func TestWithWordfilter(t *testing.T) {
	h := plugintest.New(t, info(t, strikes.ID), info(t, wordfilter.ID))
	h.Enable(wordfilter.ID, `{"words":"spam","silent":true}`)
	h.Enable(strikes.ID, `{"max_strikes":2,"silent":true}`)
	h.Say(alice, "spam")
	h.Say(alice, "fine")
	h.Say(alice, "more spam")
	if got := removals(h); !slices.Equal(got, []plugins.InboxID{alice}) {
		t.Errorf("removals = %v, want alice after two filtered messages", got)
	}
	if n := len(h.Actions.Of(plugintest.ActionDelete)); n != 2 {
		t.Errorf("%d deletions, want 2", n)
	}
	if rs := h.Logs.Containing(slog.LevelDebug, "more spam"); len(rs) != 0 {
		t.Errorf("message text logged: %v", rs)
	}
}

func TestBadConfigs(t *testing.T) {
	h := plugintest.New(t, info(t, strikes.ID))
	for config, reason := range map[string]string{
		`{"max_strikes":-1}`:       "max_strikes must be from 1",
		`{"max_strikes":1000}`:     "max_strikes must be from 1",
		`{"plugins":"wordfilter"}`: "plugin 1 is not a plugin id",
		`{"expiry":"-1h"}`:         "negative",
	} {
		err := h.Manager.SetConfig(context.Background(), h.Group, strikes.ID, []byte(config))
		if ce, ok := errors.AsType[*plugins.ConfigError](err); !ok || !strings.Contains(ce.UserMessage(), reason) {
			t.Errorf("%s: %v, want a ConfigError with %q", config, err, reason)
		}
	}
}
