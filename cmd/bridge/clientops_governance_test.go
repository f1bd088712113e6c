package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestClientGovernanceOps drives the governance ops with the same commands
// on a Go `bridge client` and on libxmtp, each in the group it created with
// the other as member, and checks that both answer the same fields and
// values (inbox ids read as "creator" and "target"), that the other side
// reads every change, and that a change both refuse fails on both.
func TestClientGovernanceOps(t *testing.T) {
	lx, goc, l, g := startInteropPair(t)
	goInbox, lxInbox := g["inboxId"].(string), l["inboxId"].(string)

	goGroup := goc.call(t, map[string]any{"op": "newGroup", "members": []any{lxInbox}, "name": "go's"})["group"].(string)
	lxGroup := lx.Call(t, map[string]any{"op": "newGroup", "members": []any{goInbox}, "name": "libxmtp's"})["group"].(string)
	lx.Call(t, map[string]any{"op": "sync"})
	goc.call(t, map[string]any{"op": "waitGroup", "group": lxGroup, "timeoutMs": 30000})

	// normal replaces inbox ids by role and drops what differs anyway.
	normal := func(res map[string]any, creator, target string) string {
		for _, k := range []string{"seq", "at", "ms", "group"} {
			delete(res, k)
		}
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		return strings.NewReplacer(creator, "creator", target, "target").Replace(string(b))
	}
	steps := []map[string]any{
		{"op": "updateName", "name": "renamed"},
		{"op": "updateDescription", "description": "described"},
		{"op": "updateImageUrl", "imageUrl": "https://example.com/i.png"},
		{"op": "updateAppData", "appData": "app data"},
		{"op": "addAdmin", "inbox": "TARGET"},
		{"op": "isAdmin", "inbox": "TARGET"},
		{"op": "addSuperAdmin", "inbox": "TARGET"},
		{"op": "isSuperAdmin", "inbox": "TARGET"},
		{"op": "isAdmin"},
		{"op": "removeAdmin", "inbox": "TARGET"},
		{"op": "removeSuperAdmin", "inbox": "TARGET"},
		{"op": "permissions"},
		{"op": "updatePermission", "type": "updateMetadata", "policy": "admin", "metadataField": "groupName"},
		{"op": "updatePermission", "type": "addAdmin", "policy": "allow"},
		{"op": "updatePermission", "type": "removeMember", "policy": "superAdmin"},
		{"op": "updateDisappearing", "fromNs": "1000", "inNs": 2000},
		{"op": "removeDisappearing"},
		{"op": "permissions", "sync": true},
	}
	for _, st := range steps {
		run := func(group, target string) map[string]any {
			cmd := map[string]any{"group": group}
			for k, v := range st {
				if v == "TARGET" {
					v = target
				}
				cmd[k] = v
			}
			return cmd
		}
		gr := goc.call(t, run(goGroup, lxInbox))
		lr := lx.Call(t, run(lxGroup, goInbox))
		a, b := normal(gr, goInbox, lxInbox), normal(lr, lxInbox, goInbox)
		if a != b {
			t.Errorf("%v:\n go      %s\n libxmtp %s", st, a, b)
		}
		t.Logf("%s: %s", st["op"], a)
	}

	// Each side reads the other's changes.
	for _, c := range []struct{ reader, group string }{{"go", lxGroup}, {"lx", goGroup}} {
		var mine, theirs map[string]any
		if c.reader == "go" {
			mine = goc.call(t, map[string]any{"op": "groupInfo", "group": c.group, "sync": true})
			theirs = lx.Call(t, map[string]any{"op": "groupInfo", "group": c.group})
		} else {
			mine = lx.Call(t, map[string]any{"op": "groupInfo", "group": c.group, "sync": true})
			theirs = goc.call(t, map[string]any{"op": "groupInfo", "group": c.group})
		}
		for _, k := range []string{"name", "description", "imageUrl", "appData", "admins", "superAdmins", "epoch"} {
			if !reflect.DeepEqual(mine[k], theirs[k]) {
				t.Errorf("%s reads %s of the other's group as %v, its creator %v", c.reader, k, mine[k], theirs[k])
			}
		}
	}

	// The member, no longer admin, may not change permissions on either
	// side; the member's rename is allowed nowhere either (admin only).
	for _, op := range []string{
		`{"op":"updatePermission","group":"%s","type":"addMember","policy":"deny"}`,
		`{"op":"updateName","group":"%s","name":"member's"}`,
	} {
		res, line := goc.send(t, strings.Replace(op, "%s", lxGroup, 1))
		if res["ok"] != false || !strings.Contains(line, "denied") {
			t.Errorf("go member: %s", line)
		}
		if r := lx.Try(t, mustJSON(t, strings.Replace(op, "%s", goGroup, 1))); r["ok"] != false {
			t.Errorf("libxmtp member: %v", r)
		}
	}
}

func mustJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}
