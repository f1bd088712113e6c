package pending_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"mlsbridge/plugins"
	"mlsbridge/plugins/pending"
	"mlsbridge/plugins/plugintest"
	"mlsbridge/policy"
)

func harness(t *testing.T, config string) *plugintest.Harness {
	t.Helper()
	info, ok := plugins.Lookup(pending.ID)
	if !ok {
		t.Fatal("pending is not registered")
	}
	h := plugintest.New(t, info)
	h.Enable(pending.ID, config)
	return h
}

var alice, bob, carol = plugintest.Inbox(1), plugintest.Inbox(2), plugintest.Inbox(3)

func removed(h *plugintest.Harness) [][]plugins.InboxID {
	var out [][]plugins.InboxID
	for _, c := range h.Actions.Of(plugintest.ActionRemove) {
		out = append(out, c.Members)
	}
	return out
}

func TestRemovesAtOnce(t *testing.T) {
	h := harness(t, `{"notice":"Goodbye {mentions} ({count})"}`)
	h.Handle(plugins.LeaveRequested{Members: []plugins.InboxID{bob, alice}})
	got := removed(h)
	if len(got) != 1 || !slices.Equal(got[0], []plugins.InboxID{alice, bob}) {
		t.Errorf("removals = %v, want alice and bob in one commit", got)
	}
	r := h.Actions.Of(plugintest.ActionReply)
	if len(r) != 1 || r[0].Text != "Goodbye "+alice.Mention()+", "+bob.Mention()+" (2)" {
		t.Errorf("replies = %+v", r)
	}
}

func TestLeavesOthersAlone(t *testing.T) {
	h := harness(t, "")
	h.Say(alice, "I want to leave")
	h.Handle(plugins.MembersAdded{Members: []plugins.InboxID{bob}})
	h.Handle(plugins.LeaveRequested{})
	if calls := h.Actions.Calls(); len(calls) != 0 {
		t.Errorf("calls = %+v, want none", calls)
	}
}

func TestDelayBatches(t *testing.T) {
	h := harness(t, `{"delay":"1m"}`)
	h.Handle(plugins.LeaveRequested{Members: []plugins.InboxID{alice}})
	h.Clock.Advance(30 * time.Second)
	h.Handle(plugins.LeaveRequested{Members: []plugins.InboxID{alice, bob, carol}})
	h.Handle(plugins.MembersRemoved{Members: []plugins.InboxID{carol}}) // an admin was quicker
	if got := removed(h); len(got) != 0 {
		t.Fatalf("removed before the delay: %v", got)
	}
	h.Clock.Advance(30 * time.Second)
	got := removed(h)
	if len(got) != 1 || !slices.Equal(got[0], []plugins.InboxID{alice, bob}) {
		t.Errorf("removals = %v, want alice and bob in one commit after the delay", got)
	}
	if r := h.Actions.Of(plugintest.ActionReply); len(r) != 0 {
		t.Errorf("replies = %+v, want none without a notice", r)
	}
}

func TestDeniedIsLoggedNotRetried(t *testing.T) {
	info, _ := plugins.Lookup(pending.ID)
	h := plugintest.New(t, info)
	h.Actions.Err = func(c plugintest.Call) error {
		if c.Action == plugintest.ActionRemove {
			return &policy.DeniedError{Decision: policy.Decision{Check: policy.Check{Rule: policy.Rule{ID: policy.RuleRemoveMember, Text: "remove_member policy is admin-only and the actor is a member"}}}}
		}
		return nil
	}
	h.Enable(pending.ID, `{"notice":"bye"}`)
	h.Handle(plugins.LeaveRequested{Members: []plugins.InboxID{alice}})
	if len(removed(h)) != 1 || len(h.Actions.Of(plugintest.ActionReply)) != 0 {
		t.Errorf("calls = %+v, want one refused removal and no notice", h.Actions.Calls())
	}
	if len(h.Logs.Containing(slog.LevelInfo, "bot may not remove")) != 1 || len(h.Logs.AtLeast(slog.LevelWarn)) != 0 {
		t.Errorf("logs = %v, want one Info record", h.Logs.Records())
	}
}

func TestOtherFailuresAreRetriedWithTheNextReport(t *testing.T) {
	info, _ := plugins.Lookup(pending.ID)
	h := plugintest.New(t, info)
	fail := true
	h.Actions.Err = func(c plugintest.Call) error {
		if c.Action == plugintest.ActionRemove && fail {
			return errors.New("node unreachable")
		}
		return nil
	}
	h.Enable(pending.ID, "")
	h.Handle(plugins.LeaveRequested{Members: []plugins.InboxID{alice}})
	if len(h.Logs.Containing(slog.LevelWarn, "node unreachable")) != 1 {
		t.Errorf("the failure was not logged at Warn")
	}
	fail = false
	h.Handle(plugins.LeaveRequested{Members: []plugins.InboxID{bob}})
	got := removed(h)
	if len(got) != 2 || !slices.Equal(got[1], []plugins.InboxID{alice, bob}) {
		t.Errorf("removals = %v, want alice retried with bob", got)
	}
}

