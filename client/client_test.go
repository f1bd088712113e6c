package client

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"mlsbridge/identity"
	"mlsbridge/mls"
	"mlsbridge/node"
	"mlsbridge/storage"
)

func TestRegisterAndReopen(t *testing.T) {
	n := startNode(t)
	addr := n.Addr().String()
	ctx := ctxT(t)
	a, w, path := newTestClient(t, addr, "alice")
	if !a.IsRegistered() {
		t.Fatal("not registered")
	}
	want, err := identity.ComputeInboxID(identity.EthereumMember(w.Address()), 1)
	if err != nil || a.InboxID() != want {
		t.Fatalf("inbox id = %s, want %s (nonce 1)", a.InboxID(), want)
	}
	got, ok, err := a.InboxIDFor(ctx, w.Address())
	if err != nil || !ok || got != a.InboxID() {
		t.Fatalf("InboxIDFor = %s %v %v", got, ok, err)
	}
	st, err := a.InboxState(ctx, a.InboxID())
	if err != nil {
		t.Fatal(err)
	}
	if ins := st.Installations(); len(ins) != 1 || ins[0] != a.InstallationID() {
		t.Fatalf("installations = %v", ins)
	}
	can, err := a.CanMessage(ctx, []identity.Address{w.Address(), "0x0000000000000000000000000000000000000001"})
	if err != nil || !can[w.Address()] || can["0x0000000000000000000000000000000000000001"] {
		t.Fatalf("CanMessage = %v %v", can, err)
	}
	inst := a.InstallationID()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopen without a signer: same installation, still registered.
	b := openTestClient(t, addr, nil, path, "alice2")
	if b.InstallationID() != inst || b.InboxID() != want || !b.IsRegistered() {
		t.Fatalf("reopened %s %s %v", b.InstallationID(), b.InboxID(), b.IsRegistered())
	}
	if err := b.RotateKeyPackage(ctx); err != nil {
		t.Fatal(err)
	}
	// A second installation of the same wallet joins the same inbox.
	c2 := openTestClient(t, addr, w, t.TempDir()+"/second.db3", "alice-second")
	if c2.InboxID() != want {
		t.Fatalf("second installation inbox = %s", c2.InboxID())
	}
	if err := c2.Register(ctx); err != nil {
		t.Fatal(err)
	}
	st, err = c2.InboxState(ctx, want)
	if err != nil || len(st.Installations()) != 2 {
		t.Fatalf("after second install: %v %v", st.Installations(), err)
	}
}

