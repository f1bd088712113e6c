package client

import (
	"path/filepath"
	"testing"

	"mlsbridge/identity"
	"mlsbridge/internal/interoptest"
)

// The interop tests drive the official libxmtp client (npm
// @xmtp/node-bindings 1.9.1, through ../shared/interop's libxmtp-peer.mjs)
// against the real node, with our client on the other side; the peer is
// installed and run by internal/interoptest. They need node (≥ 20.19) and
// npm on PATH.

// peerMessages returns the application messages libxmtp has in a group.
func peerMessages(t *testing.T, p *interoptest.Peer, client, group string) []map[string]any {
	t.Helper()
	res := p.Call(t, map[string]any{"op": "messages", "client": client, "group": group})
	var out []map[string]any
	for _, m := range res["messages"].([]any) {
		out = append(out, m.(map[string]any))
	}
	return out
}

// interopEnv is what the interop subtests share: one restartable node and
// one libxmtp-peer process (each subtest names its own libxmtp clients).
type interopEnv struct {
	node *testNode
	peer *interoptest.Peer
}

func (e *interopEnv) host() string { return "http://" + e.node.addr }

// libxmtp creates and registers a libxmtp client named name (unique in the
// process); key, when not empty, is an existing wallet's private key (a
// new installation of its inbox).
func (e *interopEnv) libxmtp(t *testing.T, name, key string) map[string]any {
	t.Helper()
	cmd := map[string]any{"op": "create", "client": name, "db": filepath.Join(t.TempDir(), name+".db3"), "host": e.host(), "register": true}
	if key != "" {
		cmd["key"] = key
	}
	return e.peer.Call(t, cmd)
}

// TestInterop runs every libxmtp interop scenario against one node and one
// libxmtp process (starting either costs time; the scenarios use distinct
// clients, so they do not interfere).
func TestInterop(t *testing.T) {
	runInterop(t, []interopScenario{
		{"LibxmtpCreatesGoJoins", interopLibxmtpCreatesGoJoins},
		{"GoCreatesLibxmtpJoins", interopGoCreatesLibxmtpJoins},
		{"GoRemovesLibxmtp", interopGoRemovesLibxmtp},
		{"LibxmtpRemovesGo", interopLibxmtpRemovesGo},
		{"GoUpdatesInstallations", interopGoUpdatesInstallations},
		{"LibxmtpUpdatesInstallations", interopLibxmtpUpdatesInstallations},
		{"MembersAndMetadata", interopMembersAndMetadata},
		{"GoCreatesDM", interopGoCreatesDM},
		{"LibxmtpCreatesDM", interopLibxmtpCreatesDM},
		{"DuplicateDMs", interopDuplicateDMs},
		{"SyncAllWithConsent", interopSyncAllWithConsent},
		{"OptimisticSendAndCrashedWelcome", interopIntents},
		{"StreamsAcrossNodeRestart", interopStreams}, // restarts the node: keep last
	})
}

