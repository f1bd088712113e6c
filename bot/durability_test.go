package bot

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mlsbridge/client"
	"mlsbridge/identity"
	"mlsbridge/plugins/plugintest"
	"mlsbridge/storage"
)

// openUserAt opens (creating and registering when new) an installation
// whose database is at path; signer may be nil for an existing one.
func openUserAt(t *testing.T, addr, name, path string, signer client.Signer) *client.Client {
	t.Helper()
	c, err := client.New(ctxT(t), signer, client.Options{NodeAddress: addr, DBPath: path, Logger: testLogger(t, name, slog.LevelWarn)})
	if err != nil {
		t.Fatalf("%s: open client: %v", name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if signer != nil {
		if err := c.Register(ctxT(t)); err != nil {
			t.Fatalf("%s: register: %v", name, err)
		}
	}
	return c
}

// holdHandler blocks the first "hold" message it sees until release
// returns, counting every "hold" it is given.
type holdHandler struct {
	holds   atomic.Int32
	warm    atomic.Bool
	running chan struct{}
	release func(ctx context.Context) error
}

func (h *holdHandler) HandleEvent(ctx context.Context, ev *Event) error {
	if ev.Type == EventMessage && ev.Text == "warm" {
		h.warm.Store(true)
	}
	if ev.Type != EventMessage || ev.FromSelf || ev.Text != "hold" {
		return nil
	}
	if h.holds.Add(1) == 1 {
		close(h.running)
		return h.release(ctx)
	}
	return nil
}

// countAnswers reads the bot's messages until one contains until, and
// returns how many of those before it contain want.
func countAnswers(c *chat, bot identity.InboxID, want, until string) int {
	c.t.Helper()
	n := 0
	for {
		got := c.next(60*time.Second, bot)
		if strings.Contains(got, until) {
			return n
		}
		if strings.Contains(got, want) {
			n++
		} else {
			c.t.Fatalf("bot said %q, want %q or %q", got, want, until)
		}
	}
}

// checkRestartAnswers starts a bot again on the installation and store
// and checks that it answers each of the pings exactly once, in order with
// a command sent while it was away, and repeats nothing.
func checkRestartAnswers(t *testing.T, c *client.Client, db *storage.BotDB, ac *chat, pings int, h Handler) *testBot {
	t.Helper()
	ac.send("!ping") // while the bot is away
	ac.send("!group info")
	b2 := newBotOn(t, c, db, nil)
	if err := b2.Handle(h); err != nil {
		t.Fatal(err)
	}
	b2.start(t)
	if got := countAnswers(ac, b2.InboxID(), "pong", "Members: 2"); got != pings+1 {
		t.Fatalf("%d pongs before the answer to !group info, want %d", got, pings+1)
	}
	// Anything handled twice (replayed and then taken from the live
	// stream) would be answered before this.
	ac.send("!members list")
	if got := countAnswers(ac, b2.InboxID(), "pong", "2 members:"); got != 0 {
		t.Fatalf("%d more pongs after the restart's answers: commands handled twice", got)
	}
	return b2
}

// TestKilledStopReplays: Stop runs out of time while a handler hangs and
// three commands wait in the queue (the process dying has the same effect:
// no drain). The restarted bot answers each of them once, and the
// interrupted event is handled again.
func TestKilledStopReplays(t *testing.T) {
	addr := startNode(t)
	b := newBot(t, addr, nil)
	h := &holdHandler{running: make(chan struct{}), release: func(ctx context.Context) error {
		<-ctx.Done() // until Stop gives up
		return ctx.Err()
	}}
	if err := b.Handle(h); err != nil {
		t.Fatal(err)
	}
	b.start(t)
	alice := newUser(t, addr, "alice")
	ac := newChat(t, alice, b.InboxID())
	warmUp(t, ac, func(string) bool { return h.warm.Load() })
	ac.send("hold")
	<-h.running
	for range 3 {
		ac.send("!ping")
	}
	waitFor(t, func() bool { return b.queued(ac.g.ID()) == 3 })

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Stop(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("stop: %v, want the cancellation", err)
	}
	select {
	case <-b.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("goroutines still running 30s after the cancelled stop")
	}
	if !b.log.has("conversation handling cut short") {
		t.Error("no log of the cut-short conversation")
	}
	checkRestartAnswers(t, b.client, b.store, ac, 3, h)
	if n := h.holds.Load(); n != 2 {
		t.Errorf("the interrupted message was handled %d times, want 2 (cut short, then replayed)", n)
	}
}

// TestClientClosedMidQueueReplays: the client closes while three commands
// wait in the queue, as when the process goes down under the bot. A new
// process (the installation reopened from its database, the same bot
// store) answers each once.
func TestClientClosedMidQueueReplays(t *testing.T) {
	addr := startNode(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "bot-client.db3")
	w, err := identity.GenerateEthereumSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := openUserAt(t, addr, "bot", dbPath, w)
	store, err := storage.OpenBot(ctxT(t), filepath.Join(dir, "bot.db3"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	b := newBotOn(t, c, store, nil)
	release := make(chan struct{})
	h := &holdHandler{running: make(chan struct{}), release: func(context.Context) error { <-release; return nil }}
	if err := b.Handle(h); err != nil {
		t.Fatal(err)
	}
	b.start(t)
	alice := newUser(t, addr, "alice")
	ac := newChat(t, alice, b.InboxID())
	warmUp(t, ac, func(string) bool { return h.warm.Load() })
	ac.send("hold")
	<-h.running
	for range 3 {
		ac.send("!ping")
	}
	waitFor(t, func() bool { return b.queued(ac.g.ID()) == 3 })
	if err := c.Close(); err != nil {
		t.Fatalf("close the client: %v", err)
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if !b.log.has("conversation handling cut short") {
		t.Error("no log of the cut-short conversation")
	}

	reopened := openUserAt(t, addr, "bot-again", dbPath, nil)
	if reopened.InboxID() != b.InboxID() {
		t.Fatalf("reopened inbox %s, want %s", reopened.InboxID(), b.InboxID())
	}
	checkRestartAnswers(t, reopened, store, ac, 3, h)
	if n := h.holds.Load(); n != 1 {
		t.Errorf("the message handled before the close was handled %d times, want 1", n)
	}
}

// TestFirstStartReplaysJoinedBacklog: commands sent after the bot's
// installation joined a group, but before the bot ever ran, are answered
// once when it starts; its own join is not an event.
func TestFirstStartReplaysJoinedBacklog(t *testing.T) {
	addr := startNode(t)
	b := newBot(t, addr, nil)
	var added atomic.Int32
	err := b.Handle(HandlerFunc(func(_ context.Context, ev *Event) error {
		if ev.Type == EventMembersAdded {
			added.Add(1)
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	alice := newUser(t, addr, "alice")
	ac := newChat(t, alice, b.InboxID())
	joined, err := b.client.SyncWelcomes(ctxT(t))
	if err != nil || len(joined) != 1 {
		t.Fatalf("bot joins: %v, %v", joined, err)
	}
	ac.send("!ping")
	ac.send("!ping")
	if err := joined[0].Sync(ctxT(t)); err != nil { // stored before the bot starts: only a replay finds them
		t.Fatal(err)
	}
	b.start(t)
	ac.expect(b.InboxID(), "pong")
	ac.expect(b.InboxID(), "pong")
	ac.send("!members list")
	if got := countAnswers(ac, b.InboxID(), "pong", "2 members:"); got != 0 {
		t.Fatalf("%d more pongs: commands handled twice", got)
	}
	if n := added.Load(); n != 0 {
		t.Errorf("%d members-added events: the bot's own join was handled as one", n)
	}
}

// TestStrikesAppealSurvivesRestart: a removal scheduled by the strikes
// plugin's appeal window survives a restart: one that fell due while the
// bot was away is carried out when it starts, one still in its window
// when it falls due.
func TestStrikesAppealSurvivesRestart(t *testing.T) {
	addr := startNode(t)
	clock := plugintest.NewClock(time.Now())
	withClock := func(cfg *Config) { cfg.PluginClock = clock }
	b := newBot(t, addr, withClock)
	b.start(t)
	alice := newUser(t, addr, "alice")
	bob := newUser(t, addr, "bob")
	carol := newUser(t, addr, "carol")
	ac := newChat(t, alice, b.InboxID(), bob.InboxID(), carol.InboxID())
	bc := joinChat(t, bob)
	cc := joinChat(t, carol)
	if err := ac.g.AddSuperAdmin(ctxT(t), b.InboxID()); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []struct{ send, want string }{
		{"!plugins config moderation.wordfilter words spam", "Set words of moderation.wordfilter."},
		{"!plugins enable moderation.wordfilter", "moderation.wordfilter is now on here."},
		{"!plugins config moderation.strikes max_strikes 1", "Set max_strikes of moderation.strikes."},
		{"!plugins config moderation.strikes appeal_window 1h", "Set appeal_window of moderation.strikes."},
		{"!plugins enable moderation.strikes", "moderation.strikes is now on here."},
	} {
		ac.send(cmd.send)
		ac.expect(b.InboxID(), cmd.want)
	}
	bc.send("buy spam")
	bc.expect(b.InboxID(), "your message was removed")
	bc.expect(b.InboxID(), "You will be removed in 1h unless an admin pardons you.")
	clock.Advance(50 * time.Minute)
	cc.send("more spam")
	cc.expect(b.InboxID(), "your message was removed")
	cc.expect(b.InboxID(), "You will be removed in 1h unless an admin pardons you.")
	if n := clock.Pending(); n != 2 {
		t.Fatalf("%d scheduled funcs, want the 2 removals", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n := clock.Pending(); n != 0 {
		t.Fatalf("%d scheduled funcs after Stop, want none", n)
	}
	clock.Advance(30 * time.Minute) // bob's window ends while the bot is away

	b2 := newBotOn(t, b.client, b.store, withClock)
	b2.start(t)
	waitFor(t, func() bool { return clock.Pending() == 2 }) // the strikes plugin loaded its removals
	ac.send("!ping")
	ac.expect(b.InboxID(), "pong")
	clock.Advance(0)
	ac.expect(b.InboxID(), "@"+string(bob.InboxID())+" was removed after 1 strikes.")
	checkMembers(t, ac, alice.InboxID(), carol.InboxID(), b.InboxID())
	clock.Advance(29 * time.Minute)
	if n := clock.Pending(); n != 1 {
		t.Fatalf("carol's removal ran early: %d funcs pending", n)
	}
	clock.Advance(time.Minute)
	ac.expect(b.InboxID(), "@"+string(carol.InboxID())+" was removed after 1 strikes.")
	checkMembers(t, ac, alice.InboxID(), b.InboxID())
}

// checkMembers syncs the chat's group and checks its members.
func checkMembers(t *testing.T, c *chat, want ...identity.InboxID) {
	t.Helper()
	if err := c.g.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	info, err := c.g.Info(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Membership) != len(want) {
		t.Fatalf("members %v, want %v", info.Membership, want)
	}
	for _, id := range want {
		if !isMember(info, id) {
			t.Fatalf("members %v, want %v", info.Membership, want)
		}
	}
}

// TestPendingRemovalSurvivesRestart: a leave request whose delayed removal
// (members.pending) had not run when the bot stopped is acted on after the
// restart: the bot reports the pending list again when it loads the group,
// and the delay runs from when the request was first seen, not again.
func TestPendingRemovalSurvivesRestart(t *testing.T) {
	addr := startNode(t)
	clock := plugintest.NewClock(time.Now())
	withClock := func(cfg *Config) { cfg.PluginClock, cfg.Now = clock, clock.Now }
	b := newBot(t, addr, withClock)
	b.start(t)
	alice := newUser(t, addr, "alice")
	bob := newUser(t, addr, "bob")
	ac := newChat(t, alice, b.InboxID(), bob.InboxID())
	bc := joinChat(t, bob)
	if err := ac.g.AddSuperAdmin(ctxT(t), b.InboxID()); err != nil {
		t.Fatal(err)
	}
	ac.send("!plugins config members.pending delay 1h")
	ac.expect(b.InboxID(), "Set delay of members.pending.")
	ac.send("!plugins config members.pending notice Bye {mentions}.")
	ac.expect(b.InboxID(), "Set notice of members.pending.")
	ac.send("!plugins enable members.pending")
	ac.expect(b.InboxID(), "members.pending is now on here.")
	if err := bc.g.LeaveGroup(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return clock.Pending() == 1 })
	clock.Advance(40 * time.Minute) // not due yet
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	checkMembers(t, ac, alice.InboxID(), bob.InboxID(), b.InboxID())

	b2 := newBotOn(t, b.client, b.store, withClock)
	b2.start(t)
	waitFor(t, func() bool { return clock.Pending() == 1 }) // reported again on load, scheduled for the rest
	clock.Advance(20 * time.Minute)
	ac.expect(b.InboxID(), "Bye @"+string(bob.InboxID())+".")
	checkMembers(t, ac, alice.InboxID(), b.InboxID())
}
