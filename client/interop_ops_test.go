package client

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"mlsbridge/identity"
	"mlsbridge/internal/interoptest"
	"mlsbridge/policy"
	"mlsbridge/wire/content"
)

// The interop scenarios of TestInterop beyond joining: each operation is
// done by one side and checked on the other, in both directions.

func inboxOf(res map[string]any) identity.InboxID { return identity.InboxID(res["inboxId"].(string)) }

// peerMemberInstallations returns, per inbox, the installations libxmtp
// lists for a group.
func peerMemberInstallations(t *testing.T, p *interoptest.Peer, client, group string) map[identity.InboxID][]string {
	t.Helper()
	p.Call(t, map[string]any{"op": "syncGroup", "client": client, "group": group})
	res := p.Call(t, map[string]any{"op": "members", "client": client, "group": group})
	out := map[identity.InboxID][]string{}
	for _, m := range res["members"].([]any) {
		mm := m.(map[string]any)
		var ids []string
		for _, id := range mm["installationIds"].([]any) {
			ids = append(ids, id.(string))
		}
		sort.Strings(ids)
		out[identity.InboxID(mm["inboxId"].(string))] = ids
	}
	return out
}

func peerGroupInfo(t *testing.T, p *interoptest.Peer, client, group string) map[string]any {
	t.Helper()
	return p.Call(t, map[string]any{"op": "groupInfo", "client": client, "group": group, "sync": true})
}

func waitPeerText(t *testing.T, p *interoptest.Peer, client, group, text string) map[string]any {
	t.Helper()
	res := p.Call(t, map[string]any{"op": "waitMessage", "client": client, "group": group, "text": text, "timeoutMs": 30000})
	return res["message"].(map[string]any)
}

// interopGoRemovesLibxmtp: Go removes a libxmtp member; libxmtp sees
// itself removed, the other libxmtp member sees the removal and goes on.
func interopGoRemovesLibxmtp(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	rm, stay := env.libxmtp(t, "rm-carol", ""), env.libxmtp(t, "rm-dan", "")
	g1, _, _ := newTestClient(t, env.node.addr, "rm-go")
	g, res, err := g1.CreateGroupWithMembers(ctx, &GroupOptions{Name: "go removes"}, []identity.InboxID{inboxOf(rm), inboxOf(stay)})
	if err != nil || len(res.Added) != 2 {
		t.Fatalf("create: %+v %v", res, err)
	}
	gid := g.ID().String()
	if _, err := g.SendText(ctx, "before"); err != nil {
		t.Fatal(err)
	}
	waitPeerText(t, p, "rm-carol", gid, "before")
	waitPeerText(t, p, "rm-dan", gid, "before")
	if _, err := g.RemoveMembers(ctx, []identity.InboxID{inboxOf(rm)}); err != nil {
		t.Fatalf("go removes libxmtp: %v", err)
	}
	if info := peerGroupInfo(t, p, "rm-carol", gid); info["isActive"] != false {
		t.Fatalf("removed libxmtp member still active: %v", info)
	}
	members := peerMemberInstallations(t, p, "rm-dan", gid)
	if _, ok := members[inboxOf(rm)]; ok || len(members) != 2 {
		t.Fatalf("libxmtp still lists the removed member: %v", members)
	}
	if _, err := g.SendText(ctx, "after"); err != nil {
		t.Fatal(err)
	}
	waitPeerText(t, p, "rm-dan", gid, "after")
	p.Call(t, map[string]any{"op": "send", "client": "rm-dan", "group": gid, "text": "dan answers"})
	if err := g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := appTexts(t, g); !slices.Equal(got, []string{"before", "after", "dan answers"}) {
		t.Fatalf("go read %v", got)
	}
}

