package client

import (
	"errors"
	"slices"
	"testing"
	"time"

	"mlsbridge/identity"
	"mlsbridge/policy"
)

// TestRemoveMembersAndReadd: the creator removes a member (every
// installation of the inbox); the removed member sees itself removed and
// can no longer send; the rest go on; the permissions refuse what libxmtp
// refuses; re-adding the member lets it back in.
func TestRemoveMembersAndReadd(t *testing.T) {
	n := startNode(t)
	addr := n.Addr().String()
	ctx := ctxT(t)
	a, _, _ := newTestClient(t, addr, "alice")
	b, bw, _ := newTestClient(t, addr, "bob")
	c, _, _ := newTestClient(t, addr, "carol")
	b2 := openTestClient(t, addr, bw, t.TempDir()+"/bob2.db3", "bob2")
	if err := b2.Register(ctx); err != nil {
		t.Fatal(err)
	}
	g, res, err := a.CreateGroupWithMembers(ctx, &GroupOptions{Name: "removals"}, []identity.InboxID{b.InboxID(), c.InboxID()})
	if err != nil || len(res.Added) != 2 {
		t.Fatalf("create: %+v %v", res, err)
	}
	bg, b2g, cg := joinOne(t, b), joinOne(t, b2), joinOne(t, c)

	res, err = g.RemoveMembers(ctx, []identity.InboxID{b.InboxID()})
	if err != nil || res.CommitCursor == 0 {
		t.Fatalf("RemoveMembers = %+v, %v", res, err)
	}
	members, err := g.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := memberInboxes(members); !slices.Equal(got, sortedInboxes(a.InboxID(), c.InboxID())) {
		t.Fatalf("members after removal = %v", got)
	}
	for _, rg := range []*Group{bg, b2g} {
		if err := rg.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		info, err := rg.Info(ctx)
		if err != nil || info.Active {
			t.Fatalf("removed installation still active: %+v %v", info, err)
		}
		if _, err := rg.SendText(ctx, "still here?"); !errors.Is(err, ErrInactiveGroup) {
			t.Fatalf("send after removal: %v", err)
		}
	}
	upd := lastUpdate(t, bg)
	if len(upd.GetRemovedInboxes()) != 1 || upd.GetRemovedInboxes()[0].GetInboxId() != string(b.InboxID()) ||
		upd.GetInitiatedByInboxId() != string(a.InboxID()) {
		t.Fatalf("bob's removal record = %v", upd)
	}
	if _, err := cg.SendText(ctx, "after bob left"); err != nil {
		t.Fatal(err)
	}
	if err := g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := appTexts(t, g); !slices.Equal(got, []string{"after bob left"}) {
		t.Fatalf("alice read %v", got)
	}

	// Refusals: nobody removes themselves, a plain member removes nobody
	// under the default policy, and a super admin is never removed.
	var denied *policy.DeniedError
	if _, err := g.RemoveMembers(ctx, []identity.InboxID{a.InboxID()}); !errors.As(err, &denied) {
		t.Fatalf("self removal: %v", err)
	}
	if _, err := cg.RemoveMembers(ctx, []identity.InboxID{a.InboxID()}); !errors.As(err, &denied) {
		t.Fatalf("member removes super admin: %v", err)
	}
	if res, err := g.RemoveMembers(ctx, []identity.InboxID{b.InboxID()}); err != nil || res.CommitCursor != 0 {
		t.Fatalf("removing a non-member: %+v %v", res, err)
	}

	// Bob is added again: his group comes back to life.
	if _, err := g.AddMembers(ctx, []identity.InboxID{b.InboxID()}); err != nil {
		t.Fatal(err)
	}
	back, err := b.SyncWelcomes(ctx)
	if err != nil || len(back) != 1 || back[0].ID().String() != g.ID().String() {
		t.Fatalf("re-add welcome: %v %v", back, err)
	}
	if _, err := bg.SendText(ctx, "bob is back"); err != nil {
		t.Fatalf("send after re-add: %v", err)
	}
	if err := cg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := appTexts(t, cg); !slices.Equal(got, []string{"after bob left", "bob is back"}) {
		t.Fatalf("carol read %v", got)
	}
}

