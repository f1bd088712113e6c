package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mlsbridge/internal/interoptest"
)

// governanceClients are the clients of governance-smoke.mjs: alice creates
// the groups (and alice2 is her second installation), bob is made admin,
// reacts and exercises consent, carol becomes super admin, replies and
// leaves, dave is added and removed by address and gets a disappearing DM.
var governanceClients = []string{"alice", "alice2", "bob", "carol", "dave"}

// TestGovernanceSmoke runs the shared governance scenario
// (governance-smoke.mjs: permissions, admins, metadata, reactions, replies,
// deletion, consent, leaving, disappearing messages, address-based
// membership, installation revocation; 122 steps, four clients and a
// second installation) with its clients seated in libxmtp, in our Go
// client, or mixed, behind one `bridge client -seat` (see
// seatedInteropDirSpec). Every seating must pass every step.
func TestGovernanceSmoke(t *testing.T) {
	dir := interoptest.Dir(t)
	bin := buildBridge(t)
	for _, tc := range []struct{ name, spec string }{
		{"all-libxmtp", ""},
		{"all-go", "*=go"},
		// The creator (super admin, the leave worker, the deleting admin,
		// the revoking inbox) in Go, everyone else in libxmtp.
		{"go-creator", "alice=go,alice2=go,*=libxmtp"},
		// The creator in libxmtp, every other role in Go.
		{"libxmtp-creator", "alice=libxmtp,alice2=libxmtp,*=go"},
		// Alternating: a libxmtp creator whose second installation is Go,
		// bob (admin, reactions, consent) in Go, carol (super admin,
		// replies, leave) in libxmtp, dave (address membership, DM) in Go.
		{"alternating", "alice=libxmtp,alice2=go,bob=go,carol=libxmtp,dave=go"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seats := seating{seats: map[string]string{}, def: seatLibXMTP}
			if tc.spec != "" {
				var err error
				if seats, err = parseSeating(tc.spec); err != nil {
					t.Fatal(err)
				}
			}
			host := startTestNode(t)
			sdir := seatedInteropDirSpec(t, dir, bin, tc.spec)
			work := t.TempDir()
			out, stderr, err := runSmokeScript(t, sdir, "governance-smoke.mjs", host, work, 15*time.Minute)
			const want = "122 passed, 0 failed"
			last := lastLine(out)
			t.Logf("%s: %s", tc.name, last)
			if err != nil || last != want {
				for _, l := range strings.Split(out, "\n") {
					if strings.HasPrefix(l, "FAIL ") {
						t.Log(l)
					}
				}
				t.Logf("governance-smoke.mjs stdout:\n%s\nstderr (tail):\n%s", out, tail(stderr, 200))
				t.Fatalf("governance-smoke.mjs ended with %q (err %v), want %q and exit 0", last, err, want)
			}
			if strings.Contains(stderr, "WARNING: DATA RACE") {
				t.Errorf("the bridge reported a data race:\n%s", stderr)
			}
			for _, name := range governanceClients {
				if got, want := dbSeat(t, filepath.Join(work, name+".db3")), seats.of(name); got != want {
					t.Errorf("%s's database was written by %s, want %s", name, got, want)
				}
			}
		})
	}
}

// runSmokeScript runs one of the shared scenario scripts (node script
// --host host --workdir work) in sdir and returns its stdout and stderr.
func runSmokeScript(t *testing.T, sdir, script, host, work string, limit time.Duration) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script, "--host", host, "--workdir", work)
	cmd.Dir = sdir
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 30 * time.Second // the peer's children may hold stderr a moment after it ends
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