// interopLibxmtpRemovesGo: libxmtp removes our Go member; Go sees itself
// removed (inactive, a removal record, sends refused); libxmtp adds it
// again and Go is back.
func interopLibxmtpRemovesGo(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	alice := env.libxmtp(t, "rg-alice", "")
	bob, _, _ := newTestClient(t, env.node.addr, "rg-bob")
	carol, _, _ := newTestClient(t, env.node.addr, "rg-carol")
	gid := p.Call(t, map[string]any{"op": "newGroup", "client": "rg-alice", "members": []string{string(bob.InboxID()), string(carol.InboxID())},
		"name": "libxmtp removes"})["group"].(string)
	bg, cg := joinOne(t, bob), joinOne(t, carol)
	p.Call(t, map[string]any{"op": "removeMembers", "client": "rg-alice", "group": gid, "members": []string{string(bob.InboxID())}})
	if err := bg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if info, _ := bg.Info(ctx); info.Active {
		t.Fatal("go member removed by libxmtp is still active")
	}
	if upd := lastUpdate(t, bg); len(upd.GetRemovedInboxes()) != 1 || upd.GetInitiatedByInboxId() != string(inboxOf(alice)) {
		t.Fatalf("removal record = %v", upd)
	}
	if _, err := bg.SendText(ctx, "still here?"); err == nil {
		t.Fatal("removed go member could send")
	}
	if err := cg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if ms, _ := cg.Members(ctx); len(ms) != 2 {
		t.Fatalf("carol sees %d members, want 2", len(ms))
	}
	p.Call(t, map[string]any{"op": "addMembers", "client": "rg-alice", "group": gid, "members": []string{string(bob.InboxID())}})
	back, err := bob.SyncWelcomes(ctx)
	if err != nil || len(back) != 1 || back[0].ID().String() != gid {
		t.Fatalf("re-add: %v %v", back, err)
	}
	if _, err := bg.SendText(ctx, "bob is back"); err != nil {
		t.Fatal(err)
	}
	waitPeerText(t, p, "rg-alice", gid, "bob is back")
}

// interopGoUpdatesInstallations: a libxmtp member gets a second
// installation; Go's UpdateInstallations adds it (libxmtp's new
// installation joins and reads); the installation is revoked and Go's next
// send, five seconds later, removes it; libxmtp accepts both commits.
func interopGoUpdatesInstallations(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	carol := env.libxmtp(t, "ui-carol", "")
	goc, clk := newClockedClient(t, env.node.addr, "ui-go")
	g, _, err := goc.CreateGroupWithMembers(ctx, &GroupOptions{Name: "installations"}, []identity.InboxID{inboxOf(carol)})
	if err != nil {
		t.Fatal(err)
	}
	gid := g.ID().String()
	carol2 := env.libxmtp(t, "ui-carol2", carol["privateKey"].(string))
	if inboxOf(carol2) != inboxOf(carol) {
		t.Fatalf("second installation joined inbox %s, want %s", inboxOf(carol2), inboxOf(carol))
	}
	res, err := g.UpdateInstallations(ctx)
	if err != nil || res.CommitCursor == 0 {
		t.Fatalf("UpdateInstallations = %+v %v", res, err)
	}
	if _, err := g.SendText(ctx, "to both installations"); err != nil {
		t.Fatal(err)
	}
	waitPeerText(t, p, "ui-carol2", gid, "to both installations")
	waitPeerText(t, p, "ui-carol", gid, "to both installations")
	if got := peerMemberInstallations(t, p, "ui-carol", gid)[inboxOf(carol)]; len(got) != 2 {
		t.Fatalf("libxmtp lists carol's installations %v, want 2", got)
	}

	p.Call(t, map[string]any{"op": "revokeInstallations", "client": "ui-carol", "installationIds": []string{carol2["installationId"].(string)}})
	clk.advance(6 * time.Second)
	if _, err := g.SendText(ctx, "after revocation"); err != nil {
		t.Fatal(err)
	}
	waitPeerText(t, p, "ui-carol", gid, "after revocation")
	if got := peerMemberInstallations(t, p, "ui-carol", gid)[inboxOf(carol)]; !slices.Equal(got, []string{carol["installationId"].(string)}) {
		t.Fatalf("libxmtp lists carol's installations %v after the revocation", got)
	}
	ms, _ := g.Members(ctx)
	if m := findMember(ms, inboxOf(carol)); m == nil || len(m.Installations) != 1 {
		t.Fatalf("go lists carol as %+v", m)
	}
	p.Call(t, map[string]any{"op": "send", "client": "ui-carol", "group": gid, "text": "carol after"})
	if err := g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := appTexts(t, g); got[len(got)-1] != "carol after" {
		t.Fatalf("go read %v", got)
	}
}

