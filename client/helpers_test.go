package client

import (
	"context"
	"encoding/hex"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"mlsbridge/identity"
	"mlsbridge/node"
	"mlsbridge/wire/content"
)

// startNode starts the real node on 127.0.0.1:0 over a SQLite file in
// t.TempDir(); it stops at cleanup.
func startNode(t *testing.T) *node.Node {
	t.Helper()
	n, err := node.Start(context.Background(), node.Options{Listen: "127.0.0.1:0",
		Database: filepath.Join(t.TempDir(), "node.db"), Logger: testLogger(t, "node")})
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
	return n
}

// testLogger logs to t at Info (Debug with -v is too chatty for 500
// messages).
func testLogger(t *testing.T, component string) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t: t}, &slog.HandlerOptions{Level: slog.LevelInfo})).With("component", component)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newTestClient creates and registers a Go client with a fresh wallet.
func newTestClient(t *testing.T, addr, name string) (*Client, *identity.EthereumSigner, string) {
	t.Helper()
	w, err := identity.GenerateEthereumSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name+".db3")
	c := openTestClient(t, addr, w, path, name)
	if err := c.Register(ctxT(t)); err != nil {
		t.Fatalf("%s: register: %v", name, err)
	}
	return c, w, path
}

func openTestClient(t *testing.T, addr string, w Signer, path, name string) *Client {
	t.Helper()
	return openTestClientAt(t, addr, w, path, name, nil)
}

// openTestClientAt opens a client whose clock is clk (nil: time.Now).
func openTestClientAt(t *testing.T, addr string, w Signer, path, name string, clk *testClock) *Client {
	t.Helper()
	var now func() time.Time
	if clk != nil {
		now = clk.now
	}
	c, err := New(ctxT(t), w, Options{NodeAddress: addr, DBPath: path, Logger: testLogger(t, name), Now: now})
	if err != nil {
		t.Fatalf("%s: new client: %v", name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// testClock is the real clock moved forward by a settable offset, so a
// test can make intervals pass without sleeping.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// newClockedClient creates and registers a Go client with a fresh wallet
// and its own clock.
func newClockedClient(t *testing.T, addr, name string) (*Client, *testClock) {
	t.Helper()
	w, err := identity.GenerateEthereumSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := &testClock{}
	c := openTestClientAt(t, addr, w, filepath.Join(t.TempDir(), name+".db3"), name, clk)
	if err := c.Register(ctxT(t)); err != nil {
		t.Fatalf("%s: register: %v", name, err)
	}
	return c, clk
}

// testNode is the real node on 127.0.0.1 over a SQLite file, restartable
// on the same address and database.
type testNode struct {
	t    *testing.T
	db   string
	addr string
	n    *node.Node
}

func startTestNode(t *testing.T) *testNode {
	t.Helper()
	tn := &testNode{t: t, db: filepath.Join(t.TempDir(), "node.db")}
	tn.start("127.0.0.1:0")
	t.Cleanup(tn.stop)
	return tn
}

func (tn *testNode) start(listen string) {
	tn.t.Helper()
	n, err := node.Start(context.Background(), node.Options{Listen: listen, Database: tn.db, Logger: testLogger(tn.t, "node")})
	if err != nil {
		tn.t.Fatalf("start node on %s: %v", listen, err)
	}
	tn.n, tn.addr = n, n.Addr().String()
}

func (tn *testNode) stop() {
	if tn.n == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tn.n.Stop(ctx); err != nil {
		tn.t.Errorf("stop node: %v", err)
	}
	tn.n = nil
}

// restart stops the node and starts it again on the same address and
// database.
func (tn *testNode) restart() {
	tn.t.Helper()
	tn.stop()
	tn.start(tn.addr)
}

// texts returns the texts of msgs (non-text content as "<type_id>").
func texts(msgs []Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		if s, err := m.Text(); err == nil {
			out[i] = s
		} else {
			out[i] = "<" + m.ContentType.TypeID + ">"
		}
	}
	return out
}

// appTexts returns the texts of g's application messages, oldest first.
func appTexts(t *testing.T, g *Group) []string {
	t.Helper()
	msgs, err := g.FindMessages(ctxT(t), &MessageQuery{Kind: KindApplication})
	if err != nil {
		t.Fatal(err)
	}
	return texts(msgs)
}

// joinOne syncs c's welcomes and returns the one group joined.
func joinOne(t *testing.T, c *Client) *Group {
	t.Helper()
	joined, err := c.SyncWelcomes(ctxT(t))
	if err != nil || len(joined) != 1 {
		t.Fatalf("SyncWelcomes = %v, %v; want one group", joined, err)
	}
	return joined[0]
}

// nextN reads n values from s, failing after timeout.
func nextN[T any](t *testing.T, s *Stream[T], n int, timeout time.Duration) []T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []T
	for len(out) < n {
		v, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("stream: got %d of %d values: %v", len(out), n, err)
		}
		out = append(out, v)
	}
	return out
}

// lastUpdate returns the GroupUpdated record of g's newest membership
// change.
func lastUpdate(t *testing.T, g *Group) *content.GroupUpdated {
	t.Helper()
	msgs, err := g.FindMessages(ctxT(t), &MessageQuery{Kind: KindMembershipChange, Direction: Descending, Limit: 1})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("membership changes: %v (%d)", err, len(msgs))
	}
	gu, err := msgs[0].GroupUpdated()
	if err != nil {
		t.Fatal(err)
	}
	return gu
}

// nextApp reads n application messages from s (skipping membership
// changes), failing after timeout.
func nextApp(t *testing.T, s *Stream[Message], n int, timeout time.Duration) []Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []Message
	for len(out) < n {
		m, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("stream: got %d of %d messages (%v): %v", len(out), n, texts(out), err)
		}
		if m.Kind == KindApplication {
			out = append(out, m)
		}
	}
	return out
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
