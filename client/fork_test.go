package client

import (
	"crypto/ed25519"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"mlsbridge/identity"
	"mlsbridge/internal/interoptest"
	"mlsbridge/storage"
	"mlsbridge/wire/association"
	"mlsbridge/wire/content"
)

// copyDB copies a closed client database (with any WAL files) from src to
// dst.
func copyDB(t *testing.T, src, dst string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(dst + suffix)
		in, err := os.Open(src + suffix)
		if errors.Is(err, os.ErrNotExist) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(dst + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		_ = in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func checkForks(t *testing.T, cs ...*Client) {
	t.Helper()
	for _, c := range cs {
		if err := c.CheckForks(ctxT(t)); err != nil {
			t.Fatalf("%s: CheckForks: %v", c.InboxID(), err)
		}
	}
}

func forkState(t *testing.T, g *Group) ForkState {
	t.Helper()
	fs, err := g.ForkState(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return *fs
}

// TestForkDetectAndRecover: a Go member whose database is rolled back to
// an old copy, from before a commit of its own, is stuck in an old epoch:
// the commit logs show the fork (and a message of a later epoch flags it),
// a super admin re-adds the installation, and messages flow again both
// ways.
func TestForkDetectAndRecover(t *testing.T) {
	ctx := ctxT(t)
	n := startNode(t)
	addr := n.Addr().String()
	alice, _, _ := newTestClient(t, addr, "alice")
	bob, bw, bobPath := newTestClient(t, addr, "bob")
	carol, _, _ := newTestClient(t, addr, "carol")
	dan, _, _ := newTestClient(t, addr, "dan")

	g, _, err := alice.CreateGroupWithMembers(ctx, &GroupOptions{Name: "fork"}, []identity.InboxID{bob.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	bg := joinOne(t, bob)
	if _, err := g.AddMembers(ctx, []identity.InboxID{carol.InboxID()}); err != nil {
		t.Fatal(err)
	}
	cg := joinOne(t, carol)
	syncGroup(t, bg)
	checkForks(t, alice, bob)
	if fs := forkState(t, bg); fs.CommitLog != ForkNone || fs.Forked() {
		t.Fatalf("healthy group: %+v", fs)
	}

	// Bob's database is copied, bob commits, then the copy is restored.
	if err := bob.Close(); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "bob-backup.db3")
	copyDB(t, bobPath, backup)
	bob = openTestClient(t, addr, bw, bobPath, "bob")
	bg, _ = bob.Group(ctx, g.ID())
	if _, err := bg.AddMembers(ctx, []identity.InboxID{dan.InboxID()}); err != nil {
		t.Fatal(err)
	}
	if err := bob.Close(); err != nil {
		t.Fatal(err)
	}
	copyDB(t, backup, bobPath)
	bob = openTestClient(t, addr, bw, bobPath, "bob")
	bg, _ = bob.Group(ctx, g.ID())

	syncGroup(t, g)
	if _, err := g.SendText(ctx, "lost on bob"); err != nil {
		t.Fatal(err)
	}
	syncGroup(t, bg)
	if got := appTexts(t, bg); len(got) != 0 {
		t.Fatalf("forked bob read %v", got)
	}
	// The commit-log verdict is the one of the last check (restored too).
	if fs := forkState(t, bg); !fs.MaybeForked || !fs.Forked() || fs.CommitLog != ForkNone {
		t.Fatalf("after a message of a later epoch: %+v", fs)
	}
	checkForks(t, alice, bob)
	if fs := forkState(t, bg); fs.CommitLog != Forked {
		t.Fatalf("commit log verdict %v, want forked", fs.CommitLog)
	}
	if fs := forkState(t, g); fs.Forked() {
		t.Fatalf("alice's group: %+v", fs)
	}

	// Only a super admin re-adds.
	syncGroup(t, cg)
	if _, err := cg.ReaddInstallations(ctx, []identity.InstallationID{bob.InstallationID()}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("member re-add: %v", err)
	}
	// Nothing to re-add (only our own installation): no commit at all.
	before, _ := g.Info(ctx)
	if res, err := g.ReaddInstallations(ctx, []identity.InstallationID{alice.InstallationID()}); err != nil || res.CommitCursor != 0 {
		t.Fatalf("re-add of nothing = %+v %v", res, err)
	}
	if after, _ := g.Info(ctx); after.Epoch > before.Epoch+1 {
		t.Fatalf("re-add of nothing committed: epoch %d -> %d (only the version floor may be raised)", before.Epoch, after.Epoch)
	}
	res, err := g.ReaddInstallations(ctx, []identity.InstallationID{bob.InstallationID(), alice.InstallationID()})
	if err != nil || res.CommitCursor == 0 || len(res.FailedInstallations) != 0 {
		t.Fatalf("ReaddInstallations = %+v %v", res, err)
	}
	info, _ := g.Info(ctx)
	if info.MinimumSupportedProtocolVersion() != minRecoveryVersion {
		t.Errorf("version floor %q, want %q", info.MinimumSupportedProtocolVersion(), minRecoveryVersion)
	}
	joined, err := bob.SyncWelcomes(ctx)
	if err != nil || len(joined) != 1 || joined[0].ID().String() != g.ID().String() {
		t.Fatalf("bob's welcomes: %v %v", joined, err)
	}
	if fs := forkState(t, bg); fs.Forked() {
		t.Fatalf("after the re-add: %+v", fs)
	}

	if _, err := g.SendText(ctx, "welcome back"); err != nil {
		t.Fatal(err)
	}
	if _, err := bg.SendText(ctx, "bob is back"); err != nil {
		t.Fatal(err)
	}
	syncGroup(t, bg)
	syncGroup(t, g)
	syncGroup(t, cg)
	for name, gg := range map[string]*Group{"alice": g, "bob": bg, "carol": cg} {
		got := appTexts(t, gg)
		if !slices.Contains(got, "welcome back") || !slices.Contains(got, "bob is back") {
			t.Errorf("%s reads %v", name, got)
		}
	}
	ms, _ := g.Members(ctx)
	if m := findMember(ms, bob.InboxID()); m == nil || len(m.Installations) != 1 {
		t.Errorf("bob's membership after the re-add: %+v", m)
	}
	checkForks(t, alice, bob)
	if fs := forkState(t, bg); fs.Forked() {
		t.Errorf("fork check after recovery: %+v", fs)
	}
}

// TestForkReaddInterop: a Go super admin re-adds a libxmtp installation;
// libxmtp members accept the re-add commit (and the version floor raised
// before it), the re-added installation takes the Welcome, and messages
// flow between all three.
func TestForkReaddInterop(t *testing.T) {
	ctx := ctxT(t)
	dir := interoptest.Dir(t)
	node := startTestNode(t)
	p := interoptest.StartPeer(t, dir)
	host := "http://" + node.addr
	bob := p.Call(t, map[string]any{"op": "create", "client": "rd-bob", "db": filepath.Join(t.TempDir(), "b.db3"), "host": host, "register": true})
	carol := p.Call(t, map[string]any{"op": "create", "client": "rd-carol", "db": filepath.Join(t.TempDir(), "c.db3"), "host": host, "register": true})
	alice, _, _ := newTestClient(t, node.addr, "alice")
	g, _, err := alice.CreateGroupWithMembers(ctx, &GroupOptions{Name: "readd"}, []identity.InboxID{inboxOf(bob), inboxOf(carol)})
	if err != nil {
		t.Fatal(err)
	}
	gid := g.ID().String()
	for _, c := range []string{"rd-bob", "rd-carol"} {
		p.Call(t, map[string]any{"op": "sync", "client": c})
	}
	if _, err := g.SendText(ctx, "before"); err != nil {
		t.Fatal(err)
	}
	waitPeerText(t, p, "rd-bob", gid, "before")
	inst, err := identity.InstallationIDFromBytes(mustHex(t, bob["installationId"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.ReaddInstallations(ctx, []identity.InstallationID{inst})
	if err != nil || res.CommitCursor == 0 || len(res.FailedInstallations) != 0 {
		t.Fatalf("ReaddInstallations = %+v %v", res, err)
	}
	p.Call(t, map[string]any{"op": "sync", "client": "rd-bob"})
	p.Call(t, map[string]any{"op": "syncGroup", "client": "rd-bob", "group": gid})
	p.Call(t, map[string]any{"op": "syncGroup", "client": "rd-carol", "group": gid})
	if _, err := g.SendText(ctx, "after"); err != nil {
		t.Fatal(err)
	}
	waitPeerText(t, p, "rd-bob", gid, "after")
	waitPeerText(t, p, "rd-carol", gid, "after")
	p.Call(t, map[string]any{"op": "send", "client": "rd-bob", "group": gid, "text": "bob after"})
	syncGroup(t, g)
	if got := appTexts(t, g); !slices.Contains(got, "bob after") {
		t.Fatalf("alice reads %v", got)
	}
	info := p.Call(t, map[string]any{"op": "groupInfo", "client": "rd-carol", "group": gid, "sync": true})
	if info["isActive"] != true || info["epoch"] == nil {
		t.Fatalf("carol: %v", info)
	}
}

// TestForkRemoteEntryRules: downloaded commit-log entries are kept only
// when signed by the consensus key and continuing the chain (libxmtp's
// rules); each refusal names its rule.
func TestForkRemoteEntryRules(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	_, other, _ := ed25519.GenerateKey(nil)
	gid := GroupID{1, 2, 3}
	auth1, auth2 := []byte("epoch-1-authenticator"), []byte("epoch-2-authenticator")
	latest := &storage.ClientRemoteCommitLogEntry{CommitSequenceID: 10, AppliedEpochNumber: 1, AppliedEpochAuthenticator: auth1}
	applied := content.CommitResult_COMMIT_RESULT_APPLIED
	failed := content.CommitResult_COMMIT_RESULT_WRONG_EPOCH
	entry := func(key ed25519.PrivateKey, pe *content.PlaintextCommitLogEntry) *content.CommitLogEntry {
		b, err := proto.Marshal(pe)
		if err != nil {
			t.Fatal(err)
		}
		return &content.CommitLogEntry{SerializedCommitLogEntry: b, Signature: &association.RecoverableEd25519Signature{
			Bytes: ed25519.Sign(key, b), PublicKey: key.Public().(ed25519.PublicKey)}}
	}
	next := func() *content.PlaintextCommitLogEntry {
		return &content.PlaintextCommitLogEntry{GroupId: gid, CommitSequenceId: 11, LastEpochAuthenticator: auth1, CommitResult: applied,
			AppliedEpochNumber: 2, AppliedEpochAuthenticator: auth2}
	}
	for _, tc := range []struct {
		name  string
		key   ed25519.PrivateKey
		edit  func(*content.PlaintextCommitLogEntry)
		first bool
		rule  string
	}{
		{"next applied commit", priv, nil, false, ""},
		{"first entry", priv, nil, true, ""},
		{"failed commit keeps the epoch", priv, func(p *content.PlaintextCommitLogEntry) {
			p.CommitResult, p.AppliedEpochNumber, p.AppliedEpochAuthenticator = failed, 1, auth1
		}, false, ""},
		{"other group", priv, func(p *content.PlaintextCommitLogEntry) { p.GroupId = []byte{9} }, false, "entry for another group"},
		{"creation row", priv, func(p *content.PlaintextCommitLogEntry) { p.CommitSequenceId = 0 }, false, "no commit sequence id"},
		{"other signer", other, nil, false, "not signed by the consensus key"},
		{"replayed", priv, func(p *content.PlaintextCommitLogEntry) { p.CommitSequenceId = 10 }, false, "commit sequence id not after the last entry"},
		{"broken chain", priv, func(p *content.PlaintextCommitLogEntry) { p.LastEpochAuthenticator = auth2 }, false,
			"previous epoch authenticator does not continue the chain"},
		{"skipped epoch", priv, func(p *content.PlaintextCommitLogEntry) { p.AppliedEpochNumber = 3 }, false, "applied epoch is not the next one"},
		{"failed commit moved the epoch", priv, func(p *content.PlaintextCommitLogEntry) { p.CommitResult = failed }, false,
			"failed commit changed the epoch"},
	} {
		pe := next()
		if tc.edit != nil {
			tc.edit(pe)
		}
		g := &forkGroup{id: gid, state: &storage.ClientForkState{CommitLogPublicKey: pub}}
		l := latest
		if tc.first {
			l = nil
		}
		if got := skipRemoteEntry(g, l, entry(tc.key, pe), pe); got != tc.rule {
			t.Errorf("%s: rule %q, want %q", tc.name, got, tc.rule)
		}
	}
}

// TestForkRolesCached: a commit-log round reads a group's role and signer
// from its MLS state only when the stored state changed since the last
// round; otherwise the previous reading is used.
func TestForkRolesCached(t *testing.T) {
	ctx := ctxT(t)
	n := startNode(t)
	alice, _, _ := newTestClient(t, n.Addr().String(), "alice")
	g, err := alice.CreateGroup(ctx, &GroupOptions{Name: "roles"})
	if err != nil {
		t.Fatal(err)
	}
	roles := func() *forkGroup {
		t.Helper()
		gs, err := alice.forkGroups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(gs, func(f *forkGroup) bool { return slices.Equal(f.id, g.ID()) })
		if i < 0 {
			t.Fatal("group missing from the commit-log round")
		}
		return gs[i]
	}
	if f := roles(); !f.publisher || f.signer == nil {
		t.Fatalf("creator: publisher %v, signer %v; want a publisher with a signer", f.publisher, f.signer != nil)
	}
	// Tamper with the remembered reading: an unchanged state keeps it.
	alice.forkRoles.mu.Lock()
	r := alice.forkRoles.roles[string(g.ID())]
	r.publisher = false
	alice.forkRoles.roles[string(g.ID())] = r
	alice.forkRoles.mu.Unlock()
	if roles().publisher {
		t.Fatal("the group's state was read again although it did not change")
	}
	// A commit changes the stored state: it is read again.
	if err := g.UpdateGroupName(ctx, "renamed"); err != nil {
		t.Fatal(err)
	}
	if !roles().publisher {
		t.Fatal("the group's role was not read again after a commit")
	}
}
