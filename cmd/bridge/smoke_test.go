package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"mlsbridge/internal/interoptest"
)

// TestSmokeSeatings is issue 4's acceptance gate: the shared two-client
// scenario (interop-smoke.mjs, alice and bob behind one libxmtp-peer
// process) passes with every seating of the two clients in libxmtp or our
// Go client. For a seating with a Go client, the scenario's
// libxmtp-peer.mjs is a shim that runs `bridge client -seat ...` with the
// real peer behind it; libxmtp/libxmtp runs the unmodified peer.
func TestSmokeSeatings(t *testing.T) {
	dir := interoptest.Dir(t)
	bin := buildBridge(t)
	for _, tc := range []struct{ name, alice, bob string }{
		{"libxmtp-libxmtp", seatLibXMTP, seatLibXMTP},
		{"go-libxmtp", seatGo, seatLibXMTP},
		{"libxmtp-go", seatLibXMTP, seatGo},
		{"go-go", seatGo, seatGo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := startTestNode(t)
			sdir := seatedInteropDir(t, dir, bin, tc.alice, tc.bob)
			work := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "node", "interop-smoke.mjs", "--host", host, "--workdir", work)
			cmd.Dir = sdir
			var stdout, stderr syncBuffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			cmd.WaitDelay = 30 * time.Second // the peer's children may hold stderr a moment after it ends
			err := cmd.Run()
			out := stdout.String()
			last := lastLine(out)
			if err != nil || last != "20 passed, 0 failed" {
				for _, l := range strings.Split(out, "\n") {
					if strings.HasPrefix(l, "FAIL ") {
						t.Log(l)
					}
				}
				t.Logf("interop-smoke.mjs stdout:\n%s\nstderr:\n%s", out, stderr.String())
				t.Fatalf("interop-smoke.mjs ended with %q (err %v), want \"20 passed, 0 failed\" and exit 0", last, err)
			}
			if strings.Contains(stderr.String(), "WARNING: DATA RACE") {
				t.Errorf("the bridge reported a data race:\n%s", stderr.String())
			}
			// Each client really sat where it was seated: libxmtp's
			// database has diesel's migration table, ours has none.
			for name, seat := range map[string]string{"alice": tc.alice, "bob": tc.bob} {
				if got := dbSeat(t, filepath.Join(work, name+".db3")); got != seat {
					t.Errorf("%s's database was written by %s, want %s", name, got, seat)
				}
			}
		})
	}
}

