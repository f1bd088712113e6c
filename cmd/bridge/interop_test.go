package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The interop test drives the official libxmtp client (npm
// @xmtp/node-bindings 1.9.1, through ../shared/interop's libxmtp-peer.mjs)
// and a Go `bridge client` with the same commands against one node. The
// install helper mirrors node/ and client/'s interop_test.go (same cache
// layout, so all share one npm install); test files of another package
// cannot be imported. It needs node (≥ 20.19) and npm on PATH.

var interopInstall struct {
	once sync.Once
	dir  string
	err  error
}

// interopDir copies the interop scripts to a temp dir whose node_modules
// links to the cached `npm ci` install.
func interopDir(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("libxmtp interop test skipped in -short mode")
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the libxmtp interop test needs %s (Node.js ≥ 20.19 with npm) on PATH: %v", tool, err)
		}
	}
	src := os.Getenv("MLSBRIDGE_INTEROP_DIR")
	if src == "" {
		src = filepath.Join("..", "..", "..", "shared", "interop")
	}
	src, err := filepath.Abs(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(src, "libxmtp-peer.mjs")); err != nil {
		t.Fatalf("interop folder %s has no libxmtp-peer.mjs (set MLSBRIDGE_INTEROP_DIR): %v", src, err)
	}
	interopInstall.once.Do(func() { interopInstall.dir, interopInstall.err = installInterop(src) })
	if interopInstall.err != nil {
		t.Fatalf("install the interop packages: %v", interopInstall.err)
	}
	dir := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || e.Name() == "node_modules" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(interopInstall.dir, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// installInterop returns the cached install keyed by the lock file's hash
// (under $MLSBRIDGE_INTEROP_CACHE, default ~/.cache/mlsbridge), running
// `npm ci` into it first when missing.
func installInterop(src string) (string, error) {
	lock, err := os.ReadFile(filepath.Join(src, "package-lock.json"))
	if err != nil {
		return "", err
	}
	pkg, err := os.ReadFile(filepath.Join(src, "package.json"))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append(append([]byte{}, lock...), pkg...))
	cache := os.Getenv("MLSBRIDGE_INTEROP_CACHE")
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no cache folder (set MLSBRIDGE_INTEROP_CACHE): %w", err)
		}
		cache = filepath.Join(base, "mlsbridge")
	}
	final := filepath.Join(cache, "interop-"+hex.EncodeToString(sum[:8]))
	const marker = ".mlsbridge-complete"
	if _, err := os.Stat(filepath.Join(final, marker)); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(cache, "interop-installing-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	for name, b := range map[string][]byte{"package.json": pkg, "package-lock.json": lock} {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return "", err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm ci in %s: %w\n%s", tmp, err, out)
	}
	if err := os.WriteFile(filepath.Join(tmp, marker), nil, 0o644); err != nil {
		return "", err
	}
	_ = os.RemoveAll(final)
	if err := os.Rename(tmp, final); err != nil {
		if _, serr := os.Stat(filepath.Join(final, marker)); serr == nil {
			return final, nil
		}
		return "", err
	}
	return final, nil
}

// startLibxmtpPeer runs libxmtp-peer.mjs, driven like a bridge client.
func startLibxmtpPeer(t *testing.T, dir string) *bridgeClient {
	t.Helper()
	cmd := exec.Command("node", filepath.Join(dir, "libxmtp-peer.mjs"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PEER_OP_TIMEOUT_MS=90000")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	bc := &bridgeClient{in: in, out: bufio.NewReaderSize(outp, 1<<20), done: make(chan struct{}), errb: &syncBuffer{}}
	cmd.Stderr = bc.errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			bc.code = ee.ExitCode()
		}
		close(bc.done)
	}()
	t.Cleanup(func() {
		_ = in.Close()
		select {
		case <-bc.done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-bc.done
		}
		if t.Failed() {
			t.Logf("libxmtp-peer stderr:\n%s", bc.errb.String())
		}
	})
	return bc
}

// TestBridgeClientInterop: a Go `bridge client` and libxmtp, driven with
// the same protocol, share a group and exchange messages both ways.
func TestBridgeClientInterop(t *testing.T) {
	dir := interopDir(t)
	host := startTestNode(t)
	dbs := t.TempDir()
	lx := startLibxmtpPeer(t, dir)
	goc := startBridgeClient(t)

	l := lx.call(t, map[string]any{"op": "create", "client": "lx", "db": filepath.Join(dbs, "lx.db3"), "host": host, "register": true})
	g := goc.call(t, map[string]any{"op": "create", "client": "go", "db": filepath.Join(dbs, "go.db"), "host": host, "register": true})

	grp := goc.call(t, map[string]any{"op": "newGroup", "members": []any{l["inboxId"]}, "name": "mixed", "as": "g"})
	goc.call(t, map[string]any{"op": "send", "group": "$g.group", "text": "from go"})
	w := lx.call(t, map[string]any{"op": "waitMessage", "group": grp["group"], "text": "from go", "timeoutMs": 30000})
	if m := w["message"].(map[string]any); m["sender"] != g["inboxId"] || m["contentType"] != "xmtp.org/text:1.0" {
		t.Errorf("libxmtp got %v", m)
	}
	lx.call(t, map[string]any{"op": "send", "group": grp["group"], "text": "from libxmtp"})
	w = goc.call(t, map[string]any{"op": "waitMessage", "group": "$g.group", "text": "from libxmtp", "timeoutMs": 30000})
	if m := w["message"].(map[string]any); m["sender"] != l["inboxId"] {
		t.Errorf("go got %v", m)
	}

	// The same read ops give the same shapes on both sides.
	gm := goc.call(t, map[string]any{"op": "messages", "group": "$g.group"})["messages"].([]any)
	lm := lx.call(t, map[string]any{"op": "messages", "group": grp["group"]})["messages"].([]any)
	if len(gm) != 2 || len(lm) != 2 {
		t.Fatalf("messages: go %v, libxmtp %v", gm, lm)
	}
	for i := range gm {
		a, b := gm[i].(map[string]any), lm[i].(map[string]any)
		for _, k := range []string{"id", "group", "sender", "sentAtNs", "kind", "deliveryStatus", "contentType", "text"} {
			if a[k] != b[k] {
				t.Errorf("message %d %s: go %v, libxmtp %v", i, k, a[k], b[k])
			}
		}
	}
	gi := goc.call(t, map[string]any{"op": "groupInfo", "group": "$g.group"})
	li := lx.call(t, map[string]any{"op": "groupInfo", "group": grp["group"]})
	for _, k := range []string{"group", "name", "description", "creator", "type", "isActive", "epoch"} {
		if gi[k] != li[k] {
			t.Errorf("groupInfo %s: go %v, libxmtp %v", k, gi[k], li[k])
		}
	}
	if code := goc.close(t); code != 0 {
		t.Errorf("bridge client exit code = %d", code)
	}
}
