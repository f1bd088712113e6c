package bot

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mlsbridge/client"
	"mlsbridge/identity"
	"mlsbridge/node"
	"mlsbridge/storage"
)

// startNode starts the real node on 127.0.0.1:0 over a SQLite file in
// t.TempDir() and returns its address; it stops at cleanup.
func startNode(t *testing.T) string {
	t.Helper()
	n, err := node.Start(context.Background(), node.Options{Listen: "127.0.0.1:0",
		Database: filepath.Join(t.TempDir(), "node.db"), Logger: testLogger(t, "node", slog.LevelWarn)})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Errorf("stop node: %v", err)
		}
	})
	return n.Addr().String()
}

// testLogger logs to t at level and above.
func testLogger(t *testing.T, component string, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t: t}, &slog.HandlerOptions{Level: level})).With("component", component)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimSuffix(p, []byte("\n"))))
	return len(p), nil
}

// logRecorder keeps every log line (text format) for assertions, and
// passes them on to t.
type logRecorder struct {
	t     *testing.T
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.lines = append(r.lines, string(p))
	r.mu.Unlock()
	r.t.Log(string(bytes.TrimSuffix(p, []byte("\n"))))
	return len(p), nil
}

// has reports whether a line contains every one of parts.
func (r *logRecorder) has(parts ...string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lines {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			return true
		}
	}
	return false
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newUser creates and registers a Go client with a fresh wallet.
func newUser(t *testing.T, addr, name string) *client.Client {
	t.Helper()
	w, err := identity.GenerateEthereumSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(ctxT(t), w, client.Options{NodeAddress: addr, DBPath: filepath.Join(t.TempDir(), name+".db3"),
		Logger: testLogger(t, name, slog.LevelWarn)})
	if err != nil {
		t.Fatalf("%s: new client: %v", name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Register(ctxT(t)); err != nil {
		t.Fatalf("%s: register: %v", name, err)
	}
	return c
}

// testBot is a bot with its client, store and log.
type testBot struct {
	*Bot
	client *client.Client
	store  *storage.BotDB
	log    *logRecorder
}

// newBot builds (not starts) a bot on a fresh installation and store;
// edit adjusts the config. The bot stops at cleanup.
func newBot(t *testing.T, addr string, edit func(*Config)) *testBot {
	t.Helper()
	c := newUser(t, addr, "bot")
	db, err := storage.OpenBot(ctxT(t), filepath.Join(t.TempDir(), "bot.db3"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return newBotOn(t, c, db, edit)
}

// newBotOn builds (not starts) a bot on an existing installation and
// store, as a restarted bridge does.
func newBotOn(t *testing.T, c *client.Client, db *storage.BotDB, edit func(*Config)) *testBot {
	t.Helper()
	rec := &logRecorder{t: t}
	cfg := Config{Client: c, Store: db, Logger: slog.New(slog.NewTextHandler(rec, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	if edit != nil {
		edit(&cfg)
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatalf("new bot: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := b.Stop(ctx); err != nil {
			t.Errorf("stop bot: %v", err)
		}
	})
	return &testBot{Bot: b, client: c, store: db, log: rec}
}

// start starts the bot until the test ends.
func (tb *testBot) start(t *testing.T) {
	t.Helper()
	if err := tb.Start(context.Background()); err != nil {
		t.Fatalf("start bot: %v", err)
	}
}

// chat is a user's view of a group: a stream of its messages opened
// before anything is sent.
type chat struct {
	t    *testing.T
	user *client.Client
	g    *client.Group
	s    *client.Stream[client.Message]
	// after is the id of the last message sent: next skips everything up
	// to its echo, so that it returns what came after it.
	after client.MessageID
}

// newChat creates a group of user with the members and streams it.
func newChat(t *testing.T, user *client.Client, members ...identity.InboxID) *chat {
	t.Helper()
	g, _, err := user.CreateGroupWithMembers(ctxT(t), nil, members)
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	return openChat(t, user, g)
}

// openChat streams a group user already has.
func openChat(t *testing.T, user *client.Client, g *client.Group) *chat {
	t.Helper()
	s, err := g.Stream(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &chat{t: t, user: user, g: g, s: s}
}

// joinChat waits for user to join a group through a welcome and streams
// it.
func joinChat(t *testing.T, user *client.Client) *chat {
	t.Helper()
	joined, err := user.SyncWelcomes(ctxT(t))
	if err != nil || len(joined) != 1 {
		t.Fatalf("SyncWelcomes = %v, %v; want one group", joined, err)
	}
	return openChat(t, user, joined[0])
}

func (c *chat) send(text string) {
	c.t.Helper()
	id, err := c.g.SendText(ctxT(c.t), text)
	if err != nil {
		c.t.Fatalf("send %q: %v", text, err)
	}
	c.after = id
}

// next returns the text of the next text message from one of
// senders (any sender when none) after the last message this chat sent,
// failing after the timeout.
func (c *chat) next(timeout time.Duration, senders ...identity.InboxID) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		m, err := c.s.Next(ctx)
		if err != nil {
			c.t.Fatalf("waiting for a message from %v: %v", senders, err)
		}
		if c.after != nil {
			if bytes.Equal(m.ID, c.after) {
				c.after = nil
			}
			continue
		}
		if m.Kind != client.KindApplication {
			continue
		}
		if len(senders) > 0 && !containsInbox(senders, m.SenderInboxID) {
			continue
		}
		text, err := m.Text()
		if err != nil {
			continue // reactions, deletions: not what the tests read
		}
		return text
	}
}

func containsInbox(ids []identity.InboxID, id identity.InboxID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// waitEcho waits for the last message sent to come back in the stream.
func (c *chat) waitEcho() {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for c.after != nil {
		m, err := c.s.Next(ctx)
		if err != nil {
			c.t.Fatalf("waiting for our message: %v", err)
		}
		if bytes.Equal(m.ID, c.after) {
			c.after = nil
		}
	}
}

// expect waits for the bot's next message and checks it contains want.
func (c *chat) expect(bot identity.InboxID, want string) string {
	c.t.Helper()
	got := c.next(60*time.Second, bot)
	if !strings.Contains(got, want) {
		c.t.Fatalf("bot said %q, want it to contain %q", got, want)
	}
	return got
}