// TestGoToGo: a Go client creates a group, adds another Go client, and they
// exchange messages both ways.
func TestGoToGo(t *testing.T) {
	n := startNode(t)
	addr := n.Addr().String()
	ctx := ctxT(t)
	a, _, _ := newTestClient(t, addr, "alice")
	b, _, bPath := newTestClient(t, addr, "bob")
	g, err := a.CreateGroup(ctx, &GroupOptions{Name: "go group"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.AddMembers(ctx, []identity.InboxID{b.InboxID()})
	if err != nil {
		t.Fatalf("add members: %v", err)
	}
	if len(res.Added) != 1 || res.CommitCursor == 0 {
		t.Fatalf("add result = %+v", res)
	}
	// Bob rotates before reading the welcome: the superseded key package
	// keeps its keys for a day, so the welcome still opens.
	if err := b.RotateKeyPackage(ctx); err != nil {
		t.Fatal(err)
	}
	joined, err := b.SyncWelcomes(ctx)
	if err != nil || len(joined) != 1 {
		t.Fatalf("SyncWelcomes = %v, %v", joined, err)
	}
	bg := joined[0]
	info, err := bg.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name() != "go group" || info.CreatorInboxID != a.InboxID() || len(info.Membership) != 2 {
		t.Fatalf("info = %+v", info)
	}
	if info.Membership[a.InboxID()] == 0 {
		t.Error("creator still at sequence id 0 after the first membership commit")
	}
	for i := range 3 {
		if _, err := g.SendText(ctx, fmt.Sprintf("hello %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := bg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	msgs, err := bg.FindMessages(ctx, &MessageQuery{Kind: KindApplication})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 {
		t.Fatalf("bob has %d messages, want 3", len(msgs))
	}
	for i, m := range msgs {
		text, err := m.Text()
		if err != nil || text != fmt.Sprintf("hello %d", i) || m.SenderInboxID != a.InboxID() {
			t.Errorf("message %d = %q %v from %s", i, text, err, m.SenderInboxID)
		}
	}
	// Bob answers after reopening his installation.
	_ = b.Close()
	b = openTestClient(t, addr, nil, bPath, "bob2")
	bg, err = b.Group(ctx, g.ID())
	if err != nil {
		t.Fatal(err)
	}
	id, err := bg.SendText(ctx, "hi alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	am, err := g.FindMessages(ctx, &MessageQuery{Kind: KindApplication})
	if err != nil {
		t.Fatal(err)
	}
	if len(am) != 4 || string(am[3].ID) != string(id) {
		t.Fatalf("alice has %d messages; last id %v want %v", len(am), am[len(am)-1].ID, id)
	}
	for _, m := range am[:3] {
		if m.DeliveryStatus != StatusPublished || m.Cursor == 0 {
			t.Errorf("own message %s: status %d cursor %d", m.ID, m.DeliveryStatus, m.Cursor)
		}
	}
	// Bob's own message is confirmed when it comes back.
	if err := bg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	bm, _ := bg.FindMessages(ctx, &MessageQuery{Kind: KindApplication})
	if len(bm) != 4 || bm[3].Cursor == 0 {
		t.Fatalf("bob's messages = %d, last cursor %d", len(bm), bm[len(bm)-1].Cursor)
	}
	// Adding an unknown inbox fails with no key packages.
	if _, err := g.AddMembers(ctx, []identity.InboxID{"0000000000000000000000000000000000000000000000000000000000000000"}); !errors.Is(err, ErrNoKeyPackages) {
		t.Fatalf("add unknown inbox: %v", err)
	}
}

// startThreeClients starts a node with three registered Go clients,
// alice, bob and carol.
func startThreeClients(t *testing.T) (a, b, c *Client) {
	t.Helper()
	addr := startNode(t).Addr().String()
	a, _, _ = newTestClient(t, addr, "alice")
	b, _, _ = newTestClient(t, addr, "bob")
	c, _, _ = newTestClient(t, addr, "carol")
	return a, b, c
}

// TestSyncPagesAndOrder: more than two pages of messages arrive in order,
// with a commit in the middle of them.
func TestSyncPagesAndOrder(t *testing.T) {
	ctx := ctxT(t)
	a, b, c := startThreeClients(t)
	g, err := a.CreateGroup(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.AddMembers(ctx, []identity.InboxID{b.InboxID()}); err != nil {
		t.Fatal(err)
	}
	const total = 230
	for i := range total {
		if i == total/2 {
			if _, err := g.AddMembers(ctx, []identity.InboxID{c.InboxID()}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := g.SendText(ctx, fmt.Sprintf("m%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	joined, err := b.SyncWelcomes(ctx)
	if err != nil || len(joined) != 1 {
		t.Fatalf("welcomes: %v %v", joined, err)
	}
	if err := joined[0].Sync(ctx); err != nil {
		t.Fatal(err)
	}
	msgs, err := joined[0].FindMessages(ctx, &MessageQuery{Kind: KindApplication})
	if err != nil || len(msgs) != total {
		t.Fatalf("bob has %d messages (%v), want %d", len(msgs), err, total)
	}
	for i, m := range msgs {
		if text, _ := m.Text(); text != fmt.Sprintf("m%03d", i) {
			t.Fatalf("message %d = %q", i, text)
		}
	}
	// Carol joined at the commit's cursor: she sees only what came after.
	cj, err := c.SyncWelcomes(ctx)
	if err != nil || len(cj) != 1 {
		t.Fatalf("carol welcomes: %v %v", cj, err)
	}
	if err := cj[0].Sync(ctx); err != nil {
		t.Fatal(err)
	}
	cm, _ := cj[0].FindMessages(ctx, &MessageQuery{Kind: KindApplication})
	if len(cm) != total-total/2 {
		t.Fatalf("carol has %d messages, want %d", len(cm), total-total/2)
	}
}

// TestSendSurvivesNodeOutage: a message sent while the node is down stays
// unpublished with its ciphertext and state; PublishPending delivers it
// once the node is back, and the receiver reads it exactly once.
func TestSendSurvivesNodeOutage(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "node.db")
	ctx := ctxT(t)
	n, err := node.Start(ctx, node.Options{Listen: "127.0.0.1:0", Database: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	addr := n.Addr().String()
	a, _, _ := newTestClient(t, addr, "alice")
	b, _, _ := newTestClient(t, addr, "bob")
	g, err := a.CreateGroup(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.AddMembers(ctx, []identity.InboxID{b.InboxID()}); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if _, err := g.SendText(short, "while down"); err == nil {
		t.Fatal("send succeeded with the node down")
	}
	un, _ := g.FindMessages(ctx, &MessageQuery{DeliveryStatus: StatusUnpublished})
	if len(un) != 1 {
		t.Fatalf("%d unpublished messages, want 1", len(un))
	}
	n2, err := node.Start(ctx, node.Options{Listen: addr, Database: dbPath})
	if err != nil {
		t.Fatalf("restart node on %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = n2.Stop(context.Background()) })
	if err := a.PublishPending(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.PublishPending(ctx); err != nil { // nothing left: no duplicate
		t.Fatal(err)
	}
	joined, err := b.SyncWelcomes(ctx)
	if err != nil || len(joined) != 1 {
		t.Fatalf("welcomes: %v %v", joined, err)
	}
	if err := joined[0].Sync(ctx); err != nil {
		t.Fatal(err)
	}
	msgs, _ := joined[0].FindMessages(ctx, &MessageQuery{Kind: KindApplication})
	if len(msgs) != 1 {
		t.Fatalf("bob has %d messages, want 1", len(msgs))
	}
	if text, _ := msgs[0].Text(); text != "while down" || string(msgs[0].ID) != string(un[0].ID) {
		t.Fatalf("bob read %q id %s, want %s", text, msgs[0].ID, un[0].ID)
	}
}

// TestCrashBeforeCommitPublished: a commit stored as pending (the step
// before publishing) and then lost to a crash does not block the group:
// after a reopen the next membership change discards it and succeeds.
func TestCrashBeforeCommitPublished(t *testing.T) {
	n := startNode(t)
	addr := n.Addr().String()
	ctx := ctxT(t)
	a, w, aPath := newTestClient(t, addr, "alice")
	b, _, _ := newTestClient(t, addr, "bob")
	g, err := a.CreateGroup(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = a.withGroup(ctx, g.ID(), func(ctx context.Context, st *groupState) error {
		if _, err := st.mls.Commit(mls.CommitOptions{ForcePath: true}); err != nil {
			return err
		}
		return a.saveState(ctx, st, storage.GroupProgress{}) // then "crash": never published
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = a.Close()
	a = openTestClient(t, addr, w, aPath, "alice2")
	g, err = a.Group(ctx, g.ID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.AddMembers(ctx, []identity.InboxID{b.InboxID()}); err != nil {
		t.Fatalf("add after crash: %v", err)
	}
	joined, err := b.SyncWelcomes(ctx)
	if err != nil || len(joined) != 1 {
		t.Fatalf("welcomes: %v %v", joined, err)
	}
	if _, err := g.SendText(ctx, "after crash"); err != nil {
		t.Fatal(err)
	}
	if err := joined[0].Sync(ctx); err != nil {
		t.Fatal(err)
	}
	msgs, _ := joined[0].FindMessages(ctx, &MessageQuery{Kind: KindApplication})
	if len(msgs) != 1 {
		t.Fatalf("bob has %d messages", len(msgs))
	}
}