// interopLibxmtpCreatesGoJoins: libxmtp creates a group with our Go
// client in it; Go receives the welcome, reads libxmtp's messages, and
// libxmtp reads Go's answer; then each side commits in the other's group.
func interopLibxmtpCreatesGoJoins(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	alice := env.libxmtp(t, "alice", "")
	bob, _, _ := newTestClient(t, env.node.addr, "bob")

	g := p.Call(t, map[string]any{"op": "newGroup", "client": "alice", "members": []string{string(bob.InboxID())}, "name": "from libxmtp"})
	gid := g["group"].(string)
	sent := p.Call(t, map[string]any{"op": "send", "client": "alice", "group": gid, "text": "hello go"})

	joined, err := bob.SyncWelcomes(ctx)
	if err != nil {
		t.Fatalf("SyncWelcomes: %v", err)
	}
	if len(joined) != 1 || joined[0].ID().String() != gid {
		t.Fatalf("joined %v, want group %s", joined, gid)
	}
	bg := joined[0]
	info, err := bg.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name() != "from libxmtp" || string(info.CreatorInboxID) != alice["inboxId"] {
		t.Errorf("group info: name %q creator %s", info.Name(), info.CreatorInboxID)
	}
	if err := bg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	msgs, err := bg.FindMessages(ctx, &MessageQuery{Kind: KindApplication})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("go has %d messages, want 1", len(msgs))
	}
	text, err := msgs[0].Text()
	if err != nil || text != "hello go" || string(msgs[0].SenderInboxID) != alice["inboxId"] {
		t.Fatalf("go read %q (%v) from %s", text, err, msgs[0].SenderInboxID)
	}
	if msgs[0].ID.String() != sent["messageId"] {
		t.Errorf("message id: go computed %s, libxmtp %v", msgs[0].ID, sent["messageId"])
	}

	id, err := bg.SendText(ctx, "hello libxmtp")
	if err != nil {
		t.Fatal(err)
	}
	got := p.Call(t, map[string]any{"op": "waitMessage", "client": "alice", "group": gid, "text": "hello libxmtp", "timeoutMs": 30000})
	m := got["message"].(map[string]any)
	if m["sender"] != string(bob.InboxID()) || m["id"] != id.String() {
		t.Errorf("libxmtp got %v; want sender %s id %s", m, bob.InboxID(), id)
	}

	// Bob rotated his key package after the welcome; libxmtp adds him to a
	// second group with the new one.
	g2 := p.Call(t, map[string]any{"op": "newGroup", "client": "alice", "members": []string{string(bob.InboxID())}, "name": "second"})
	joined2, err := bob.SyncWelcomes(ctx)
	if err != nil || len(joined2) != 1 || joined2[0].ID().String() != g2["group"] {
		t.Fatalf("second welcome: %v %v", joined2, err)
	}

	// libxmtp commits (adds frank): Go processes the commit and reads the
	// next epoch's message.
	frank := env.libxmtp(t, "frank", "")
	p.Call(t, map[string]any{"op": "addMembers", "client": "alice", "group": gid, "members": []string{frank["inboxId"].(string)}})
	p.Call(t, map[string]any{"op": "send", "client": "alice", "group": gid, "text": "frank is here"})
	if err := bg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if last := lastText(t, bg); last != "frank is here" {
		t.Fatalf("after libxmtp's commit go read %q", last)
	}
	// Go commits in libxmtp's group (adds erin): every libxmtp member
	// accepts the commit and reads the next epoch's message.
	erin := env.libxmtp(t, "erin", "")
	if _, err := bg.AddMembers(ctx, []identity.InboxID{identity.InboxID(erin["inboxId"].(string))}); err != nil {
		t.Fatalf("go adds erin to libxmtp's group: %v", err)
	}
	if _, err := bg.SendText(ctx, "erin is here"); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"alice", "frank", "erin"} {
		p.Call(t, map[string]any{"op": "waitMessage", "client": who, "group": gid, "text": "erin is here", "timeoutMs": 30000})
	}
	members := p.Call(t, map[string]any{"op": "members", "client": "alice", "group": gid})["members"].([]any)
	if len(members) != 4 {
		t.Errorf("libxmtp sees %d members, want 4: %v", len(members), members)
	}
	p.Call(t, map[string]any{"op": "send", "client": "erin", "group": gid, "text": "hi from erin"})
	if err := bg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if last := lastText(t, bg); last != "hi from erin" {
		t.Fatalf("go read %q, want erin's message", last)
	}
}

// lastText returns the text of the group's newest application message.
func lastText(t *testing.T, g *Group) string {
	t.Helper()
	msgs, err := g.FindMessages(ctxT(t), &MessageQuery{Kind: KindApplication, Direction: Descending, Limit: 1})
	if err != nil || len(msgs) == 0 {
		t.Fatalf("messages: %v (%d)", err, len(msgs))
	}
	text, err := msgs[0].Text()
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// interopGoCreatesLibxmtpJoins: our Go client creates a group and adds
// libxmtp; libxmtp joins through our welcome, reads Go's messages, and Go
// reads libxmtp's answer.
func interopGoCreatesLibxmtpJoins(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	carol := env.libxmtp(t, "carol", "")
	dave, _, _ := newTestClient(t, env.node.addr, "dave")

	g, err := dave.CreateGroup(ctx, &GroupOptions{Name: "from go", Description: "made in Go"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.AddMembers(ctx, []identity.InboxID{identity.InboxID(carol["inboxId"].(string))})
	if err != nil {
		t.Fatalf("add libxmtp: %v", err)
	}
	if len(res.Added) != 1 || len(res.FailedInstallations) != 0 {
		t.Fatalf("add result %+v", res)
	}
	id, err := g.SendText(ctx, "hello from go")
	if err != nil {
		t.Fatal(err)
	}
	gid := g.ID().String()
	got := p.Call(t, map[string]any{"op": "waitMessage", "client": "carol", "group": gid, "text": "hello from go", "timeoutMs": 30000})
	m := got["message"].(map[string]any)
	if m["sender"] != string(dave.InboxID()) || m["id"] != id.String() {
		t.Errorf("libxmtp got %v; want sender %s id %s", m, dave.InboxID(), id)
	}
	gi := p.Call(t, map[string]any{"op": "groupInfo", "client": "carol", "group": gid})
	if gi["name"] != "from go" || gi["description"] != "made in Go" || gi["creator"] != string(dave.InboxID()) {
		t.Errorf("libxmtp group info = %v", gi)
	}
	sent := p.Call(t, map[string]any{"op": "send", "client": "carol", "group": gid, "text": "hello from libxmtp"})
	if err := g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	msgs, err := g.FindMessages(ctx, &MessageQuery{Kind: KindApplication})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("go has %d messages, want 2", len(msgs))
	}
	text, err := msgs[1].Text()
	if err != nil || text != "hello from libxmtp" || msgs[1].ID.String() != sent["messageId"] {
		t.Fatalf("go read %q (%v) id %s; libxmtp id %v", text, err, msgs[1].ID, sent["messageId"])
	}
	if pm := peerMessages(t, p, "carol", gid); len(pm) != 2 {
		t.Errorf("libxmtp has %d messages, want 2: %v", len(pm), pm)
	}
}
