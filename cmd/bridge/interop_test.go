package main

import (
	"path/filepath"
	"testing"

	"mlsbridge/internal/interoptest"
)

// The interop test drives the official libxmtp client (npm
// @xmtp/node-bindings 1.9.1, through ../shared/interop's libxmtp-peer.mjs)
// and a Go `bridge client` with the same commands against one node; the
// peer is installed and run by internal/interoptest. It needs node
// (≥ 20.19) and npm on PATH.

// startInteropPair starts a node, a libxmtp peer with client "lx" and a Go
// `bridge client` with client "go", both created and registered on the
// node, and returns the two sessions and their create results.
func startInteropPair(t *testing.T) (lx *interoptest.Peer, goc *bridgeClient, l, g map[string]any) {
	t.Helper()
	dir := interoptest.Dir(t)
	host := startTestNode(t)
	dbs := t.TempDir()
	lx = interoptest.StartPeer(t, dir)
	goc = startBridgeClient(t)
	l = lx.Call(t, map[string]any{"op": "create", "client": "lx", "db": filepath.Join(dbs, "lx.db3"), "host": host, "register": true})
	g = goc.call(t, map[string]any{"op": "create", "client": "go", "db": filepath.Join(dbs, "go.db"), "host": host, "register": true})
	return lx, goc, l, g
}

// TestBridgeClientInterop: a Go `bridge client` and libxmtp, driven with
// the same protocol, share a group and exchange messages both ways.
func TestBridgeClientInterop(t *testing.T) {
	lx, goc, l, g := startInteropPair(t)

	grp := goc.call(t, map[string]any{"op": "newGroup", "members": []any{l["inboxId"]}, "name": "mixed", "as": "g"})
	goc.call(t, map[string]any{"op": "send", "group": "$g.group", "text": "from go"})
	w := lx.Call(t, map[string]any{"op": "waitMessage", "group": grp["group"], "text": "from go", "timeoutMs": 30000})
	if m := w["message"].(map[string]any); m["sender"] != g["inboxId"] || m["contentType"] != "xmtp.org/text:1.0" {
		t.Errorf("libxmtp got %v", m)
	}
	lx.Call(t, map[string]any{"op": "send", "group": grp["group"], "text": "from libxmtp"})
	w = goc.call(t, map[string]any{"op": "waitMessage", "group": "$g.group", "text": "from libxmtp", "timeoutMs": 30000})
	if m := w["message"].(map[string]any); m["sender"] != l["inboxId"] {
		t.Errorf("go got %v", m)
	}

	// The same read ops give the same shapes on both sides.
	gm := goc.call(t, map[string]any{"op": "messages", "group": "$g.group"})["messages"].([]any)
	lm := lx.Call(t, map[string]any{"op": "messages", "group": grp["group"]})["messages"].([]any)
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
	li := lx.Call(t, map[string]any{"op": "groupInfo", "group": grp["group"]})
	for _, k := range []string{"group", "name", "description", "creator", "type", "isActive", "epoch"} {
		if gi[k] != li[k] {
			t.Errorf("groupInfo %s: go %v, libxmtp %v", k, gi[k], li[k])
		}
	}
	if code := goc.close(t); code != 0 {
		t.Errorf("bridge client exit code = %d", code)
	}
}
