package node

import (
	"context"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"mlsbridge/internal/interoptest"
)

// The interop tests drive the official libxmtp client (npm
// @xmtp/node-bindings 1.9.1, through ../shared/interop) against this node,
// installed and run by internal/interoptest. They need node (≥ 20.19) and
// npm on PATH; scripts/test installs them.

const smokeWant = "20 passed, 0 failed"

// TestInteropSmoke is the acceptance gate: libxmtp's two-client scenario
// passes all 20 steps against our node.
func TestInteropSmoke(t *testing.T) {
	runSharedScenario(t, "interop-smoke.mjs", smokeWant, 10*time.Minute)
}

// runSharedScenario runs one of ../shared/interop's scenario scripts
// against a fresh node and requires its closing summary line to be want.
func runSharedScenario(t *testing.T, script, want string, timeout time.Duration) {
	t.Helper()
	if testing.Short() {
		t.Skip("libxmtp interop test skipped in -short mode")
	}
	dir := interoptest.Dir(t)
	tn := startTestNodeLevel(t, "", Config{}, slog.LevelInfo)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script, "--host", "http://"+tn.addr().String(), "--workdir", t.TempDir())
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("%s:\n%s", script, out)
	if last := lastLine(out); last != want {
		t.Fatalf("%s ended with %q (err %v), want %q", script, last, err, want)
	}
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
