package client

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"mlsbridge/identity"
	"mlsbridge/internal/interoptest"
	"mlsbridge/storage"
)

// storedTexts returns the texts of the application messages c has stored
// for g, read straight from the database (FindMessages would sweep).
func storedTexts(t *testing.T, c *Client, g GroupID) []string {
	t.Helper()
	rows, err := c.db.Messages(ctxT(t), storage.MessageQuery{GroupIDs: [][]byte{g}, Kind: int16(KindApplication)})
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]Message, len(rows))
	for i := range rows {
		msgs[i] = messageFromRow(&rows[i])
	}
	return texts(msgs)
}

func syncGroup(t *testing.T, g *Group) {
	t.Helper()
	if err := g.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func sweep(t *testing.T, c *Client) int {
	t.Helper()
	n, err := c.DeleteExpiredMessages(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDisappearingExpiresOnSchedule: messages sent after from_ns expire
// in_ns after their sent time, on the reader's clock; earlier messages,
// membership records and groups without settings keep theirs; settings a
// member changes later apply.
func TestDisappearingExpiresOnSchedule(t *testing.T) {
	ctx := ctxT(t)
	n := startNode(t)
	addr := n.Addr().String()
	alice, _, _ := newTestClient(t, addr, "alice")
	bob, clk := newClockedClient(t, addr, "bob")
	start := time.Now().UnixNano()

	opts := &GroupOptions{Name: "vanishing", MessageDisappearing: &DisappearingSettings{FromNs: start, InNs: int64(time.Hour)}}
	g, _, err := alice.CreateGroupWithMembers(ctx, opts, []identity.InboxID{bob.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	plain, _, err := alice.CreateGroupWithMembers(ctx, &GroupOptions{Name: "plain"}, []identity.InboxID{bob.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	later, _, err := alice.CreateGroupWithMembers(ctx, &GroupOptions{Name: "later",
		MessageDisappearing: &DisappearingSettings{FromNs: start + int64(24*time.Hour), InNs: int64(time.Minute)}}, []identity.InboxID{bob.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	for _, gg := range []*Group{g, plain, later} {
		if _, err := gg.SendText(ctx, "hello"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bob.SyncAllWelcomesAndGroups(ctx, nil); err != nil {
		t.Fatal(err)
	}
	bg, _ := bob.Group(ctx, g.ID())
	if s, ok, err := bg.DisappearingSettings(ctx); err != nil || !ok || !s.Enabled() || s.InNs != int64(time.Hour) {
		t.Fatalf("bob reads settings %+v %v %v", s, ok, err)
	}
	if got := sweep(t, bob); got != 0 {
		t.Fatalf("fresh sweep deleted %d", got)
	}
	clk.advance(59 * time.Minute)
	if got := sweep(t, bob); got != 0 {
		t.Fatalf("sweep after 59 min deleted %d", got)
	}
	clk.advance(2 * time.Minute)
	if got := sweep(t, bob); got != 1 {
		t.Fatalf("sweep after 61 min deleted %d, want 1", got)
	}
	if got := appTexts(t, bg); len(got) != 0 {
		t.Fatalf("bob still has %v", got)
	}
	if msgs, _ := bg.FindMessages(ctx, &MessageQuery{Kind: KindMembershipChange}); len(msgs) == 0 {
		t.Fatal("membership records expired too")
	}
	for _, id := range []GroupID{plain.ID(), later.ID()} {
		if got := storedTexts(t, bob, id); !slices.Equal(got, []string{"hello"}) {
			t.Errorf("group %s: bob has %v, want the message kept", id, got)
		}
	}
	// The sender expires its own messages once they are published.
	if got := storedTexts(t, alice, g.ID()); len(got) != 1 {
		t.Fatalf("alice has %v before her clock moved", got)
	}

	// Settings switched on later apply to messages sent after from_ns.
	if err := plain.UpdateDisappearingSettings(ctx, time.Now().UnixNano(), int64(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.SendText(ctx, "fleeting"); err != nil {
		t.Fatal(err)
	}
	bp, _ := bob.Group(ctx, plain.ID())
	syncGroup(t, bp)
	if got := storedTexts(t, bob, plain.ID()); !slices.Equal(got, []string{"hello", "fleeting"}) {
		t.Fatalf("bob has %v", got)
	}
	clk.advance(2 * time.Minute)
	// A query does not return what the worker has not swept yet.
	if got := appTexts(t, bp); !slices.Equal(got, []string{"hello"}) {
		t.Fatalf("bob's query returns %v, want only the message sent before from_ns", got)
	}
}

// TestDisappearingAfterRestart: a client closed while its messages expire
// deletes them when its workers start again, from the stored sent times;
// the scheduled worker then deletes the next ones by itself.
func TestDisappearingAfterRestart(t *testing.T) {
	ctx := ctxT(t)
	n := startNode(t)
	addr := n.Addr().String()
	alice, _, _ := newTestClient(t, addr, "alice")
	w, err := identity.GenerateEthereumSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := &testClock{}
	path := filepath.Join(t.TempDir(), "bob.db3")
	bob := openTestClientAt(t, addr, w, path, "bob", clk)
	if err := bob.Register(ctx); err != nil {
		t.Fatal(err)
	}
	opts := &GroupOptions{MessageDisappearing: &DisappearingSettings{FromNs: time.Now().UnixNano(), InNs: int64(10 * time.Minute)}}
	g, _, err := alice.CreateGroupWithMembers(ctx, opts, []identity.InboxID{bob.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.SendText(ctx, "before restart"); err != nil {
		t.Fatal(err)
	}
	bg := joinOne(t, bob)
	syncGroup(t, bg)
	if err := bob.Close(); err != nil {
		t.Fatal(err)
	}

	clk.advance(11 * time.Minute)
	bob = openTestClientAt(t, addr, nil, path, "bob", clk)
	workers, err := bob.StartWorkers(ctx, &WorkerOptions{DisappearingSchedule: "@every 1s", CommitLogSchedule: ScheduleOff})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = workers.Stop(context.Background()) })
	if got := storedTexts(t, bob, g.ID()); len(got) != 0 {
		t.Fatalf("after the restart bob still stores %v", got)
	}

	if _, err := g.SendText(ctx, "after restart"); err != nil {
		t.Fatal(err)
	}
	bg, _ = bob.Group(ctx, g.ID())
	syncGroup(t, bg)
	if got := storedTexts(t, bob, g.ID()); !slices.Equal(got, []string{"after restart"}) {
		t.Fatalf("bob stores %v", got)
	}
	clk.advance(11 * time.Minute)
	deadline := time.Now().Add(15 * time.Second)
	for len(storedTexts(t, bob, g.ID())) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the scheduled sweep did not delete the expired message")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := workers.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestDisappearingWorkerOptions: bad schedules are refused at start; the
// workers stop with their client.
func TestDisappearingWorkerOptions(t *testing.T) {
	ctx := ctxT(t)
	n := startNode(t)
	c, _, _ := newTestClient(t, n.Addr().String(), "c")
	if _, err := c.StartWorkers(ctx, &WorkerOptions{DisappearingSchedule: "every so often"}); err == nil {
		t.Fatal("a malformed schedule was accepted")
	}
	w, err := c.StartWorkers(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.done:
	default:
		t.Fatal("workers still running after Close")
	}
	if _, err := c.StartWorkers(ctx, &WorkerOptions{DisappearingSchedule: ScheduleOff}); err == nil {
		t.Fatal("workers started on a closed client")
	}
}

// TestDisappearingInterop: disappearing settings libxmtp sets (two
// commits) and removes are read and applied by the Go member.
func TestDisappearingInterop(t *testing.T) {
	ctx := ctxT(t)
	dir := interoptest.Dir(t)
	node := startTestNode(t)
	p := interoptest.StartPeer(t, dir)
	p.Call(t, map[string]any{"op": "create", "client": "dm-alice", "db": filepath.Join(t.TempDir(), "a.db3"),
		"host": "http://" + node.addr, "register": true})
	bob, clk := newClockedClient(t, node.addr, "bob")
	res := p.Call(t, map[string]any{"op": "newGroup", "client": "dm-alice", "members": []string{string(bob.InboxID())}, "name": "timed"})
	gid := res["group"].(string)
	inNs := int64(30 * time.Minute)
	set := p.Call(t, map[string]any{"op": "updateDisappearing", "client": "dm-alice", "group": gid, "fromNs": "now",
		"inNs": strconv.FormatInt(inNs, 10)})
	if set["disappearingEnabled"] != true {
		t.Fatalf("libxmtp: %v", set)
	}
	p.Call(t, map[string]any{"op": "send", "client": "dm-alice", "group": gid, "text": "soon gone"})
	bg := joinOne(t, bob)
	syncGroup(t, bg)
	s, ok, err := bg.DisappearingSettings(ctx)
	from, _ := strconv.ParseInt(set["disappearing"].(map[string]any)["fromNs"].(string), 10, 64)
	if err != nil || !ok || s != (DisappearingSettings{FromNs: from, InNs: inNs}) {
		t.Fatalf("go reads %+v %v %v, libxmtp set from %d in %d", s, ok, err, from, inNs)
	}
	if got := storedTexts(t, bob, bg.ID()); !slices.Equal(got, []string{"soon gone"}) {
		t.Fatalf("bob has %v", got)
	}
	clk.advance(31 * time.Minute)
	if got := sweep(t, bob); got != 1 {
		t.Fatalf("sweep deleted %d, want 1", got)
	}

	off := p.Call(t, map[string]any{"op": "removeDisappearing", "client": "dm-alice", "group": gid})
	if off["disappearingEnabled"] != false {
		t.Fatalf("libxmtp: %v", off)
	}
	p.Call(t, map[string]any{"op": "send", "client": "dm-alice", "group": gid, "text": "stays"})
	syncGroup(t, bg)
	if s, _, _ := bg.DisappearingSettings(ctx); s.Enabled() {
		t.Fatalf("go still has settings %+v", s)
	}
	clk.advance(time.Hour)
	if got := sweep(t, bob); got != 0 {
		t.Fatalf("sweep with settings off deleted %d", got)
	}
	if got := appTexts(t, bg); !slices.Equal(got, []string{"stays"}) {
		t.Fatalf("bob has %v", got)
	}
}
