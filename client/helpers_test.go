package client

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"mlsbridge/identity"
	"mlsbridge/node"
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
	c, err := New(ctxT(t), w, Options{NodeAddress: addr, DBPath: path, Logger: testLogger(t, name)})
	if err != nil {
		t.Fatalf("%s: new client: %v", name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