// interopLibxmtpUpdatesInstallations: our Go member gets a second
// installation; libxmtp's next membership commit adds it (Go's second
// installation joins and reads); after Go revokes it, libxmtp's next one
// removes it, and our first installation accepts both commits.
func interopLibxmtpUpdatesInstallations(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	env.libxmtp(t, "li-alice", "")
	frank, gina := env.libxmtp(t, "li-frank", ""), env.libxmtp(t, "li-gina", "")
	bob, bw, _ := newTestClient(t, env.node.addr, "li-bob")
	gid := p.Call(t, map[string]any{"op": "newGroup", "client": "li-alice", "members": []string{string(bob.InboxID())}, "name": "li"})["group"].(string)
	bg := joinOne(t, bob)
	bob2 := openTestClient(t, env.node.addr, bw, t.TempDir()+"/li-bob2.db3", "li-bob2")
	if err := bob2.Register(ctx); err != nil {
		t.Fatal(err)
	}
	p.Call(t, map[string]any{"op": "addMembers", "client": "li-alice", "group": gid, "members": []string{string(inboxOf(frank))}})
	b2g := joinOne(t, bob2)
	p.Call(t, map[string]any{"op": "send", "client": "li-alice", "group": gid, "text": "hello both bobs"})
	for _, g := range []*Group{bg, b2g} {
		if err := g.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if got := appTexts(t, g); !slices.Equal(got, []string{"hello both bobs"}) {
			t.Fatalf("bob's installation read %v", got)
		}
	}
	if _, err := bob.RevokeInstallations(ctx, []identity.InstallationID{bob2.InstallationID()}); err != nil {
		t.Fatal(err)
	}
	p.Call(t, map[string]any{"op": "addMembers", "client": "li-alice", "group": gid, "members": []string{string(inboxOf(gina))}})
	if got := peerMemberInstallations(t, p, "li-alice", gid)[bob.InboxID()]; len(got) != 1 {
		t.Fatalf("libxmtp kept bob's revoked installation: %v", got)
	}
	if err := b2g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if info, _ := b2g.Info(ctx); info.Active {
		t.Fatal("revoked go installation still active")
	}
	p.Call(t, map[string]any{"op": "send", "client": "li-alice", "group": gid, "text": "only bob one"})
	if err := bg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := appTexts(t, bg); !slices.Equal(got, []string{"hello both bobs", "only bob one"}) {
		t.Fatalf("bob read %v", got)
	}
	if ms, _ := bg.Members(ctx); len(ms) != 4 {
		t.Fatalf("bob sees %d members, want 4", len(ms))
	}
}

// interopMembersAndMetadata: permission levels and metadata agree both
// ways: libxmtp's admin-only group with name, description, image and app
// data as Go reads it, with an admin added by libxmtp; Go's group as
// libxmtp reads it.
func interopMembersAndMetadata(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	alice := env.libxmtp(t, "mm-alice", "")
	bob, _, _ := newTestClient(t, env.node.addr, "mm-bob")
	gid := p.Call(t, map[string]any{"op": "newGroup", "client": "mm-alice", "members": []string{string(bob.InboxID())}, "name": "meta",
		"description": "described", "imageUrl": "https://example.com/i.png", "appData": "app-data", "permissions": "adminOnly"})["group"].(string)
	p.Call(t, map[string]any{"op": "addAdmin", "client": "mm-alice", "group": gid, "inbox": string(bob.InboxID())})
	bg := joinOne(t, bob)
	if err := bg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := bg.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name() != "meta" || info.Description() != "described" || info.ImageURLSquare() != "https://example.com/i.png" ||
		info.AppData() != "app-data" || info.CreatorInboxID != inboxOf(alice) || info.AddedByInboxID != inboxOf(alice) ||
		info.ConversationType != content.ConversationType_CONVERSATION_TYPE_GROUP {
		t.Fatalf("go reads libxmtp's group as %+v", info)
	}
	if !info.Permissions.Equal(policy.AdminsOnly()) {
		t.Fatalf("permissions = %v, want admins only", info.Permissions)
	}
	ms, err := bg.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	am, bm := findMember(ms, inboxOf(alice)), findMember(ms, bob.InboxID())
	if am == nil || am.PermissionLevel != PermissionSuperAdmin || bm == nil || bm.PermissionLevel != PermissionAdmin ||
		len(am.Addresses) != 1 || string(am.Addresses[0]) != alice["address"] {
		t.Fatalf("go lists %+v", ms)
	}
	if upd := lastUpdate(t, bg); len(upd.GetAddedAdminInboxes()) != 1 || upd.GetAddedAdminInboxes()[0].GetInboxId() != string(bob.InboxID()) {
		t.Fatalf("admin record = %v", upd)
	}

	// Go's group as libxmtp lists it.
	g, _, err := bob.CreateGroupWithMembers(ctx, &GroupOptions{Name: "go meta", AppData: "x"}, []identity.InboxID{inboxOf(alice)})
	if err != nil {
		t.Fatal(err)
	}
	p.Call(t, map[string]any{"op": "sync", "client": "mm-alice"})
	res := p.Call(t, map[string]any{"op": "members", "client": "mm-alice", "group": g.ID().String()})
	levels := map[string]string{}
	for _, m := range res["members"].([]any) {
		mm := m.(map[string]any)
		levels[mm["inboxId"].(string)] = mm["permissionLevel"].(string)
	}
	if levels[string(bob.InboxID())] != "superAdmin" || levels[string(inboxOf(alice))] != "member" {
		t.Fatalf("libxmtp lists levels %v", levels)
	}
	gi := peerGroupInfo(t, p, "mm-alice", g.ID().String())
	if gi["appData"] != "x" || gi["addedBy"] != string(bob.InboxID()) {
		t.Fatalf("libxmtp group info %v", gi)
	}
	if perm := p.Call(t, map[string]any{"op": "permissions", "client": "mm-alice", "group": g.ID().String()}); perm["policyType"] != "default" {
		t.Fatalf("libxmtp reads go's permissions as %v", perm)
	}
}

