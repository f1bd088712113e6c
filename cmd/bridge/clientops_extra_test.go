package main

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestClientExtraOps drives the Go-only governance ops through the bridge
// client: a leave request seen by the super admin, the pending-removal
// ops, a custom attribute, a fork check, a re-add and a sweep.
func TestClientExtraOps(t *testing.T) {
	host := startTestNode(t)
	dir := t.TempDir()
	bc := startBridgeClient(t)
	defer bc.close(t)

	bc.call(t, map[string]any{"op": "create", "client": "alice", "db": filepath.Join(dir, "a.db"), "host": host, "register": true})
	bob := bc.call(t, map[string]any{"op": "create", "client": "bob", "db": filepath.Join(dir, "b.db"), "host": host, "register": true})
	carol := bc.call(t, map[string]any{"op": "create", "client": "carol", "db": filepath.Join(dir, "c.db"), "host": host, "register": true})
	g := bc.call(t, map[string]any{"op": "newGroup", "client": "alice", "members": []any{bob["inboxId"], carol["inboxId"]}})
	group := g["group"]
	bc.call(t, map[string]any{"op": "waitGroup", "client": "bob", "group": group})

	// A custom attribute, read back by another member.
	up := bc.call(t, map[string]any{"op": "updateAttribute", "client": "alice", "group": group, "key": "topic", "value": "ops"})
	if up["value"] != "ops" {
		t.Errorf("updateAttribute = %v", up)
	}
	if r, _ := bc.send(t, `{"op":"updateAttribute","client":"alice","group":"`+group.(string)+`","key":"topic"}`); r["ok"] != false {
		t.Errorf("updateAttribute without value = %v", r)
	}

	// Bob asks to leave; alice sees it and removes him.
	bc.call(t, map[string]any{"op": "leaveGroup", "client": "bob", "group": group})
	deadline := time.Now().Add(20 * time.Second)
	var pending []any
	for time.Now().Before(deadline) {
		res := bc.call(t, map[string]any{"op": "pendingRemovals", "client": "alice", "group": group, "sync": true})
		pending, _ = res["inboxes"].([]any)
		if len(pending) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !slices.Contains(pending, bob["inboxId"]) {
		t.Fatalf("pendingRemovals never listed bob: %v", pending)
	}
	// Alice's own client may already be removing bob (its leave worker);
	// either way he ends up out of the group and off the list.
	if r, line := bc.send(t, `{"op":"removePendingMembers","client":"alice","group":"`+group.(string)+`"}`); r["ok"] != true {
		t.Logf("removePendingMembers: %s", line)
	}
	left := bc.call(t, map[string]any{"op": "cleanupPendingRemovals", "client": "alice", "group": group})
	if rest, _ := left["inboxes"].([]any); len(rest) != 0 {
		t.Errorf("pending list after removal = %v", rest)
	}
	members := bc.call(t, map[string]any{"op": "members", "client": "alice", "group": group, "sync": true})
	if ms, _ := members["members"].([]any); len(ms) != 2 {
		t.Errorf("members after removing bob = %v, want alice and carol", members)
	}
	for _, m := range members["members"].([]any) {
		if m.(map[string]any)["inboxId"] == bob["inboxId"] {
			t.Errorf("bob is still a member: %v", members)
		}
	}

	// Fork check and a re-add of carol's installation by the super admin.
	fk := bc.call(t, map[string]any{"op": "checkForks", "client": "alice", "group": group})
	if fk["forked"] != false {
		t.Errorf("checkForks = %v", fk)
	}
	ra := bc.call(t, map[string]any{"op": "readdInstallations", "client": "alice", "group": group,
		"installationIds": []any{carol["installationId"]}})
	if f, _ := ra["failedInstallations"].([]any); len(f) != 0 {
		t.Errorf("readdInstallations = %v", ra)
	}
	if r, _ := bc.send(t, `{"op":"readdInstallations","client":"alice","group":"`+group.(string)+`","installationIds":["zz"]}`); r["ok"] != false {
		t.Errorf("readdInstallations with a bad id = %v", r)
	}
	bc.call(t, map[string]any{"op": "send", "client": "alice", "group": group, "text": "after readd"})
	bc.call(t, map[string]any{"op": "waitMessage", "client": "carol", "group": group, "text": "after readd", "timeoutMs": 20000})

	sw := bc.call(t, map[string]any{"op": "deleteExpiredMessages", "client": "alice"})
	if sw["deleted"] != float64(0) {
		t.Errorf("deleteExpiredMessages = %v, want 0 (no disappearing settings)", sw)
	}
}
