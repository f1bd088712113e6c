package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startTestNode runs the real node on 127.0.0.1:0 with a SQLite file in a
// temp dir and returns its URL; t.Cleanup stops it.
func startTestNode(t *testing.T) string {
	t.Helper()
	var logs syncBuffer
	n, err := startEmbeddedNode(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)), "127.0.0.1:0",
		filepath.Join(t.TempDir(), "node.db"))
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
	return "http://" + n.Addr().String()
}

// bridgeClient runs `bridge client` on a pipe, for interactive use.
type bridgeClient struct {
	in   io.WriteCloser
	out  *bufio.Reader
	done chan struct{} // closed when runClient returned
	code int
	errb *syncBuffer
}

func startBridgeClient(t *testing.T) *bridgeClient {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	bc := &bridgeClient{in: inW, out: bufio.NewReaderSize(outR, 1<<20), done: make(chan struct{}), errb: &syncBuffer{}}
	go func() {
		code := runClient(context.Background(), []string{"-log-level", "debug"}, inR, outW, bc.errb)
		_ = outW.Close()
		bc.code = code
		close(bc.done)
	}()
	t.Cleanup(func() {
		go func() { _, _ = io.Copy(io.Discard, bc.out) }() // never block runClient's writes
		_ = inW.Close()
		select {
		case <-bc.done:
		case <-time.After(30 * time.Second):
			t.Error("bridge client did not stop after stdin closed")
		}
	})
	return bc
}

// send writes one raw line and reads one result line.
func (bc *bridgeClient) send(t *testing.T, line string) (map[string]any, string) {
	t.Helper()
	if _, err := io.WriteString(bc.in, line+"\n"); err != nil {
		t.Fatalf("write command: %v", err)
	}
	return bc.read(t)
}

func (bc *bridgeClient) read(t *testing.T) (map[string]any, string) {
	t.Helper()
	var got string
	for !strings.HasPrefix(got, `{"seq":`) { // libxmtp's own logs may share stdout
		line, err := bc.out.ReadString('\n')
		if err != nil {
			t.Fatalf("read result: %v", err)
		}
		got = line
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(got), &res); err != nil {
		t.Fatalf("result %q is not JSON: %v", got, err)
	}
	return res, got
}

// call sends cmd and fails the test unless it succeeds.
func (bc *bridgeClient) call(t *testing.T, cmd map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	res, line := bc.send(t, string(b))
	if ok, _ := res["ok"].(bool); !ok {
		t.Fatalf("%v failed: %s", cmd["op"], line)
	}
	return res
}

// close closes stdin and returns the exit code.
func (bc *bridgeClient) close(t *testing.T) int {
	t.Helper()
	_ = bc.in.Close()
	select {
	case <-bc.done:
		return bc.code
	case <-time.After(30 * time.Second):
		t.Fatal("bridge client did not stop after stdin closed")
		return -1
	}
}

