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

// storedApp returns the application messages c has stored for g, read
// straight from the database (no query hides an expired one), with their
// texts.
func storedApp(t *testing.T, c *Client, g GroupID) ([]storage.ClientMessage, []string) {
	t.Helper()
	rows, err := c.db.Messages(ctxT(t), storage.MessageQuery{GroupIDs: [][]byte{g}, Kind: int16(KindApplication)})
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]Message, len(rows))
	for i := range rows {
		msgs[i] = messageFromRow(&rows[i])
	}
	return rows, texts(msgs)
}

// storedTexts returns the texts of the application messages c has stored
// for g (see storedApp).
func storedTexts(t *testing.T, c *Client, g GroupID) []string {
	t.Helper()
	_, txt := storedApp(t, c, g)
	return txt
}

// stamps returns the expiry stamp of each stored application message of
// g, keyed by its text.
func stamps(t *testing.T, c *Client, g GroupID) map[string]int64 {
	t.Helper()
	rows, txt := storedApp(t, c, g)
	out := make(map[string]int64, len(rows))
	for i := range rows {
		out[txt[i]] = rows[i].ExpireAtNs
	}
	return out
}

// checkStamp fails unless got lies in [lo+in, hi+in]: a stamp made on a
// clock that read between lo and hi.
func checkStamp(t *testing.T, what string, got, lo, hi int64, in time.Duration) {
	t.Helper()
	if got < lo+int64(in) || got > hi+int64(in) {
		t.Fatalf("%s: expiry stamp %d, want within [%d, %d] (clock + %v)", what, got, lo+int64(in), hi+int64(in), in)
	}
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

func sendText(t *testing.T, g *Group, text string) {
	t.Helper()
	if _, err := g.SendText(ctxT(t), text); err != nil {
		t.Fatal(err)
	}
}

// groupWithClockedBob starts a node with alice and bob, whose clock the
// test moves, and returns bob, his clock and the group alice created with
// opts and bob in it.
func groupWithClockedBob(t *testing.T, opts *GroupOptions) (*Client, *testClock, *Group) {
	t.Helper()
	n := startNode(t)
	addr := n.Addr().String()
	alice, _, _ := newTestClient(t, addr, "alice")
	bob, bclk := newClockedClient(t, addr, "bob")
	g, _, err := alice.CreateGroupWithMembers(ctxT(t), opts, []identity.InboxID{bob.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	return bob, bclk, g
}

// TestDisappearingExpiresOnSchedule: a message stored while the settings
// are on expires in_ns after it was stored, on the storing client's clock
// (received messages when processed, our own when confirmed); from_ns is
// no cutoff (settings whose from_ns lies in the future expire messages
// too); groups without settings and membership records keep theirs; a
// query hides an expired message before the sweep deletes it.
func TestDisappearingExpiresOnSchedule(t *testing.T) {
	ctx := ctxT(t)
	n := startNode(t)
	addr := n.Addr().String()
	alice, aclk := newClockedClient(t, addr, "alice")
	bob, bclk := newClockedClient(t, addr, "bob")
	start := time.Now().UnixNano()

	g, _, err := alice.CreateGroupWithMembers(ctx, &GroupOptions{Name: "vanishing",
		MessageDisappearing: &DisappearingSettings{FromNs: start, InNs: int64(time.Hour)}}, []identity.InboxID{bob.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	plain, _, err := alice.CreateGroupWithMembers(ctx, &GroupOptions{Name: "plain"}, []identity.InboxID{bob.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	future, _, err := alice.CreateGroupWithMembers(ctx, &GroupOptions{Name: "future",
		MessageDisappearing: &DisappearingSettings{FromNs: start + int64(24*time.Hour), InNs: int64(time.Minute)}}, []identity.InboxID{bob.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	lo := aclk.now().UnixNano()
	for _, gg := range []*Group{g, plain, future} {
		sendText(t, gg, "hello")
	}
	hi := aclk.now().UnixNano()
	// The sender stamps her own messages when their echo confirms them.
	checkStamp(t, "alice's own message", stamps(t, alice, g.ID())["hello"], lo, hi, time.Hour)
	checkStamp(t, "alice's own message, future from_ns", stamps(t, alice, future.ID())["hello"], lo, hi, time.Minute)
	if s := stamps(t, alice, plain.ID())["hello"]; s != 0 {
		t.Fatalf("alice stamped a message of a group without settings: %d", s)
	}

	lo = bclk.now().UnixNano()
	if _, err := bob.SyncAllWelcomesAndGroups(ctx, nil); err != nil {
		t.Fatal(err)
	}
	hi = bclk.now().UnixNano()
	bg, _ := bob.Group(ctx, g.ID())
	if s, ok, err := bg.DisappearingSettings(ctx); err != nil || !ok || !s.Enabled() || s.InNs != int64(time.Hour) {
		t.Fatalf("bob reads settings %+v %v %v", s, ok, err)
	}
	checkStamp(t, "bob's received message", stamps(t, bob, g.ID())["hello"], lo, hi, time.Hour)
	checkStamp(t, "bob's received message, future from_ns", stamps(t, bob, future.ID())["hello"], lo, hi, time.Minute)
	if s := stamps(t, bob, plain.ID())["hello"]; s != 0 {
		t.Fatalf("bob stamped a message of a group without settings: %d", s)
	}
	membership, err := bob.db.Messages(ctx, storage.MessageQuery{Kind: int16(KindMembershipChange)})
	if err != nil || len(membership) == 0 {
		t.Fatalf("membership records %v %v", membership, err)
	}
	for _, m := range membership {
		if m.ExpireAtNs != 0 {
			t.Fatalf("membership record stamped %d", m.ExpireAtNs)
		}
	}

	if got := sweep(t, bob); got != 0 {
		t.Fatalf("fresh sweep deleted %d", got)
	}
	bclk.advance(2 * time.Minute)
	if got := sweep(t, bob); got != 1 {
		t.Fatalf("sweep after 2 min deleted %d, want the message of the group with a future from_ns", got)
	}
	if got := storedTexts(t, bob, future.ID()); len(got) != 0 {
		t.Fatalf("bob still has %v in the group with a future from_ns", got)
	}
	bclk.advance(57 * time.Minute)
	if got := sweep(t, bob); got != 0 {
		t.Fatalf("sweep after 59 min deleted %d", got)
	}
	bclk.advance(2 * time.Minute)
	// A query does not return what the sweep has not deleted yet.
	if got := appTexts(t, bg); len(got) != 0 {
		t.Fatalf("bob's query returns %v after expiry", got)
	}
	if got := storedTexts(t, bob, g.ID()); !slices.Equal(got, []string{"hello"}) {
		t.Fatalf("bob stores %v before the sweep", got)
	}
	if got := sweep(t, bob); got != 1 {
		t.Fatalf("sweep after 61 min deleted %d, want 1", got)
	}
	if got := storedTexts(t, bob, g.ID()); len(got) != 0 {
		t.Fatalf("bob still stores %v", got)
	}
	if msgs, _ := bg.FindMessages(ctx, &MessageQuery{Kind: KindMembershipChange}); len(msgs) == 0 {
		t.Fatal("membership records expired too")
	}
	if got := storedTexts(t, bob, plain.ID()); !slices.Equal(got, []string{"hello"}) {
		t.Fatalf("bob has %v in the group without settings, want the message kept", got)
	}

	// Alice's clock has not moved: her copies are still there, until it
	// does.
	if got := sweep(t, alice); got != 0 {
		t.Fatalf("alice's sweep deleted %d before her clock moved", got)
	}
	aclk.advance(61 * time.Minute)
	if got := sweep(t, alice); got != 2 {
		t.Fatalf("alice's sweep after 61 min deleted %d, want 2", got)
	}
	if got := storedTexts(t, alice, plain.ID()); !slices.Equal(got, []string{"hello"}) {
		t.Fatalf("alice has %v in the group without settings", got)
	}
}

// TestDisappearingNotBeforeEnabled: a message stored before the settings
// were switched on never expires, even one that reaches the reader only
// after the commit that switched them on (it is processed in its own,
// earlier epoch).
func TestDisappearingNotBeforeEnabled(t *testing.T) {
	ctx := ctxT(t)
	bob, bclk, g := groupWithClockedBob(t, &GroupOptions{Name: "late switch"})
	sendText(t, g, "early")
	bg := joinOne(t, bob)
	syncGroup(t, bg)
	sendText(t, g, "queued")
	if err := g.UpdateDisappearingSettings(ctx, time.Now().UnixNano(), int64(time.Minute)); err != nil {
		t.Fatal(err)
	}
	sendText(t, g, "late")
	syncGroup(t, bg)
	if got := storedTexts(t, bob, g.ID()); !slices.Equal(got, []string{"early", "queued", "late"}) {
		t.Fatalf("bob has %v", got)
	}
	st := stamps(t, bob, g.ID())
	if st["early"] != 0 || st["queued"] != 0 || st["late"] == 0 {
		t.Fatalf("stamps %v: want only the message sent after the settings stamped", st)
	}
	bclk.advance(2 * time.Minute)
	if got := sweep(t, bob); got != 1 {
		t.Fatalf("sweep deleted %d, want 1", got)
	}
	bclk.advance(30 * 24 * time.Hour)
	if got := sweep(t, bob); got != 0 {
		t.Fatalf("sweep a month later deleted %d", got)
	}
	if got := appTexts(t, bg); !slices.Equal(got, []string{"early", "queued"}) {
		t.Fatalf("bob has %v, want the messages stored before the settings", got)
	}
}

// TestDisappearingStampKept: a message keeps the stamp it was stored with
// when the settings change later (longer, or removed); messages stored
// after a change follow the new settings.
func TestDisappearingStampKept(t *testing.T) {
	ctx := ctxT(t)
	from := time.Now().UnixNano()
	bob, bclk, g := groupWithClockedBob(t, &GroupOptions{
		MessageDisappearing: &DisappearingSettings{FromNs: from, InNs: int64(10 * time.Minute)}})
	sendText(t, g, "ten minutes")
	bg := joinOne(t, bob)
	lo := bclk.now().UnixNano()
	syncGroup(t, bg)
	hi := bclk.now().UnixNano()
	first := stamps(t, bob, g.ID())["ten minutes"]
	checkStamp(t, "first message", first, lo, hi, 10*time.Minute)

	if err := g.UpdateDisappearingSettings(ctx, from, int64(time.Hour)); err != nil {
		t.Fatal(err)
	}
	sendText(t, g, "an hour")
	lo = bclk.now().UnixNano()
	syncGroup(t, bg)
	hi = bclk.now().UnixNano()
	st := stamps(t, bob, g.ID())
	if st["ten minutes"] != first {
		t.Fatalf("first message restamped %d -> %d after in_ns changed", first, st["ten minutes"])
	}
	second := st["an hour"]
	checkStamp(t, "second message", second, lo, hi, time.Hour)

	if err := g.RemoveDisappearingSettings(ctx); err != nil {
		t.Fatal(err)
	}
	sendText(t, g, "forever")
	syncGroup(t, bg)
	st = stamps(t, bob, g.ID())
	if st["ten minutes"] != first || st["an hour"] != second || st["forever"] != 0 {
		t.Fatalf("after removing the settings: stamps %v, want %d, %d, 0", st, first, second)
	}

	bclk.advance(11 * time.Minute)
	if got := sweep(t, bob); got != 1 {
		t.Fatalf("sweep after 11 min deleted %d, want 1", got)
	}
	bclk.advance(50 * time.Minute)
	if got := sweep(t, bob); got != 1 {
		t.Fatalf("sweep after 61 min deleted %d, want 1 (the settings removed since)", got)
	}
	bclk.advance(24 * time.Hour)
	if got := sweep(t, bob); got != 0 {
		t.Fatalf("sweep a day later deleted %d", got)
	}
	if got := appTexts(t, bg); !slices.Equal(got, []string{"forever"}) {
		t.Fatalf("bob has %v", got)
	}
}

// TestDisappearingAfterRestart: a client closed while its messages expire
// deletes them when its workers start again, from the stored stamps; the
// scheduled worker then deletes the next ones by itself.
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
	sendText(t, g, "before restart")
	bg := joinOne(t, bob)
	syncGroup(t, bg)
	stamped := stamps(t, bob, g.ID())["before restart"]
	if stamped == 0 {
		t.Fatal("message stored unstamped")
	}
	if err := bob.Close(); err != nil {
		t.Fatal(err)
	}

	clk.advance(11 * time.Minute)
	bob = openTestClientAt(t, addr, nil, path, "bob", clk)
	if got := stamps(t, bob, g.ID())["before restart"]; got != stamped {
		t.Fatalf("stamp after reopening %d, want %d", got, stamped)
	}
	workers, err := bob.StartWorkers(ctx, &WorkerOptions{DisappearingSchedule: "@every 1s", CommitLogSchedule: ScheduleOff})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = workers.Stop(context.Background()) })
	if got := storedTexts(t, bob, g.ID()); len(got) != 0 {
		t.Fatalf("after the restart bob still stores %v", got)
	}

	sendText(t, g, "after restart")
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

// TestDisappearingInterop runs the libxmtp disappearing-message scenarios
// against one node and one libxmtp process.
func TestDisappearingInterop(t *testing.T) {
	runInterop(t, []interopScenario{
		{"LibxmtpSettings", disappearingLibxmtpSettings},
		{"Agreement", disappearingAgreement},
	})
}

// disappearingLibxmtpSettings: the settings libxmtp's updateDisappearing
// sets (two commits) are read by the Go member and stamp what it stores
// after them; removeDisappearing switches stamping off, and the message
// stamped before still expires.
func disappearingLibxmtpSettings(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	env.libxmtp(t, "ds-alice", "")
	bob, clk := newClockedClient(t, env.node.addr, "bob")
	res := p.Call(t, map[string]any{"op": "newGroup", "client": "ds-alice", "members": []string{string(bob.InboxID())}, "name": "timed"})
	gid := res["group"].(string)
	inNs := int64(30 * time.Minute)
	set := p.Call(t, map[string]any{"op": "updateDisappearing", "client": "ds-alice", "group": gid, "fromNs": "now",
		"inNs": strconv.FormatInt(inNs, 10)})
	if set["disappearingEnabled"] != true {
		t.Fatalf("libxmtp: %v", set)
	}
	p.Call(t, map[string]any{"op": "send", "client": "ds-alice", "group": gid, "text": "soon gone"})
	bg := joinOne(t, bob)
	lo := clk.now().UnixNano()
	syncGroup(t, bg)
	hi := clk.now().UnixNano()
	s, ok, err := bg.DisappearingSettings(ctx)
	from, _ := strconv.ParseInt(set["disappearing"].(map[string]any)["fromNs"].(string), 10, 64)
	if err != nil || !ok || s != (DisappearingSettings{FromNs: from, InNs: inNs}) {
		t.Fatalf("go reads %+v %v %v, libxmtp set from %d in %d", s, ok, err, from, inNs)
	}
	if got := storedTexts(t, bob, bg.ID()); !slices.Equal(got, []string{"soon gone"}) {
		t.Fatalf("bob has %v", got)
	}
	checkStamp(t, "message after libxmtp's settings", stamps(t, bob, bg.ID())["soon gone"], lo, hi, time.Duration(inNs))

	off := p.Call(t, map[string]any{"op": "removeDisappearing", "client": "ds-alice", "group": gid})
	if off["disappearingEnabled"] != false {
		t.Fatalf("libxmtp: %v", off)
	}
	p.Call(t, map[string]any{"op": "send", "client": "ds-alice", "group": gid, "text": "stays"})
	syncGroup(t, bg)
	if s, _, _ := bg.DisappearingSettings(ctx); s.Enabled() {
		t.Fatalf("go still has settings %+v", s)
	}
	if st := stamps(t, bob, bg.ID()); st["stays"] != 0 || st["soon gone"] == 0 {
		t.Fatalf("stamps after removeDisappearing %v", st)
	}
	clk.advance(31 * time.Minute)
	if got := sweep(t, bob); got != 1 {
		t.Fatalf("sweep deleted %d, want 1", got)
	}
	clk.advance(24 * time.Hour)
	if got := sweep(t, bob); got != 0 {
		t.Fatalf("sweep with settings off deleted %d", got)
	}
	if got := appTexts(t, bg); !slices.Equal(got, []string{"stays"}) {
		t.Fatalf("bob has %v", got)
	}
}

// peerTexts returns the texts of the application messages libxmtp's
// messages op lists (after a sync).
func peerTexts(t *testing.T, p *interoptest.Peer, client, group string) []string {
	t.Helper()
	var out []string
	for _, m := range peerMessages(t, p, client, group) {
		s, _ := m["text"].(string)
		out = append(out, s)
	}
	return out
}

// disappearingAgreement: a libxmtp member and a Go member of one group end
// up with the same messages once the short-lived ones expire: one sent
// before the settings (never expires), one from each side under short
// settings (expire), one under settings changed to an hour (kept, its
// stamp unchanged by the later removal) and one after the settings were
// removed (never expires). libxmtp runs on the wall clock, so the short
// settings are eight seconds and the test polls libxmtp's messages op;
// the Go member's clock is moved instead.
func disappearingAgreement(t *testing.T, env *interopEnv) {
	p := env.peer
	const alice = "dg-alice"
	env.libxmtp(t, alice, "")
	bob, clk := newClockedClient(t, env.node.addr, "bob")
	res := p.Call(t, map[string]any{"op": "newGroup", "client": alice, "members": []string{string(bob.InboxID())}, "name": "agree"})
	gid := res["group"].(string)
	send := func(text string) {
		p.Call(t, map[string]any{"op": "send", "client": alice, "group": gid, "text": text})
	}
	short := 8 * time.Second

	send("before")
	bg := joinOne(t, bob)
	syncGroup(t, bg)
	p.Call(t, map[string]any{"op": "updateDisappearing", "client": alice, "group": gid, "fromNs": "now",
		"inNs": strconv.FormatInt(int64(short), 10)})
	send("libxmtp short")
	syncGroup(t, bg)
	sendText(t, bg, "go short")
	if got := peerTexts(t, p, alice, gid); !slices.Equal(got, []string{"before", "libxmtp short", "go short"}) {
		t.Fatalf("libxmtp has %v before expiry", got)
	}
	st := stamps(t, bob, bg.ID())
	if st["before"] != 0 || st["libxmtp short"] == 0 || st["go short"] == 0 {
		t.Fatalf("go stamps %v", st)
	}

	p.Call(t, map[string]any{"op": "updateDisappearing", "client": alice, "group": gid, "fromNs": "now",
		"inNs": strconv.FormatInt(int64(time.Hour), 10)})
	send("an hour")
	syncGroup(t, bg)
	hour := stamps(t, bob, bg.ID())["an hour"]
	p.Call(t, map[string]any{"op": "removeDisappearing", "client": alice, "group": gid})
	send("after off")
	syncGroup(t, bg)
	st = stamps(t, bob, bg.ID())
	if hour == 0 || st["an hour"] != hour || st["after off"] != 0 {
		t.Fatalf("go stamps %v (an hour first stamped %d)", st, hour)
	}

	want := []string{"before", "an hour", "after off"}
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := peerTexts(t, p, alice, gid)
		if slices.Equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("libxmtp still lists %v, want %v", got, want)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// Bob's clock moves just past his stamps of the short messages (made
	// after libxmtp's own, so less than the short time from now).
	st = stamps(t, bob, bg.ID())
	need := time.Duration(max(st["libxmtp short"], st["go short"]) - clk.now().UnixNano())
	if need >= short {
		t.Fatalf("go stamps %v lie more than %v ahead of its clock", st, short)
	}
	clk.advance(max(need, 0) + time.Millisecond)
	if got := appTexts(t, bg); !slices.Equal(got, want) {
		t.Fatalf("go lists %v, libxmtp %v", got, want)
	}
	if got := sweep(t, bob); got != 2 {
		t.Fatalf("go sweep deleted %d, want 2", got)
	}
	if got := storedTexts(t, bob, bg.ID()); !slices.Equal(got, want) {
		t.Fatalf("go stores %v, libxmtp lists %v", got, want)
	}
}

// TestDisappearingSettingsCachedPerEpoch: the settings stamping uses are
// parsed once per epoch: a second read in the same epoch returns the
// cached value, and a merged commit makes them read again.
func TestDisappearingSettingsCachedPerEpoch(t *testing.T) {
	ctx := ctxT(t)
	n := startNode(t)
	alice, _, _ := newTestClient(t, n.Addr().String(), "alice")
	g, err := alice.CreateGroup(ctx, &GroupOptions{Name: "cache",
		MessageDisappearing: &DisappearingSettings{FromNs: 1, InNs: int64(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	read := func() (s DisappearingSettings, ok bool) {
		t.Helper()
		err := alice.withGroup(ctx, g.ID(), func(_ context.Context, st *groupState) error {
			s, ok = st.disappearing()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return s, ok
	}
	if s, ok := read(); !ok || s.InNs != int64(time.Hour) {
		t.Fatalf("settings %+v (%v), want in_ns one hour", s, ok)
	}
	err = alice.withGroup(ctx, g.ID(), func(_ context.Context, st *groupState) error {
		st.disappear.settings.InNs = 42 // only the cache changes
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := read(); s.InNs != 42 {
		t.Fatalf("in_ns %d in the same epoch, want the cached 42", s.InNs)
	}
	if err := g.UpdateDisappearingSettings(ctx, 1, int64(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if s, ok := read(); !ok || s.InNs != int64(time.Minute) {
		t.Fatalf("settings %+v (%v) after the commit, want in_ns one minute", s, ok)
	}
}
