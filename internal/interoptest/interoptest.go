// Package interoptest is test support for driving the official libxmtp
// client (npm @xmtp/node-bindings, through ../shared/interop's
// libxmtp-peer.mjs) against this module's node and client: it installs the
// interop folder's npm packages once into a shared cache and runs
// libxmtp-peer.mjs, speaking its JSON-lines protocol.
//
// It must only be imported from _test.go files; layering_test.go refuses
// it in non-test code. It needs node (≥ 20.19) and npm on PATH;
// scripts/test installs them.
package interoptest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// source returns the shared interop folder: $MLSBRIDGE_INTEROP_DIR, or
// ../shared/interop next to the repository (the folder holding go.mod).
func source(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("MLSBRIDGE_INTEROP_DIR")
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatalf("find the repository root (set MLSBRIDGE_INTEROP_DIR): %v", err)
		}
		dir = filepath.Join(root, "..", "shared", "interop")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(abs, "libxmtp-peer.mjs")); err != nil {
		t.Fatalf("interop folder %s has no libxmtp-peer.mjs (set MLSBRIDGE_INTEROP_DIR): %v", abs, err)
	}
	return abs
}

// moduleRoot returns the nearest folder at or above the working directory
// (a test's package folder) that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

var install struct {
	once sync.Once
	dir  string
	err  error
}

// Dir returns a temp folder holding a copy of the interop scripts whose
// node_modules links to a cached `npm ci` install keyed by the hash of
// package-lock.json and package.json (under $MLSBRIDGE_INTEROP_CACHE,
// default ~/.cache/mlsbridge), so that repeated runs, and every package's
// tests, share one install. Nothing is installed inside shared/. It skips
// the test in -short mode and fails it when node or npm is missing.
func Dir(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("libxmtp interop test skipped in -short mode")
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the libxmtp interop tests need %s (Node.js ≥ 20.19 with npm) on PATH; scripts/test installs it: %v", tool, err)
		}
	}
	src := source(t)
	install.once.Do(func() { install.dir, install.err = installPackages(src) })
	if install.err != nil {
		t.Fatalf("install the interop packages: %v", install.err)
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
	if err := os.Symlink(filepath.Join(install.dir, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// installPackages returns a folder holding node_modules for src's
// package-lock.json, running `npm ci` into a fresh folder and renaming it
// into place when the cache has none.
func installPackages(src string) (string, error) {
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
	_ = os.RemoveAll(final) // an incomplete earlier attempt
	if err := os.Rename(tmp, final); err != nil {
		if _, serr := os.Stat(filepath.Join(final, marker)); serr == nil {
			return final, nil // another test process won the race
		}
		return "", err
	}
	return final, nil
}

// Peer drives one libxmtp-peer.mjs process over stdin/stdout. Its methods
// may be called from several goroutines; commands run one at a time.
type Peer struct {
	in  io.WriteCloser
	out *bufio.Reader
	mu  sync.Mutex
}

// StartPeer runs libxmtp-peer.mjs from dir (as returned by Dir). At t's
// cleanup it closes the peer's stdin, waits up to 30s for it to exit
// (killing it after), and logs what it wrote to stderr.
func StartPeer(t testing.TB, dir string) *Peer {
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
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Peer{in: in, out: bufio.NewReaderSize(outp, 1<<20)}
	t.Cleanup(func() {
		_ = p.in.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if stderr.Len() > 0 {
			t.Logf("libxmtp-peer stderr:\n%s", stderr.String())
		}
	})
	return p
}

// Call sends one command and returns its result, failing t (which may be
// a subtest of the one that started the peer) unless the result says ok.
func (p *Peer) Call(t testing.TB, cmd map[string]any) map[string]any {
	t.Helper()
	res := p.Try(t, cmd)
	if ok, _ := res["ok"].(bool); !ok {
		t.Fatalf("peer %v failed: %v", cmd["op"], res["error"])
	}
	return res
}

// Try sends one command and returns its result line, decoded, whether or
// not it succeeded. Lines that are not results (libxmtp's
// own logs may share stdout) are skipped.
func (p *Peer) Try(t testing.TB, cmd map[string]any) map[string]any {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	b, err := json.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		t.Fatalf("write to peer: %v", err)
	}
	for {
		line, err := p.out.ReadBytes('\n')
		if err != nil {
			t.Fatalf("peer %v: read: %v", cmd["op"], err)
		}
		if !bytes.HasPrefix(line, []byte(`{"seq":`)) {
			continue
		}
		var res map[string]any
		if err := json.Unmarshal(line, &res); err != nil {
			t.Fatalf("peer %v: %v in %q", cmd["op"], err, line)
		}
		return res
	}
}