func TestBridgeClientGoToGo(t *testing.T) {
	host := startTestNode(t)
	dir := t.TempDir()
	bc := startBridgeClient(t)

	alice := bc.call(t, map[string]any{"op": "create", "client": "alice", "db": filepath.Join(dir, "a.db"), "host": host, "register": true})
	for _, k := range []string{"client", "inboxId", "address", "installationId", "isRegistered", "privateKey", "signatureText"} {
		if _, ok := alice[k]; !ok {
			t.Errorf("create result has no %q: %v", k, alice)
		}
	}
	if alice["isRegistered"] != true || alice["client"] != "alice" || alice["seq"] != 1.0 {
		t.Errorf("create = %v", alice)
	}
	bob := bc.call(t, map[string]any{"op": "create", "client": "bob", "db": filepath.Join(dir, "b.db"), "host": host, "register": true})

	// $client.field references and a saved result ("as").
	g := bc.call(t, map[string]any{"op": "newGroup", "client": "alice", "members": []string{"$bob.inboxId"}, "name": "g1",
		"description": "d", "as": "g"})
	if g["name"] != "g1" || len(g["group"].(string)) != 32 {
		t.Errorf("newGroup = %v", g)
	}
	sent := bc.call(t, map[string]any{"op": "send", "client": "alice", "group": "$g.group", "text": "hello bob", "as": "m"})
	bc.call(t, map[string]any{"op": "sync", "client": "bob"})
	w := bc.call(t, map[string]any{"op": "waitMessage", "client": "bob", "group": "$g.group", "text": "hello bob", "timeoutMs": 20000})
	if w["via"] != "sync" {
		t.Errorf("waitMessage via = %v", w["via"])
	}
	msgs := bc.call(t, map[string]any{"op": "messages", "client": "bob", "group": "$g.group"})["messages"].([]any)
	if len(msgs) != 1 {
		t.Fatalf("bob has %d messages, want 1: %v", len(msgs), msgs)
	}
	m := msgs[0].(map[string]any)
	want := map[string]any{"id": sent["messageId"], "group": g["group"], "sender": alice["inboxId"], "kind": "application",
		"deliveryStatus": "published", "contentType": "xmtp.org/text:1.0", "text": "hello bob"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("message %s = %v, want %v", k, m[k], v)
		}
	}
	if _, ok := m["sentAtNs"].(string); !ok {
		t.Errorf("sentAtNs = %#v, want a decimal string", m["sentAtNs"])
	}

	members := bc.call(t, map[string]any{"op": "members", "client": "bob", "group": "$g.group"})["members"].([]any)
	if len(members) != 2 {
		t.Errorf("members = %v", members)
	}
	for _, x := range members {
		mm := x.(map[string]any)
		if mm["inboxId"] == alice["inboxId"] && mm["permissionLevel"] != "superAdmin" {
			t.Errorf("alice's permissionLevel = %v", mm["permissionLevel"])
		}
	}
	info := bc.call(t, map[string]any{"op": "groupInfo", "client": "bob", "group": "$g.group"})
	if info["name"] != "g1" || info["description"] != "d" || info["creator"] != alice["inboxId"] || info["type"] != "group" || info["isActive"] != true {
		t.Errorf("groupInfo = %v", info)
	}
	gs := bc.call(t, map[string]any{"op": "listGroups", "client": "bob"})["groups"].([]any)
	if len(gs) != 1 || gs[0].(map[string]any)["group"] != g["group"] {
		t.Errorf("listGroups = %v", gs)
	}
	can := bc.call(t, map[string]any{"op": "canMessage", "addresses": []string{"$alice.address"}})["result"].(map[string]any)
	if can[alice["address"].(string)] != true {
		t.Errorf("canMessage = %v", can)
	}
	if f := bc.call(t, map[string]any{"op": "findInbox", "address": "$bob.address"}); f["inboxId"] != bob["inboxId"] {
		t.Errorf("findInbox = %v", f)
	}
	dm := bc.call(t, map[string]any{"op": "dm", "client": "alice", "inbox": "$bob.inboxId"})
	if dm["created"] != true {
		t.Errorf("dm = %v", dm)
	}
	bc.call(t, map[string]any{"op": "waitGroup", "client": "bob", "group": dm["group"], "type": "dm"})

	// Failures answer ok:false and the loop goes on.
	for _, tc := range []struct{ line, op, errPart string }{
		{`{nope`, "", "bad JSON"},
		{`{"op":"frobnicate"}`, "frobnicate", `unknown op "frobnicate"`},
		{`{"op":"addMembers","client":"nobody","group":"00","members":[]}`, "addMembers", "nobody"},
		{`{"op":"send","group":"$nothing.group","text":"x"}`, "send", "unresolved reference $nothing.group"},
	} {
		res, line := bc.send(t, tc.line)
		if !strings.HasPrefix(line, `{"seq":`) || res["ok"] != false || !strings.Contains(fmt.Sprint(res["error"]), tc.errPart) {
			t.Errorf("%s -> %s", tc.line, line)
		}
		if tc.op == "" && res["op"] != nil || tc.op != "" && res["op"] != tc.op {
			t.Errorf("%s: op = %v", tc.line, res["op"])
		}
	}
	// An array line runs each command, one result line each.
	if _, err := io.WriteString(bc.in, `[{"op":"inboxId","client":"alice"},{"op":"inboxId"}]`+"\n"); err != nil {
		t.Fatal(err)
	}
	r1, line := bc.read(t)
	r2, _ := bc.read(t)
	if r1["inboxId"] != alice["inboxId"] || r2["inboxId"] != bob["inboxId"] || r2["seq"].(float64) != r1["seq"].(float64)+1 {
		t.Errorf("array line: %v, %v", r1, r2)
	}
	if !strings.HasPrefix(line, `{"seq":`) || !strings.Contains(line, `"op":"inboxId","ok":true,"at":`) {
		t.Errorf("result line shape: %s", line)
	}
	if code := bc.close(t); code != 1 {
		t.Errorf("exit code = %d, want 1 after failed commands", code)
	}
	for _, k := range []string{alice["privateKey"].(string), bob["privateKey"].(string)} {
		if strings.Contains(bc.errb.String(), strings.TrimPrefix(k, "0x")) {
			t.Error("a private key appears in the logs")
		}
	}
}

func TestBridgeClientExitCode(t *testing.T) {
	host := startTestNode(t)
	db := filepath.Join(t.TempDir(), "c.db")
	in := strings.NewReader(`{"op":"create","db":"` + db + `","host":"` + host + `","key":"0x` + strings.Repeat("11", 32) + `"}` + "\n" +
		`{"op":"inboxId","as":"me"}` + "\n" + `{"op":"findInbox","address":"$me.address"}` + "\n" +
		`{"op":"exit"}` + "\n" + `{"op":"nothing after exit runs"}` + "\n")
	var out, errb syncBuffer
	if code := runClient(context.Background(), nil, in, &out, &errb); code != 0 {
		t.Fatalf("exit code = %d, want 0; out:\n%s\nerr:\n%s", code, out.String(), errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d result lines, want 4:\n%s", len(lines), out.String())
	}
	var created, found map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &created)
	_ = json.Unmarshal([]byte(lines[2]), &found)
	// The address of private key 0x11…11.
	if created["address"] != "0x19e7e376e7c213b7e7e7e46cc70a5dd086daff2a" || created["isRegistered"] != false {
		t.Errorf("create = %s", lines[0])
	}
	if found["inboxId"] != nil || found["ok"] != true {
		t.Errorf("findInbox of an unregistered address = %s", lines[2])
	}
}

// TestReadmeListsClientOps keeps the README's op list in step with the code.
func TestReadmeListsClientOps(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sect, ok := strings.Cut(string(b), "## bridge client")
	if !ok {
		t.Fatal(`README.md has no "## bridge client" section`)
	}
	for _, op := range supportedClientOps() {
		if !strings.Contains(sect, "`"+op+"`") {
			t.Errorf("README's bridge client section does not list op %s", op)
		}
	}
}