// interopGoCreatesDM: Go's FindOrCreateDM makes a DM libxmtp finds as its
// DM with us; messages go both ways.
func interopGoCreatesDM(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	carol := env.libxmtp(t, "dm-carol", "")
	dave, _, _ := newTestClient(t, env.node.addr, "dm-dave")
	dm, created, err := dave.FindOrCreateDM(ctx, inboxOf(carol))
	if err != nil || !created {
		t.Fatalf("FindOrCreateDM = %v %v", created, err)
	}
	if _, err := dm.SendText(ctx, "dm from go"); err != nil {
		t.Fatal(err)
	}
	p.Call(t, map[string]any{"op": "sync", "client": "dm-carol"})
	found := p.Call(t, map[string]any{"op": "dm", "client": "dm-carol", "inbox": string(dave.InboxID())})
	if found["created"] != false || found["group"] != dm.ID().String() {
		t.Fatalf("libxmtp's dm with go = %v, want %s", found, dm.ID())
	}
	if info := peerGroupInfo(t, p, "dm-carol", dm.ID().String()); info["type"] != "dm" {
		t.Fatalf("libxmtp sees %v", info)
	}
	waitPeerText(t, p, "dm-carol", dm.ID().String(), "dm from go")
	p.Call(t, map[string]any{"op": "send", "client": "dm-carol", "group": dm.ID().String(), "text": "dm from libxmtp"})
	if err := dm.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := appTexts(t, dm); !slices.Equal(got, []string{"dm from go", "dm from libxmtp"}) {
		t.Fatalf("go read %v", got)
	}
}

// interopLibxmtpCreatesDM: libxmtp's DM with us is found by Go's
// FindOrCreateDM (no second DM), with libxmtp's DM metadata and policies.
func interopLibxmtpCreatesDM(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	alice := env.libxmtp(t, "dl-alice", "")
	bob, _, _ := newTestClient(t, env.node.addr, "dl-bob")
	gid := p.Call(t, map[string]any{"op": "dm", "client": "dl-alice", "inbox": string(bob.InboxID())})["group"].(string)
	p.Call(t, map[string]any{"op": "send", "client": "dl-alice", "group": gid, "text": "dm from libxmtp"})
	if _, err := bob.SyncAllWelcomesAndGroups(ctx, nil); err != nil {
		t.Fatal(err)
	}
	dm, created, err := bob.FindOrCreateDM(ctx, inboxOf(alice))
	if err != nil || created || dm.ID().String() != gid {
		t.Fatalf("go FindOrCreateDM = %v %v %v, want libxmtp's %s", dm, created, err, gid)
	}
	info, err := dm.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if peer, ok := info.DMPeer(bob.InboxID()); !ok || peer != inboxOf(alice) || !info.Permissions.Equal(policy.DM()) {
		t.Fatalf("dm info = %+v", info)
	}
	if got := appTexts(t, dm); !slices.Equal(got, []string{"dm from libxmtp"}) {
		t.Fatalf("go read %v", got)
	}
	if _, err := dm.SendText(ctx, "dm reply from go"); err != nil {
		t.Fatal(err)
	}
	waitPeerText(t, p, "dl-alice", gid, "dm reply from go")
}