// restart stops h's manager and returns a new one on the same store and
// recorder, its clock at h's time plus later, with the group loaded.
func restart(t *testing.T, h *plugintest.Harness, later time.Duration) *plugintest.Harness {
	t.Helper()
	if err := h.Manager.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	info, _ := plugins.Lookup(pending.ID)
	again := plugintest.NewWith(t, plugins.Config{Actions: h.Actions, Settings: h.Store, Data: h.Store,
		Plugins: []plugins.Info{info}})
	again.Clock.Advance(h.Clock.Now().Sub(again.Clock.Now()) + later)
	if err := again.Manager.LoadGroup(context.Background(), h.Group); err != nil {
		t.Fatal(err)
	}
	return again
}

func TestDelayCatchesUpAfterRestart(t *testing.T) {
	h := harness(t, `{"delay":"1h"}`)
	h.Handle(plugins.LeaveRequested{Members: []plugins.InboxID{alice}, Time: h.Clock.Now()})
	h.Clock.Advance(30 * time.Minute)
	// The bot restarts 10 minutes later and reports the list again, with
	// bob, who asked while it was away.
	again := restart(t, h, 10*time.Minute)
	again.Handle(plugins.LeaveRequested{Members: []plugins.InboxID{alice, bob}, Time: again.Clock.Now()})
	again.Clock.Advance(19 * time.Minute)
	if got := removed(h); len(got) != 0 {
		t.Fatalf("removed %v before alice's delay ran out", got)
	}
	again.Clock.Advance(time.Minute)
	got := removed(h)
	if len(got) != 1 || !slices.Equal(got[0], []plugins.InboxID{alice, bob}) {
		t.Fatalf("removals = %v, want alice and bob one hour after alice asked", got)
	}
	if keys := h.Store.DataKeys(h.Group, pending.ID); len(keys) != 0 {
		t.Errorf("stored keys after the removal = %v, want none", keys)
	}
	// A later request starts a fresh delay.
	again.Handle(plugins.LeaveRequested{Members: []plugins.InboxID{carol}, Time: again.Clock.Now()})
	again.Clock.Advance(59 * time.Minute)
	if got := removed(h); len(got) != 1 {
		t.Fatalf("removals = %v, want carol still waiting", got)
	}
	again.Clock.Advance(time.Minute)
	if got := removed(h); len(got) != 2 || !slices.Equal(got[1], []plugins.InboxID{carol}) {
		t.Errorf("removals = %v, want carol after her own delay", got)
	}
}

func TestOverdueAfterRestartRemovedAtOnce(t *testing.T) {
	h := harness(t, `{"delay":"1h"}`)
	h.Handle(plugins.LeaveRequested{Members: []plugins.InboxID{alice}, Time: h.Clock.Now()})
	h.Handle(plugins.MembersRemoved{Members: []plugins.InboxID{bob}}) // unrelated
	again := restart(t, h, 2*time.Hour)
	again.Handle(plugins.LeaveRequested{Members: []plugins.InboxID{alice}, Time: again.Clock.Now()})
	if got := removed(h); len(got) != 1 || !slices.Equal(got[0], []plugins.InboxID{alice}) {
		t.Errorf("removals = %v, want alice at once", got)
	}
	if n := again.Clock.Pending(); n != 0 {
		t.Errorf("%d funcs scheduled, want none", n)
	}
}

func TestStorageKeepsOnlyWaitingMembers(t *testing.T) {
	h := harness(t, `{"delay":"1h"}`)
	h.Handle(plugins.LeaveRequested{Members: []plugins.InboxID{alice, bob}, Time: h.Clock.Now()})
	h.Handle(plugins.MembersRemoved{Members: []plugins.InboxID{alice}}) // an admin was quicker
	b, ok, err := h.Store.PluginData(context.Background(), h.Group, pending.ID, "first_seen")
	if err != nil || !ok {
		t.Fatalf("stored first sightings: ok=%v err=%v", ok, err)
	}
	var seen map[plugins.InboxID]time.Time
	if err := json.Unmarshal(b, &seen); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || !seen[bob].Equal(plugintest.Start) {
		t.Errorf("stored first sightings = %v, want only bob at the start", seen)
	}
}
