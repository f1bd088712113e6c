package client

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"mlsbridge/identity"
)

// leaveGroupOf creates, as alice, a group with bob and carol and returns
// the three handles (alice's first).
func leaveGroupOf(t *testing.T, a, b, c *Client) (*Group, *Group, *Group) {
	t.Helper()
	g, res, err := a.CreateGroupWithMembers(ctxT(t), &GroupOptions{Name: "leavers"}, []identity.InboxID{b.InboxID(), c.InboxID()})
	if err != nil || len(res.Added) != 2 {
		t.Fatalf("create: %+v %v", res, err)
	}
	return g, joinOne(t, b), joinOne(t, c)
}

func mustSync(t *testing.T, gs ...*Group) {
	t.Helper()
	for _, g := range gs {
		if err := g.Sync(ctxT(t)); err != nil {
			t.Fatalf("sync: %v", err)
		}
	}
}

func pendingOf(t *testing.T, g *Group) []identity.InboxID {
	t.Helper()
	p, err := g.PendingRemovals(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func flagOf(t *testing.T, g *Group) bool {
	t.Helper()
	f, err := g.HasPendingLeaveRequest(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func infoOf(t *testing.T, g *Group) *GroupInfo {
	t.Helper()
	info, err := g.Info(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// TestLeaveGroupChecks: leave_group's refusals, in libxmtp's order and
// with its texts: the last member, a DM, a super admin, a non-member.
func TestLeaveGroupChecks(t *testing.T) {
	n := startNode(t)
	addr := n.Addr().String()
	ctx := ctxT(t)
	a, _, _ := newTestClient(t, addr, "alice")
	b, _, _ := newTestClient(t, addr, "bob")

	solo, err := a.CreateGroup(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := solo.LeaveGroup(ctx); !errors.Is(err, ErrLeaveSingleMember) {
		t.Fatalf("last member leaves: %v", err)
	}
	dm, _, err := a.FindOrCreateDM(ctx, b.InboxID())
	if err != nil {
		t.Fatal(err)
	}
	if err := dm.LeaveGroup(ctx); !errors.Is(err, ErrLeaveDM) {
		t.Fatalf("leave a DM: %v", err)
	}
	g, _, err := a.CreateGroupWithMembers(ctx, nil, []identity.InboxID{b.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.LeaveGroup(ctx); !errors.Is(err, ErrLeaveSuperAdmin) ||
		err.Error() != "client: super-admin cannot leave a group; must be demoted first" {
		t.Fatalf("super admin leaves: %v", err)
	}
	if _, err := b.SyncWelcomes(ctx); err != nil {
		t.Fatal(err)
	}
	bg, err := b.Group(ctx, g.ID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.RemoveMembers(ctx, []identity.InboxID{b.InboxID()}); err != nil {
		t.Fatal(err)
	}
	mustSync(t, bg)
	if err := bg.LeaveGroup(ctx); !errors.Is(err, ErrLeaveNotMember) {
		t.Fatalf("removed member leaves: %v", err)
	}
	msgs, err := bg.FindMessages(ctx, &MessageQuery{ContentTypes: []string{ContentTypeLeaveRequest.TypeID}})
	if err != nil || len(msgs) != 0 {
		t.Fatalf("refused leaves sent %d leave requests (%v)", len(msgs), err)
	}
}

// TestLeaveGroupSuperAdminRemoves: bob leaves; every member records him as
// pending; only alice, the super admin, is flagged and removes him, in
// one removal commit that every member records as bob having left.
func TestLeaveGroupSuperAdminRemoves(t *testing.T) {
	ctx := ctxT(t)
	a, b, c := startThreeClients(t)
	ag, bg, cg := leaveGroupOf(t, a, b, c)

	if err := bg.LeaveGroup(ctx); err != nil {
		t.Fatalf("LeaveGroup: %v", err)
	}
	info := infoOf(t, bg)
	if info.MembershipState != MembershipPendingRemove || !info.Active {
		t.Fatalf("bob after leaving: state %d active %v", info.MembershipState, info.Active)
	}
	if err := bg.LeaveGroup(ctx); err != nil {
		t.Fatalf("second LeaveGroup: %v", err)
	}
	reqs, err := bg.FindMessages(ctx, &MessageQuery{ContentTypes: []string{ContentTypeLeaveRequest.TypeID}})
	if err != nil || len(reqs) != 1 || reqs[0].DeliveryStatus != StatusPublished {
		t.Fatalf("bob's leave requests: %v (%v)", reqs, err)
	}
	if v, err := a.Codecs().DecodeMessage(&reqs[0]); err != nil || v.(*LeaveRequest).AuthenticatedNote != nil {
		t.Fatalf("leave request decodes to %#v, %v", v, err)
	}

	mustSync(t, ag, cg)
	want := []identity.InboxID{b.InboxID()}
	for name, g := range map[string]*Group{"alice": ag, "bob": bg, "carol": cg} {
		if got := pendingOf(t, g); !slices.Equal(got, want) {
			t.Errorf("%s pending removals = %v, want %v", name, got, want)
		}
	}
	if !flagOf(t, ag) || flagOf(t, cg) || flagOf(t, bg) {
		t.Fatalf("pending-leave flags: alice %v carol %v bob %v; want only alice", flagOf(t, ag), flagOf(t, cg), flagOf(t, bg))
	}
	if res, err := cg.RemoveMembersPendingRemoval(ctx); err != nil || res.CommitCursor != 0 {
		t.Fatalf("plain member processes removals: %+v %v", res, err)
	}

	if err := a.ProcessPendingLeaveRequests(ctx); err != nil {
		t.Fatalf("ProcessPendingLeaveRequests: %v", err)
	}
	if _, ok := infoOf(t, ag).Membership[b.InboxID()]; ok {
		t.Fatal("bob is still a member")
	}
	if flagOf(t, ag) || len(pendingOf(t, ag)) != 0 {
		t.Fatalf("alice after removal: flag %v pending %v", flagOf(t, ag), pendingOf(t, ag))
	}
	mustSync(t, bg, cg)
	if infoOf(t, bg).Active {
		t.Fatal("bob still active")
	}
	for name, g := range map[string]*Group{"alice": ag, "bob": bg, "carol": cg} {
		upd := lastUpdate(t, g)
		if len(upd.GetRemovedInboxes()) != 0 || len(upd.GetLeftInboxes()) != 1 || upd.GetLeftInboxes()[0].GetInboxId() != string(b.InboxID()) {
			t.Errorf("%s's record of bob leaving = %v", name, upd)
		}
		if len(pendingOf(t, g)) != 0 {
			t.Errorf("%s still lists %v as pending", name, pendingOf(t, g))
		}
	}
	if err := a.ProcessPendingLeaveRequests(ctx); err != nil {
		t.Fatalf("second ProcessPendingLeaveRequests: %v", err)
	}
}

// TestLeaveGroupPromotedSuperAdmin: a member who becomes super admin after
// a leave request is flagged then; cleanup drops inboxes already gone.
func TestLeaveGroupPromotedSuperAdmin(t *testing.T) {
	ctx := ctxT(t)
	a, b, c := startThreeClients(t)
	ag, bg, cg := leaveGroupOf(t, a, b, c)

	if err := bg.LeaveGroup(ctx); err != nil {
		t.Fatal(err)
	}
	mustSync(t, cg)
	if flagOf(t, cg) {
		t.Fatal("carol flagged before promotion")
	}
	mustSync(t, ag)
	if err := ag.AddSuperAdmin(ctx, c.InboxID()); err != nil {
		t.Fatal(err)
	}
	mustSync(t, cg)
	if !flagOf(t, cg) {
		t.Fatal("promoted carol not flagged")
	}
	if _, err := cg.RemoveMembersPendingRemoval(ctx); err != nil {
		t.Fatalf("carol removes bob: %v", err)
	}
	mustSync(t, ag)
	if err := ag.CleanupPendingRemovalList(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cg.CleanupPendingRemovalList(ctx); err != nil {
		t.Fatal(err)
	}
	if flagOf(t, cg) || flagOf(t, ag) || len(pendingOf(t, ag)) != 0 {
		t.Fatalf("after cleanup: flags %v %v pending %v", flagOf(t, ag), flagOf(t, cg), pendingOf(t, ag))
	}
	if err := cg.RemoveSuperAdmin(ctx, c.InboxID()); err != nil {
		t.Fatalf("carol steps down: %v", err)
	}
	if err := cg.LeaveGroup(ctx); err != nil {
		t.Fatalf("demoted carol leaves: %v", err)
	}
	mustSync(t, ag)
	if !flagOf(t, ag) || !slices.Equal(pendingOf(t, ag), []identity.InboxID{c.InboxID()}) {
		t.Fatalf("alice after carol's request: flag %v pending %v", flagOf(t, ag), pendingOf(t, ag))
	}
}

// TestLeaveWorker: with LeaveRequestInterval set, a super admin's client
// removes a member who asked to leave by itself once it has seen the
// request, as libxmtp's worker does.
func TestLeaveWorker(t *testing.T) {
	n := startNode(t)
	addr := n.Addr().String()
	ctx := ctxT(t)
	w, err := identity.GenerateEthereumSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(ctx, w, Options{NodeAddress: addr, DBPath: filepath.Join(t.TempDir(), "alice.db3"), Logger: testLogger(t, "alice"),
		LeaveRequestInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	if err := a.Register(ctx); err != nil {
		t.Fatal(err)
	}
	b, _, _ := newTestClient(t, addr, "bob")
	c, _, _ := newTestClient(t, addr, "carol")
	ag, bg, _ := leaveGroupOf(t, a, b, c)
	if err := bg.LeaveGroup(ctx); err != nil {
		t.Fatal(err)
	}
	mustSync(t, ag)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, ok := infoOf(t, ag).Membership[b.InboxID()]; !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the leave worker did not remove bob")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for flagOf(t, ag) {
		if time.Now().After(deadline) {
			t.Fatal("the leave worker did not clear the pending-leave flag")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}
