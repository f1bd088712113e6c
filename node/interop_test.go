package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The interop tests drive the official libxmtp client (npm
// @xmtp/node-bindings 1.9.1, through ../shared/interop) against this node.
// They need node (≥ 20.19) and npm on PATH; scripts/test installs them.

const smokeWant = "20 passed, 0 failed"

// interopSource returns the shared interop folder: $MLSBRIDGE_INTEROP_DIR,
// or ../shared/interop next to the repository.
func interopSource(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("MLSBRIDGE_INTEROP_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "interop")
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

var interopInstall struct {
	once sync.Once
	dir  string
	err  error
}

// interopDir copies the interop scripts to a temp dir whose node_modules
// links to a cached `npm ci` install keyed by the package-lock.json hash
// (under $MLSBRIDGE_INTEROP_CACHE, default ~/.cache/mlsbridge), so that
// repeated runs do not reinstall. Nothing is installed inside shared/.
func interopDir(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the libxmtp interop tests need %s (Node.js ≥ 20.19 with npm) on PATH; scripts/test installs it: %v", tool, err)
		}
	}
	src := interopSource(t)
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

// installInterop returns a folder holding node_modules for src's
// package-lock.json, running `npm ci` into a fresh folder and renaming it
// into place when the cache has none.
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
	_ = os.RemoveAll(final) // an incomplete earlier attempt
	if err := os.Rename(tmp, final); err != nil {
		if _, serr := os.Stat(filepath.Join(final, marker)); serr == nil {
			return final, nil // another test process won the race
		}
		return "", err
	}
	return final, nil
}

// TestInteropSmoke is the acceptance gate: libxmtp's two-client scenario
// passes all 20 steps against our node.
func TestInteropSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("libxmtp interop test skipped in -short mode")
	}
	dir := interopDir(t)
	tn := startTestNodeLevel(t, "", Config{}, slog.LevelInfo)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "interop-smoke.mjs", "--host", "http://"+tn.addr().String(), "--workdir", t.TempDir())
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	last := lastLine(out)
	t.Logf("interop-smoke.mjs:\n%s", out)
	if last != smokeWant {
		t.Fatalf("interop-smoke.mjs ended with %q (err %v), want %q", last, err, smokeWant)
	}
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// peer drives one libxmtp-peer.mjs process over stdin/stdout.
type peer struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
	mu  sync.Mutex
}

func startPeer(t *testing.T, dir string) *peer {
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
	p := &peer{cmd: cmd, in: in, out: bufio.NewReaderSize(outp, 1<<20)}
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

// call sends one command and returns its result line, failing the test
// when the command fails.
func (p *peer) call(t *testing.T, cmd map[string]any) map[string]any {
	t.Helper()
	res := p.try(t, cmd)
	if ok, _ := res["ok"].(bool); !ok {
		t.Fatalf("peer %v failed: %v", cmd["op"], res["error"])
	}
	return res
}

// try sends one command and returns its result line.
func (p *peer) try(t *testing.T, cmd map[string]any) map[string]any {
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
