package client

import (
	"errors"
	"slices"
	"testing"

	"mlsbridge/identity"
	"mlsbridge/policy"
	"mlsbridge/wire/content"
)

func TestComputeDMID(t *testing.T) {
	a := identity.InboxID("BBBB")
	b := identity.InboxID("aaaa")
	if got, want := ComputeDMID(a, b), DMID("dm:aaaa:bbbb"); got != want || ComputeDMID(b, a) != want {
		t.Fatalf("ComputeDMID = %q, want %q both ways", got, want)
	}
}

// TestDM: FindOrCreateDM creates a DM once, the peer joins it and finds
// it, messages flow both ways, and the DM policy forbids adding members.
func TestDM(t *testing.T) {
	n := startNode(t)
	addr := n.Addr().String()
	ctx := ctxT(t)
	a, _, _ := newTestClient(t, addr, "alice")
	b, _, _ := newTestClient(t, addr, "bob")
	c, _, _ := newTestClient(t, addr, "carol")

	g, created, err := a.FindOrCreateDM(ctx, b.InboxID())
	if err != nil || !created {
		t.Fatalf("FindOrCreateDM = %v %v", created, err)
	}
	again, created, err := a.FindOrCreateDM(ctx, b.InboxID())
	if err != nil || created || again.ID().String() != g.ID().String() {
		t.Fatalf("second FindOrCreateDM = %v %v %v", again, created, err)
	}
	info, err := g.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if peer, ok := info.DMPeer(a.InboxID()); !ok || peer != b.InboxID() || info.ConversationType != content.ConversationType_CONVERSATION_TYPE_DM ||
		len(info.SuperAdmins) != 0 || !info.Permissions.Equal(policy.DM()) || info.Membership[a.InboxID()] == 0 {
		t.Fatalf("dm info = %+v", info)
	}
	if s, _ := g.ConsentState(ctx); s != ConsentAllowed {
		t.Fatalf("creator's consent = %v", s)
	}
	bg := joinOne(t, b)
	if found, err := b.FindDM(ctx, a.InboxID()); err != nil || found.ID().String() != g.ID().String() {
		t.Fatalf("bob FindDM = %v %v", found, err)
	}
	if found, created, err := b.FindOrCreateDM(ctx, a.InboxID()); err != nil || created || found.ID().String() != g.ID().String() {
		t.Fatalf("bob FindOrCreateDM = %v %v %v", found, created, err)
	}
	if _, err := bg.SendText(ctx, "hi alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.SendText(ctx, "hi bob"); err != nil {
		t.Fatal(err)
	}
	if err := bg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := appTexts(t, bg); !slices.Equal(got, []string{"hi alice", "hi bob"}) {
		t.Fatalf("bob read %v", got)
	}
	var denied *policy.DeniedError
	if _, err := g.AddMembers(ctx, []identity.InboxID{c.InboxID()}); !errors.As(err, &denied) {
		t.Fatalf("adding to a DM: %v", err)
	}
	if _, _, err := a.FindOrCreateDM(ctx, a.InboxID()); !errors.Is(err, ErrDMWithSelf) {
		t.Fatalf("DM with self: %v", err)
	}
	unknown := identity.InboxID("00000000000000000000000000000000000000000000000000000000000000aa")
	if _, _, err := a.FindOrCreateDM(ctx, unknown); !errors.Is(err, ErrNoKeyPackages) {
		t.Fatalf("DM with an unknown inbox: %v", err)
	}
	if _, err := a.FindDM(ctx, unknown); !errors.Is(err, ErrGroupNotFound) {
		t.Fatalf("failed DM kept: %v", err)
	}
}

// TestDMStitching: both sides create their DM at the same time; each ends
// with two groups of the same DMID, stitched: queries see both groups'
// messages, listings show one DM, FindDM picks the latest activity.
func TestDMStitching(t *testing.T) {
	n := startNode(t)
	addr := n.Addr().String()
	ctx := ctxT(t)
	a, _, _ := newTestClient(t, addr, "alice")
	b, _, _ := newTestClient(t, addr, "bob")
	ag, _, err := a.FindOrCreateDM(ctx, b.InboxID())
	if err != nil {
		t.Fatal(err)
	}
	bg, _, err := b.FindOrCreateDM(ctx, a.InboxID())
	if err != nil {
		t.Fatal(err)
	}
	if ag.ID().String() == bg.ID().String() {
		t.Fatal("both sides got the same group")
	}
	if _, err := ag.SendText(ctx, "from alice's dm"); err != nil {
		t.Fatal(err)
	}
	if _, err := bg.SendText(ctx, "from bob's dm"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Client{a, b} {
		if _, err := c.SyncAllWelcomesAndGroups(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	for name, c := range map[string]*Client{"alice": a, "bob": b} {
		peer := b.InboxID()
		if c == b {
			peer = a.InboxID()
		}
		dm, err := c.FindDM(ctx, peer)
		if err != nil {
			t.Fatal(err)
		}
		if dm.ID().String() != bg.ID().String() {
			t.Errorf("%s: FindDM = %s, want the latest active %s", name, dm.ID(), bg.ID())
		}
		msgs, err := dm.FindMessages(ctx, &MessageQuery{Kind: KindApplication})
		if err != nil {
			t.Fatal(err)
		}
		if got := texts(msgs); !slices.Equal(got, []string{"from alice's dm", "from bob's dm"}) {
			t.Errorf("%s: stitched messages = %v", name, got)
		}
		dups, err := dm.DuplicateDMs(ctx)
		if err != nil || len(dups) != 1 {
			t.Errorf("%s: duplicates = %v %v", name, dups, err)
		}
		list, err := c.ListConversations(ctx, &GroupQuery{ConversationType: content.ConversationType_CONVERSATION_TYPE_DM})
		if err != nil || len(list) != 1 || list[0].LastMessage == nil {
			t.Fatalf("%s: conversations = %+v %v", name, list, err)
		}
		if text, _ := list[0].LastMessage.Text(); text != "from bob's dm" {
			t.Errorf("%s: last message %q", name, text)
		}
		all, _ := c.FindGroups(ctx, &GroupQuery{IncludeDuplicateDMs: true})
		if len(all) != 2 {
			t.Errorf("%s: %d groups with duplicates, want 2", name, len(all))
		}
	}
	// Alice's DM consent comes from her own DM: the welcomed duplicate
	// takes it.
	welcomed, err := a.Group(ctx, bg.ID())
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := welcomed.ConsentState(ctx); s != ConsentAllowed {
		t.Errorf("stitched DM consent = %v, want allowed", s)
	}
}
