package client

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"mlsbridge/identity"
	"mlsbridge/internal/interoptest"
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