func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// buildBridge builds this package's binary into a temp dir.
func buildBridge(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bridge")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	args := []string{"build", "-o", bin}
	if raceEnabled() {
		args = append(args, "-race")
	}
	out, err := exec.CommandContext(ctx, "go", append(args, ".")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// raceEnabled reports whether this test binary was built with -race (then
// so is the bridge binary, and a race it reports fails the test).
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// seatedInteropDir copies the interop folder src (from interoptest.Dir)
// into a temp dir. Unless both clients sit in libxmtp, its
// libxmtp-peer.mjs becomes a shim running `bridge client -seat` with the
// real peer, renamed libxmtp-peer-real.mjs, behind it.
func seatedInteropDir(t *testing.T, src, bin, alice, bob string) string {
	t.Helper()
	spec := ""
	if alice != seatLibXMTP || bob != seatLibXMTP {
		spec = "alice=" + alice + ",bob=" + bob
	}
	return seatedInteropDirSpec(t, src, bin, spec)
}

// seatedInteropDirSpec is seatedInteropDir for any number of clients:
// spec is a -seat value (see parseSeating); "" leaves the real peer in
// place (every client in libxmtp).
func seatedInteropDirSpec(t *testing.T, src, bin, spec string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if e.Type()&os.ModeSymlink != 0 { // node_modules
			target, err := os.Readlink(from)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, to); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if spec == "" {
		return dst
	}
	realPeer := filepath.Join(dst, "libxmtp-peer-real.mjs")
	if err := os.Rename(filepath.Join(dst, "libxmtp-peer.mjs"), realPeer); err != nil {
		t.Fatal(err)
	}
	args, err := json.Marshal([]string{"client", "-seat", spec, "-libxmtp-peer", realPeer})
	if err != nil {
		t.Fatal(err)
	}
	binJS, err := json.Marshal(bin)
	if err != nil {
		t.Fatal(err)
	}
	shim := fmt.Sprintf(`// test shim: the smoke's peer is "bridge client" with seated clients
import { spawn } from "node:child_process";
const child = spawn(%s, %s, { stdio: "inherit" });
process.on("SIGTERM", () => {}); // the bridge ends by itself after "exit" or EOF
child.on("error", (e) => { process.stderr.write("shim: " + e + "\n"); process.exit(2); });
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
`, binJS, args)
	if err := os.WriteFile(filepath.Join(dst, "libxmtp-peer.mjs"), []byte(shim), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// dbSeat tells which client wrote the database at path (with its -wal):
// libxmtp when diesel's migration table is there, else go.
func dbSeat(t *testing.T, path string) string {
	t.Helper()
	files, _ := filepath.Glob(path + "*")
	if len(files) == 0 {
		t.Fatalf("no database at %s", path)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("__diesel_schema_migrations")) {
			return seatLibXMTP
		}
	}
	return seatGo
}

// fakeChild is a libxmtp seat that records commands and answers from a
// script.
type fakeChild struct {
	got    []map[string]any
	answer func(cmd map[string]any) string
	closed bool
}

func (f *fakeChild) call(_ context.Context, cmd map[string]any) ([]byte, error) {
	f.got = append(f.got, cmd)
	return []byte(f.answer(cmd)), nil
}

func (f *fakeChild) close() error {
	f.closed = true
	return nil
}

// TestSeatRouter: commands go to their client's seat (the named client,
// else the last created), references and "as" results work across seats,
// and result lines carry the router's own seq.
func TestSeatRouter(t *testing.T) {
	st, err := parseSeating("alice=libxmtp, bob=go")
	if err != nil {
		t.Fatal(err)
	}
	child := &fakeChild{answer: func(cmd map[string]any) string {
		switch cmd["op"] {
		case "create":
			return `{"seq":41,"op":"create","ok":true,"at":1,"ms":2,"client":"alice","inboxId":"aa11","address":"0xabc","installationId":"ff"}`
		case "inboxId":
			return `{"seq":42,"op":"inboxId","ok":true,"at":1,"ms":2,"inboxId":"aa11","n":3}`
		case "send":
			return `{"seq":43,"op":"send","ok":false,"at":1,"ms":2,"error":"boom"}`
		}
		return fmt.Sprintf(`{"seq":44,"op":%q,"ok":true,"at":1,"ms":2}`, cmd["op"])
	}}
	var out bytes.Buffer
	s := newClientSession(slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	defer s.close()
	r := newSeatRouter(s, st, &out)
	r.child = child
	in := strings.Join([]string{
		`{"op":"sleep","ms":1}`, // no client yet: the Go seat
		`{"op":"create","client":"alice","db":"x.db3"}`,
		`{"op":"inboxId","as":"who"}`,                        // last created: alice
		`{"op":"sleep","client":"bob","ms":"$who.n"}`,        // a libxmtp result in a Go command
		`{"op":"send","group":"$alice.inboxId","text":"hi"}`, // a client ref, to alice's seat
		`{"op":"inboxId","client":"bob"}`,                    // Go: no client bob
		`{"op":"sleep","ms":"$nobody.x"}`,                    // unresolved
		`not json`,
		`{"op":"exit"}`,
		`{"op":"sleep"}`, // after exit: never run
	}, "\n") + "\n"
	code := r.serve(context.Background(), strings.NewReader(in))
	if code != 1 {
		t.Errorf("exit code %d, want 1 (some commands failed)", code)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("result %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	wantOK := []bool{true, true, true, true, false, false, false, false, true}
	if len(lines) != len(wantOK) {
		t.Fatalf("got %d result lines, want %d:\n%s", len(lines), len(wantOK), out.String())
	}
	for i, m := range lines {
		if m["seq"] != float64(i+1) || m["ok"] != wantOK[i] {
			t.Errorf("line %d: seq %v ok %v, want seq %d ok %v: %v", i+1, m["seq"], m["ok"], i+1, wantOK[i], m)
		}
	}
	if lines[1]["inboxId"] != "aa11" || lines[8]["op"] != "exit" {
		t.Errorf("relayed lines: %v / %v", lines[1], lines[8])
	}
	if e, _ := lines[5]["error"].(string); !strings.Contains(e, `no client "bob"`) {
		t.Errorf("Go seat error = %q", e)
	}
	if e, _ := lines[6]["error"].(string); !strings.Contains(e, "unresolved reference $nobody.x") {
		t.Errorf("unresolved ref error = %q", e)
	}
	var ops []string
	for _, c := range child.got {
		ops = append(ops, fmt.Sprint(c["op"]))
	}
	if strings.Join(ops, ",") != "create,inboxId,send,exit" {
		t.Fatalf("the libxmtp seat got %v", ops)
	}
	if child.got[1]["client"] != "alice" || child.got[2]["client"] != "alice" || child.got[2]["group"] != "aa11" {
		t.Errorf("forwarded commands: %v, %v", child.got[1], child.got[2])
	}
	if !child.closed {
		t.Error("the libxmtp seat was not closed")
	}
}

func TestParseSeating(t *testing.T) {
	st, err := parseSeating("*=libxmtp,bob=go")
	if err != nil || st.of("alice") != seatLibXMTP || st.of("bob") != seatGo || !st.usesLibXMTP() {
		t.Errorf("parseSeating = %v, %v", st, err)
	}
	if st, _ := parseSeating("alice=go"); st.usesLibXMTP() || st.of("zed") != seatGo {
		t.Errorf("default seat: %v", st)
	}
	for _, bad := range []string{"alice", "=go", "alice=rust"} {
		if _, err := parseSeating(bad); err == nil {
			t.Errorf("parseSeating(%q) accepted", bad)
		}
	}
	var errb bytes.Buffer
	if code := runClient(context.Background(), []string{"-seat", "alice=libxmtp"}, strings.NewReader(""), io.Discard, &errb); code != 2 {
		t.Errorf("libxmtp seat without -libxmtp-peer: exit %d, want 2 (%s)", code, errb.String())
	}
}