// interopDuplicateDMs: Go and libxmtp create their DMs at the same time;
// each side stitches the two groups: both messages in one conversation.
func interopDuplicateDMs(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	gina := env.libxmtp(t, "dd-gina", "")
	erin, _, _ := newTestClient(t, env.node.addr, "dd-erin")
	goDM, _, err := erin.FindOrCreateDM(ctx, inboxOf(gina))
	if err != nil {
		t.Fatal(err)
	}
	libDM := p.Call(t, map[string]any{"op": "dm", "client": "dd-gina", "inbox": string(erin.InboxID())})
	if libDM["created"] != true || libDM["group"] == goDM.ID().String() {
		t.Fatalf("libxmtp's dm = %v", libDM)
	}
	if _, err := goDM.SendText(ctx, "in go's dm"); err != nil {
		t.Fatal(err)
	}
	p.Call(t, map[string]any{"op": "send", "client": "dd-gina", "group": libDM["group"], "text": "in libxmtp's dm"})
	if _, err := erin.SyncAllWelcomesAndGroups(ctx, nil); err != nil {
		t.Fatal(err)
	}
	p.Call(t, map[string]any{"op": "syncAll", "client": "dd-gina"})
	dm, err := erin.FindDM(ctx, inboxOf(gina))
	if err != nil {
		t.Fatal(err)
	}
	if dm.ID().String() != libDM["group"] {
		t.Errorf("go picks %s, want the latest active %v", dm.ID(), libDM["group"])
	}
	want := []string{"in go's dm", "in libxmtp's dm"}
	if got := appTexts(t, dm); !slices.Equal(got, want) {
		t.Fatalf("go's stitched DM = %v", got)
	}
	var libTexts []string
	for _, m := range peerMessages(t, p, "dd-gina", libDM["group"].(string)) {
		libTexts = append(libTexts, m["text"].(string))
	}
	if !slices.Equal(libTexts, want) {
		t.Fatalf("libxmtp's stitched DM = %v", libTexts)
	}
	list, err := erin.ListConversations(ctx, &GroupQuery{ConversationType: content.ConversationType_CONVERSATION_TYPE_DM})
	if err != nil || len(list) != 1 {
		t.Fatalf("go lists %d DMs (%v), want 1", len(list), err)
	}
	if dups, _ := dm.DuplicateDMs(ctx); len(dups) != 1 || dups[0].ID().String() != goDM.ID().String() {
		t.Fatalf("duplicates = %v", dups)
	}
}

// interopSyncAllWithConsent: of two libxmtp groups Go joined, the one Go
// denied is left out of SyncAllWelcomesAndGroups unless asked for.
func interopSyncAllWithConsent(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	env.libxmtp(t, "sa-alice", "")
	bob, _, _ := newTestClient(t, env.node.addr, "sa-bob")
	var gids []string
	for i := range 2 {
		gids = append(gids, p.Call(t, map[string]any{"op": "newGroup", "client": "sa-alice", "members": []string{string(bob.InboxID())},
			"name": fmt.Sprintf("consent %d", i)})["group"].(string))
	}
	sum, err := bob.SyncAllWelcomesAndGroups(ctx, nil)
	if err != nil || len(sum.Joined) != 2 || sum.NumEligible != 2 {
		t.Fatalf("SyncAll = %+v %v", sum, err)
	}
	denied, _ := bob.Group(ctx, GroupID(mustHex(t, gids[1])))
	if err := denied.UpdateConsentState(ctx, ConsentDenied); err != nil {
		t.Fatal(err)
	}
	for _, gid := range gids {
		p.Call(t, map[string]any{"op": "send", "client": "sa-alice", "group": gid, "text": "news"})
	}
	if sum, err := bob.SyncAllWelcomesAndGroups(ctx, nil); err != nil || sum.NumEligible != 1 || sum.NumSynced != 1 {
		t.Fatalf("SyncAll (default consent) = %+v %v", sum, err)
	}
	if got := appTexts(t, denied); len(got) != 0 {
		t.Fatalf("denied group was synced: %v", got)
	}
	if sum, err := bob.SyncAllWelcomesAndGroups(ctx, []ConsentState{ConsentDenied}); err != nil || sum.NumEligible != 1 {
		t.Fatalf("SyncAll (denied) = %+v %v", sum, err)
	}
	if got := appTexts(t, denied); !slices.Equal(got, []string{"news"}) {
		t.Fatalf("denied group after an explicit sync: %v", got)
	}
	list, err := bob.ListConversations(ctx, nil)
	if err != nil || len(list) != 1 || list[0].LastMessage == nil {
		t.Fatalf("ListConversations = %+v %v", list, err)
	}
	if text, _ := list[0].LastMessage.Text(); text != "news" || list[0].LastMessage.SenderInboxID == bob.InboxID() {
		t.Fatalf("last message %+v", list[0].LastMessage)
	}
}

