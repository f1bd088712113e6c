package plugintest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"mlsbridge/commands"
	"mlsbridge/plugins"
	"mlsbridge/policy"
)

// Start is the time a Harness's clock starts at.
var Start = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// Harness runs plugins through a real, started [plugins.Manager] serving
// one group, with recorded actions, a manual clock, an in-memory store and
// a keeping log handler. Its methods fail the test on unexpected errors.
type Harness struct {
	T       testing.TB
	Manager *plugins.Manager
	Actions *Recorder
	Clock   *Clock
	Store   *Store
	Logs    *LogHandler
	// Group is the group the helpers act in.
	Group plugins.GroupID

	seq int
}

// New returns a started Harness offering infos (every registered plugin
// when none is given). The manager is stopped in t.Cleanup.
func New(t testing.TB, infos ...plugins.Info) *Harness {
	t.Helper()
	h := &Harness{T: t, Actions: &Recorder{}, Clock: NewClock(Start), Store: NewStore(), Logs: NewLogHandler(),
		Group: "00112233445566778899aabbccddeeff"}
	cfg := plugins.Config{Actions: h.Actions, Settings: h.Store, Data: h.Store, Logger: slog.New(h.Logs),
		Clock: h.Clock, Plugins: infos}
	return h.start(cfg)
}

// NewWith is New with a config to adjust: fill in the fields it should
// not take from the harness (Actions, Settings, Data, Logger and Clock
// default to the harness's when nil).
func NewWith(t testing.TB, cfg plugins.Config) *Harness {
	t.Helper()
	h := &Harness{T: t, Actions: &Recorder{}, Clock: NewClock(Start), Store: NewStore(), Logs: NewLogHandler(),
		Group: "00112233445566778899aabbccddeeff"}
	if cfg.Actions == nil {
		cfg.Actions = h.Actions
	}
	if cfg.Settings == nil {
		cfg.Settings = h.Store
	}
	if cfg.Data == nil {
		cfg.Data = h.Store
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(h.Logs)
	}
	if cfg.Clock == nil {
		cfg.Clock = h.Clock
	}
	return h.start(cfg)
}

func (h *Harness) start(cfg plugins.Config) *Harness {
	h.T.Helper()
	m, err := plugins.NewManager(cfg)
	if err != nil {
		h.T.Fatalf("NewManager: %v", err)
	}
	if err := m.Start(context.Background()); err != nil {
		h.T.Fatalf("Start: %v", err)
	}
	h.Manager = m
	h.T.Cleanup(func() {
		if err := m.Stop(context.Background()); err != nil {
			h.T.Errorf("Stop: %v", err)
		}
	})
	return h
}

// Enable sets plugin id's config (JSON; "" for the defaults) in the group
// and enables it.
func (h *Harness) Enable(id plugins.ID, config string) {
	h.T.Helper()
	ctx := context.Background()
	if err := h.Manager.SetConfig(ctx, h.Group, id, json.RawMessage(config)); err != nil {
		h.T.Fatalf("SetConfig(%s, %s): %v", id, config, err)
	}
	if err := h.Manager.SetEnabled(ctx, h.Group, id, true); err != nil {
		h.T.Fatalf("SetEnabled(%s): %v", id, err)
	}
}

// Handle delivers ev to the group's plugins.
func (h *Harness) Handle(ev plugins.Event) {
	h.T.Helper()
	if err := h.Manager.Handle(context.Background(), h.Group, ev); err != nil {
		h.T.Fatalf("Handle(%T): %v", ev, err)
	}
}

// Say delivers a text message from sender, a member, with a fresh message
// id and the clock's time, and returns it.
func (h *Harness) Say(sender plugins.InboxID, text string) plugins.Message {
	h.T.Helper()
	return h.SayAs(sender, policy.RoleMember, text)
}

// SayAs is Say with the sender's role.
func (h *Harness) SayAs(sender plugins.InboxID, role policy.Role, text string) plugins.Message {
	h.T.Helper()
	h.seq++
	m := plugins.Message{ID: commands.MessageID(fmt.Sprintf("%064x", h.seq)), Sender: sender, SenderRole: role,
		ContentType: plugins.ContentTypeText, Text: text, Time: h.Clock.Now()}
	h.Handle(m)
	return m
}

// Inbox returns a distinct, valid-looking inbox id for n.
func Inbox(n int) plugins.InboxID { return plugins.InboxID(fmt.Sprintf("%064x", 0xabc000+n)) }