// TestUpdateInstallations: a member's new installation is added by
// UpdateInstallations, and a revoked one is removed automatically before a
// send once five seconds have passed since the last check.
func TestUpdateInstallations(t *testing.T) {
	n := startNode(t)
	addr := n.Addr().String()
	ctx := ctxT(t)
	a, clk := newClockedClient(t, addr, "alice")
	b, bw, _ := newTestClient(t, addr, "bob")
	g, _, err := a.CreateGroupWithMembers(ctx, nil, []identity.InboxID{b.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	bg := joinOne(t, b)
	if res, err := g.UpdateInstallations(ctx); err != nil || res.CommitCursor != 0 {
		t.Fatalf("nothing to update: %+v %v", res, err)
	}

	b2 := openTestClient(t, addr, bw, t.TempDir()+"/bob2.db3", "bob2")
	if err := b2.Register(ctx); err != nil {
		t.Fatal(err)
	}
	// Within five seconds of the last check a send does not look.
	if _, err := g.SendText(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if got, _ := b2.SyncWelcomes(ctx); len(got) != 0 {
		t.Fatalf("bob2 welcomed before any installation update: %v", got)
	}
	res, err := g.UpdateInstallations(ctx)
	if err != nil || res.CommitCursor == 0 {
		t.Fatalf("UpdateInstallations = %+v, %v", res, err)
	}
	b2g := joinOne(t, b2)
	if _, err := g.SendText(ctx, "two"); err != nil {
		t.Fatal(err)
	}
	if err := b2g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := appTexts(t, b2g); !slices.Equal(got, []string{"two"}) {
		t.Fatalf("bob2 read %v", got)
	}
	members, _ := g.Members(ctx)
	if m := findMember(members, b.InboxID()); m == nil || len(m.Installations) != 2 {
		t.Fatalf("bob's member entry = %+v", m)
	}

	if _, err := b.RevokeInstallations(ctx, []identity.InstallationID{b2.InstallationID()}); err != nil {
		t.Fatal(err)
	}
	clk.advance(6 * time.Second)
	if _, err := g.SendText(ctx, "three"); err != nil {
		t.Fatal(err)
	}
	if err := b2g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if info, _ := b2g.Info(ctx); info.Active {
		t.Fatal("revoked installation still in the group after a send")
	}
	if err := bg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := appTexts(t, bg); !slices.Equal(got, []string{"one", "two", "three"}) {
		t.Fatalf("bob read %v", got)
	}
	members, _ = g.Members(ctx)
	if m := findMember(members, b.InboxID()); m == nil || len(m.Installations) != 1 || m.Installations[0] != b.InstallationID() {
		t.Fatalf("bob's member entry after revocation = %+v", m)
	}
}

// TestMembersAndMetadata: permission levels come from the admin lists;
// metadata and permissions are readable.
func TestMembersAndMetadata(t *testing.T) {
	n := startNode(t)
	addr := n.Addr().String()
	ctx := ctxT(t)
	a, aw, _ := newTestClient(t, addr, "alice")
	b, _, _ := newTestClient(t, addr, "bob")
	_, _, err := a.CreateGroupWithMembers(ctx, &GroupOptions{Name: "meta", Description: "d", ImageURLSquare: "https://x/y.png", AppData: "app"},
		[]identity.InboxID{b.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	bg := joinOne(t, b)
	info, err := bg.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name() != "meta" || info.Description() != "d" || info.ImageURLSquare() != "https://x/y.png" || info.AppData() != "app" ||
		info.CreatorInboxID != a.InboxID() || info.AddedByInboxID != a.InboxID() || info.MembershipState != MembershipPending {
		t.Fatalf("info = %+v", info)
	}
	if !info.Permissions.Equal(policy.Default()) {
		t.Fatalf("permissions = %v", info.Permissions)
	}
	if _, ok := info.DMPeer(b.InboxID()); ok {
		t.Fatal("a group has a DM peer")
	}
	members, err := bg.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	am, bm := findMember(members, a.InboxID()), findMember(members, b.InboxID())
	if am == nil || am.PermissionLevel != PermissionSuperAdmin || bm == nil || bm.PermissionLevel != PermissionMember {
		t.Fatalf("members = %+v", members)
	}
	if len(am.Addresses) != 1 || am.Addresses[0] != aw.Address() || len(am.Installations) != 1 || am.Installations[0] != a.InstallationID() {
		t.Fatalf("alice's entry = %+v", am)
	}
}

func TestGroupSizeLimit(t *testing.T) {
	if err := checkGroupSize(200, 50); err != nil {
		t.Fatalf("250 inboxes refused: %v", err)
	}
	if err := checkGroupSize(200, 51); !errors.Is(err, ErrGroupFull) {
		t.Fatalf("251 inboxes: %v", err)
	}
}

func memberInboxes(ms []Member) []identity.InboxID {
	out := make([]identity.InboxID, len(ms))
	for i, m := range ms {
		out[i] = m.InboxID
	}
	return out
}

func sortedInboxes(ids ...identity.InboxID) []identity.InboxID {
	slices.Sort(ids)
	return ids
}

func findMember(ms []Member, id identity.InboxID) *Member {
	for i := range ms {
		if ms[i].InboxID == id {
			return &ms[i]
		}
	}
	return nil
}