// interopIntents: an optimistic message reaches libxmtp once published; a
// welcome owed by a commit published just before a crash reaches libxmtp
// after the reopen, with the cursor libxmtp needs to read what follows.
func interopIntents(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	carol := env.libxmtp(t, "in-carol", "")
	w, err := identity.GenerateEthereumSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/in-go.db3"
	goc := openTestClient(t, env.node.addr, w, path, "in-go")
	if err := goc.Register(ctx); err != nil {
		t.Fatal(err)
	}
	g, err := goc.CreateGroup(ctx, &GroupOptions{Name: "crash"})
	if err != nil {
		t.Fatal(err)
	}
	crashAfterStaging(t, goc, g, []identity.InboxID{inboxOf(carol)}, true)
	_ = goc.Close()
	goc = openTestClient(t, env.node.addr, w, path, "in-go2")
	if err := goc.PublishPending(ctx); err != nil {
		t.Fatal(err)
	}
	g, _ = goc.Group(ctx, g.ID())
	id, err := g.SendMessageOptimistic(ctx, EncodeText("optimistic"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.PublishMessages(ctx); err != nil {
		t.Fatal(err)
	}
	if m := waitPeerText(t, p, "in-carol", g.ID().String(), "optimistic"); m["id"] != id.String() {
		t.Fatalf("libxmtp got %v, want id %s", m, id)
	}
	// libxmtp joined at the adding commit: its group is in Go's epoch.
	p.Call(t, map[string]any{"op": "send", "client": "in-carol", "group": g.ID().String(), "text": "carol joined"})
	if err := g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := appTexts(t, g); !slices.Equal(got, []string{"optimistic", "carol joined"}) {
		t.Fatalf("go read %v", got)
	}
}

// interopStreams: Go streams (one group, all conversations, new
// conversations) receive libxmtp's group and messages, across a node
// restart, each message once; libxmtp's stream receives Go's messages.
func interopStreams(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	env.libxmtp(t, "st-alice", "")
	bob, _, _ := newTestClient(t, env.node.addr, "st-bob")
	convs, err := bob.StreamConversations(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer convs.Close()
	all, err := bob.StreamAllMessages(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	gid := p.Call(t, map[string]any{"op": "newGroup", "client": "st-alice", "members": []string{string(bob.InboxID())}, "name": "streams"})["group"].(string)
	if got := nextN(t, convs, 1, 30*time.Second)[0]; got.ID().String() != gid {
		t.Fatalf("streamed conversation %s, want %s", got.ID(), gid)
	}
	bg, err := bob.Group(ctx, GroupID(mustHex(t, gid)))
	if err != nil {
		t.Fatal(err)
	}
	gs, err := bg.Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer gs.Close()
	p.Call(t, map[string]any{"op": "stream", "client": "st-alice", "group": gid})
	if _, err := bg.SendText(ctx, "go to libxmtp's stream"); err != nil {
		t.Fatal(err)
	}
	if res := p.Call(t, map[string]any{"op": "waitMessage", "client": "st-alice", "group": gid, "text": "go to libxmtp's stream",
		"viaStream": true, "timeoutMs": 30000}); res["via"] != "stream" {
		t.Fatalf("libxmtp got it via %v", res["via"])
	}
	var want []string
	send := func(from, to int) {
		for i := from; i < to; i++ {
			text := fmt.Sprintf("l%d", i)
			p.Call(t, map[string]any{"op": "send", "client": "st-alice", "group": gid, "text": text})
			want = append(want, text)
		}
	}
	send(0, 3)
	env.node.restart()
	send(3, 6)
	got := texts(nextApp(t, gs, 7, 60*time.Second))
	if !slices.Equal(got, append([]string{"go to libxmtp's stream"}, want...)) {
		t.Fatalf("group stream = %v", got)
	}
	got = texts(nextApp(t, all, 7, 60*time.Second))
	if !slices.Equal(got, append([]string{"go to libxmtp's stream"}, want...)) {
		t.Fatalf("all-messages stream = %v", got)
	}
	send(6, 7)
	if got := texts(nextApp(t, gs, 1, 30*time.Second)); !slices.Equal(got, []string{"l6"}) {
		t.Fatalf("after the restart the stream gave %v, want l6 (nothing repeated)", got)
	}
}
