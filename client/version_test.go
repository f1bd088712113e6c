package client

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mlsbridge/identity"
	"mlsbridge/internal/interoptest"
	"mlsbridge/policy"
	"mlsbridge/wire/content"
)

// expectPaused syncs mb (no error, nothing applied) and checks that it is
// paused for floor in epoch and refuses to send with libxmtp's error.
func (mb *hostileMember) expectPaused(t *testing.T, floor string, epoch uint64) {
	t.Helper()
	if err := mb.g.Sync(ctxT(t)); err != nil {
		t.Fatalf("%s: sync of the paused group: %v", mb.name, err)
	}
	gi, err := mb.g.Info(ctxT(t))
	if err != nil || gi.Epoch != epoch || gi.PausedForVersion != floor {
		t.Fatalf("%s: %+v (%v); want epoch %d paused for %s", mb.name, gi, err, epoch, floor)
	}
	_, err = mb.g.SendText(ctxT(t), mb.name+" while paused")
	expectPausedErr(t, mb.name+": send", err, floor)
}

func expectPausedErr(t *testing.T, what string, err error, floor string) {
	t.Helper()
	var pe *GroupPausedError
	if !errors.As(err, &pe) || pe.Version != floor || !strings.Contains(err.Error(), "paused until version "+floor) {
		t.Fatalf("%s: %v, want *GroupPausedError for %s", what, err, floor)
	}
}

// TestVersionPause: Go members only. A commit raising the group's floor
// above our version pauses the group for the member that receives it,
// even from a stream; while paused, nothing is processed or published,
// sends and changes fail, and the pause survives a restart; lowering the
// floor afterwards does not lift it; an upgrade does, at the next sync,
// which applies the commit and what followed it and publishes what was
// queued meanwhile. A welcome into a group whose floor is above our
// version stores the group paused.
func TestVersionPause(t *testing.T) {
	tn := startTestNode(t)
	ctx := ctxT(t)
	a, _, _ := newWatchedClient(t, tn.addr, "alice")
	b, bWallet, bPath := newTestClient(t, tn.addr, "bob")
	ga, _, err := a.CreateGroupWithMembers(ctx, &GroupOptions{Name: "floors"}, []identity.InboxID{b.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := a.CreateGroupWithMembers(ctx, &GroupOptions{Name: "other"}, []identity.InboxID{b.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.SyncWelcomes(ctx); err != nil {
		t.Fatal(err)
	}
	gb, err := b.Group(ctx, ga.ID())
	if err != nil {
		t.Fatal(err)
	}
	before := epochOf(t, gb)

	// The sender refuses a floor it would itself refuse.
	for _, v := range []string{"99.0.0", "1.9.1-rc1", "1.2.3-rc.1", "1.2.3+b"} {
		if err := ga.UpdateAttribute(ctx, policy.FieldMinimumSupportedProtocolVersion, v); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("alice sets floor %q: %v, want ErrInvalidArgument", v, err)
		}
	}

	stream, err := b.StreamAllMessages(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	sendHostile(t, a, ga, setAttrs(AttrMinVersion, "99.0.0"))
	if _, err := ga.SendText(ctx, "in the old epoch"); err != nil {
		t.Fatalf("alice (not paused: her own commit is dropped) sends: %v", err)
	}
	if _, err := other.SendText(ctx, "in the other group"); err != nil {
		t.Fatal(err)
	}
	// The stream handles messages in node order: once the other group's
	// message is out, the paused group's commit and message were handled.
	if got := nextN(t, stream, 1, 30*time.Second); len(texts(got)) != 1 || texts(got)[0] != "in the other group" {
		t.Fatalf("stream gave %q first, want the other group's message", texts(got))
	}
	_ = stream.Close()
	if v, err := gb.PausedForVersion(ctx); err != nil || v != "99.0.0" {
		t.Fatalf("bob paused for %q (%v) after the stream, want 99.0.0", v, err)
	}
	if slices.Contains(appTexts(t, gb), "in the old epoch") {
		t.Fatal("bob processed a message after the commit that paused the group")
	}

	if err := gb.Sync(ctx); err != nil {
		t.Fatalf("sync of a paused group: %v", err)
	}
	if sum, err := b.SyncAllWelcomesAndGroups(ctx, nil); err != nil {
		t.Fatalf("sync all with a paused group: %+v, %v", sum, err)
	}
	all := func() int {
		msgs, err := gb.FindMessages(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(msgs)
	}
	n := all()
	_, err = gb.SendText(ctx, "refused")
	expectPausedErr(t, "send", err, "99.0.0")
	if all() != n {
		t.Fatal("a refused send stored its message")
	}
	queued, err := gb.SendMessageOptimistic(ctx, EncodeText("queued while paused"), nil)
	if err != nil {
		t.Fatalf("optimistic send into a paused group: %v (libxmtp stores it)", err)
	}
	expectPausedErr(t, "publish", gb.PublishMessages(ctx), "99.0.0")
	// A deletion is refused before anything is stored, as a send.
	n = all()
	_, err = gb.DeleteMessage(ctx, queued)
	expectPausedErr(t, "delete", err, "99.0.0")
	if dels, err := b.db.DeletionsOf(ctx, [][]byte{queued}); err != nil || len(dels) != 0 || all() != n {
		t.Fatalf("a refused deletion stored something: %d deletions (%v)", len(dels), err)
	}
	expectPausedErr(t, "rename", gb.UpdateGroupName(ctx, "renamed"), "99.0.0")
	if epochOf(t, gb) != before || slices.Contains(appTexts(t, gb), "in the old epoch") {
		t.Fatal("the paused group moved")
	}

	// The floor lowered by a member that is not paused: bob reads nothing
	// after the commit that paused him, so he stays paused.
	if err := ga.UpdateAttribute(ctx, policy.FieldMinimumSupportedProtocolVersion, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	if err := gb.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := gb.PausedForVersion(ctx); v != "99.0.0" {
		t.Fatalf("bob paused for %q after the floor was lowered, want still 99.0.0", v)
	}

	// Restart: the pause is stored.
	_ = b.Close()
	b = openTestClient(t, tn.addr, bWallet, bPath, "bob again")
	if gb, err = b.Group(ctx, ga.ID()); err != nil {
		t.Fatal(err)
	}
	_, err = gb.SendText(ctx, "refused after restart")
	expectPausedErr(t, "send after restart", err, "99.0.0")

	// Upgrade: sends stay refused until a sync lifts the pause.
	b.setVersion("99.0.0")
	_, err = gb.SendText(ctx, "refused before a sync")
	expectPausedErr(t, "send after the upgrade, before a sync", err, "99.0.0")
	if err := gb.Sync(ctx); err != nil {
		t.Fatalf("sync after the upgrade: %v", err)
	}
	info, err := gb.Info(ctx)
	if err != nil || info.PausedForVersion != "" || info.Epoch != before+1 || info.MinimumSupportedProtocolVersion() != "99.0.0" {
		t.Fatalf("bob after the upgrade: %+v (%v); want unpaused in epoch %d with floor 99.0.0", info, err, before+1)
	}
	if !slices.Contains(appTexts(t, gb), "in the old epoch") {
		t.Fatal("bob did not process the message that followed the commit")
	}
	msgs, err := gb.FindMessages(ctx, &MessageQuery{Kind: KindApplication})
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(msgs, func(m Message) bool { return string(m.ID) == string(queued) }); i < 0 || msgs[i].DeliveryStatus != StatusPublished {
		t.Fatal("the message queued while paused was not published after the upgrade")
	}

	// A welcome into a group above our version: joined paused.
	c, _, _ := newTestClient(t, tn.addr, "carol")
	a.setVersion("99.0.0")
	high, err := a.CreateGroup(ctx, &GroupOptions{Name: "high floor"})
	if err != nil {
		t.Fatal(err)
	}
	if err := high.UpdateAttribute(ctx, policy.FieldMinimumSupportedProtocolVersion, "99.0.0"); err != nil {
		t.Fatal(err)
	}
	if _, err := high.AddMembers(ctx, []identity.InboxID{c.InboxID()}); err != nil {
		t.Fatal(err)
	}
	gc := joinOne(t, c)
	if v, err := gc.PausedForVersion(ctx); err != nil || v != "99.0.0" {
		t.Fatalf("carol joined paused for %q (%v), want 99.0.0", v, err)
	}
	_, err = gc.SendText(ctx, "refused")
	expectPausedErr(t, "carol's send", err, "99.0.0")
}

// TestVersionPauseSavedWithPage: the pause a received commit causes is
// stored in the transaction that stores the messages before it on the
// same page, never alone. The save of bob's page fails (a panic at the
// crash point before it, which the group's goroutine turns into an error
// and a reload from the database): neither the pause nor the message
// before the commit is stored, and the next sync stores both. Were the
// pause written on its own, the group would stay paused with that
// message never processed.
func TestVersionPauseSavedWithPage(t *testing.T) {
	var armed, fired atomic.Bool
	crashHook = func(point string) {
		if point == "sync.before_save" && armed.CompareAndSwap(true, false) {
			fired.Store(true)
			panic("save of the page fails")
		}
	}
	t.Cleanup(func() { crashHook = nil }) // runs after the clients close
	tn := startTestNode(t)
	ctx := ctxT(t)
	a, _, _ := newTestClient(t, tn.addr, "alice")
	b, _, _ := newTestClient(t, tn.addr, "bob")
	ga, _, err := a.CreateGroupWithMembers(ctx, &GroupOptions{Name: "page"}, []identity.InboxID{b.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	gb := joinOne(t, b)
	if err := gb.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ga.SendText(ctx, "before the pause"); err != nil {
		t.Fatal(err)
	}
	sendHostile(t, a, ga, setAttrs(AttrMinVersion, "99.0.0"))

	armed.Store(true)
	if err := gb.Sync(ctx); !errors.Is(err, ErrInternal) || !fired.Load() {
		t.Fatalf("sync whose save fails: %v (hook fired %v), want ErrInternal", err, fired.Load())
	}
	row, err := b.db.Group(ctx, gb.id)
	if err != nil {
		t.Fatal(err)
	}
	if row.PausedForVersion != "" || slices.Contains(appTexts(t, gb), "before the pause") {
		t.Fatalf("after the failed save: paused for %q, messages %q; want neither stored", row.PausedForVersion, appTexts(t, gb))
	}

	if err := gb.Sync(ctx); err != nil {
		t.Fatalf("sync again: %v", err)
	}
	if v, err := gb.PausedForVersion(ctx); err != nil || v != "99.0.0" {
		t.Fatalf("paused for %q (%v), want 99.0.0", v, err)
	}
	if !slices.Contains(appTexts(t, gb), "before the pause") {
		t.Fatal("the message before the commit that paused the group was not stored")
	}
}

func epochOf(t *testing.T, g *Group) uint64 {
	t.Helper()
	info, err := g.Info(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return info.Epoch
}

// TestVersionWelcomePause: which welcomes store a group paused (libxmtp's
// welcome rules: groups only, a floor that parses and is above ours).
func TestVersionWelcomePause(t *testing.T) {
	c := &Client{}
	c.log = testLogger(t, "welcome")
	ext := func(typ content.ConversationType, attrs map[string]string) *GroupExtensions {
		return &GroupExtensions{Metadata: &content.GroupMetadataV1{ConversationType: typ},
			Mutable: &content.GroupMutableMetadataV1{Attributes: attrs}}
	}
	group, dm := content.ConversationType_CONVERSATION_TYPE_GROUP, content.ConversationType_CONVERSATION_TYPE_DM
	tests := []struct {
		name string
		ext  *GroupExtensions
		want string
	}{
		{"no floor", ext(group, map[string]string{}), ""},
		{"floor below", ext(group, map[string]string{AttrMinVersion: "1.6.0"}), ""},
		{"floor equal", ext(group, map[string]string{AttrMinVersion: "01.09.01"}), ""},
		{"floor above", ext(group, map[string]string{AttrMinVersion: "99.0.0"}), "99.0.0"},
		{"suffixed floor of our version", ext(group, map[string]string{AttrMinVersion: "1.9.1-rc1"}), "1.9.1-rc1"},
		{"unparseable floor", ext(group, map[string]string{AttrMinVersion: "99.0.0-rc.1"}), ""},
		{"DM floor above", ext(dm, map[string]string{AttrMinVersion: "99.0.0"}), ""},
	}
	for _, tt := range tests {
		if got := c.welcomePause(tt.ext); got != tt.want {
			t.Errorf("%s: welcomePause = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestVersionInterop: libxmtp 1.9.1 and Go read a minimum supported
// protocol version alike. A Go super admin sets floors in a group with a
// Go member and a libxmtp member: the floors 1.9.1 parses are applied by
// everyone ("01.2.3", "+1.+2.+3"), semantic versions it does not parse
// are refused by everyone ("1.2.3-rc.1", "1.2.3+b"), and "1.9.1-rc1",
// which semantic versioning puts below 1.9.1 but 1.9.1 puts above itself,
// pauses both. Lowering the floor afterwards lifts neither pause. Then a
// welcome into a group whose floor is above 1.9.1 is stored paused by
// both.
func TestVersionInterop(t *testing.T) {
	env := &interopEnv{node: startTestNode(t)}
	env.peer = interoptest.StartPeer(t, interoptest.Dir(t))
	ctx := ctxT(t)
	lib := env.libxmtp(t, "ver-lib", "")
	a, _, aLogs := newWatchedClient(t, env.node.addr, "alice")
	v, _, vLogs := newWatchedClient(t, env.node.addr, "victor")
	ga, res, err := a.CreateGroupWithMembers(ctx, &GroupOptions{Name: "version parsing"}, []identity.InboxID{inboxOf(lib), v.InboxID()})
	if err != nil || len(res.Added) != 2 {
		t.Fatalf("create: %+v %v", res, err)
	}
	gid := ga.ID().String()
	env.peer.Call(t, map[string]any{"op": "waitGroup", "client": "ver-lib", "group": gid, "count": 1, "timeoutMs": 30000})
	r := &policyRoom{p: env.peer, lib: "ver-lib", gid: gid,
		honest: []*hostileMember{{name: "victor", c: v, g: joinOne(t, v), logs: vLogs}},
		mal:    &hostileMember{name: "alice", c: a, g: ga, logs: aLogs}}
	r.exchange(t, "setup")

	floorIs := func(want string) func(t *testing.T, r *policyRoom) {
		return func(t *testing.T, r *policyRoom) {
			if info, err := r.honest[0].g.Info(ctxT(t)); err != nil || info.MinimumSupportedProtocolVersion() != want {
				t.Fatalf("victor reads floor %q (%v), want %q", info.MinimumSupportedProtocolVersion(), err, want)
			}
		}
	}
	for _, tc := range []policyCase{
		{name: "LeadingZerosApplied", build: setAttrs(AttrMinVersion, "01.2.3"), check: floorIs("01.2.3")},
		{name: "PlusSignsApplied", build: setAttrs(AttrMinVersion, "+1.+2.+3"), check: floorIs("+1.+2.+3")},
		{name: "OlderSuffixApplied", build: setAttrs(AttrMinVersion, "1.9.0-rc5"), check: floorIs("1.9.0-rc5")},
		{name: "OwnVersionApplied", build: setAttrs(AttrMinVersion, "1.9.1"), check: floorIs("1.9.1")},
		{name: "SemverPreReleaseRejected", rule: "invalid version", build: setAttrs(AttrMinVersion, "1.2.3-rc.1")},
		{name: "SemverBuildRejected", rule: "invalid version", build: setAttrs(AttrMinVersion, "1.2.3+b")},
		{name: "TwoPartsRejected", rule: "invalid version", build: setAttrs(AttrMinVersion, "1.2")},
		{name: "Over32BitsRejected", rule: "invalid version", build: setAttrs(AttrMinVersion, "4294967296.0.0")},
	} {
		t.Run(tc.name, func(t *testing.T) { r.run(t, tc) })
	}

	t.Run("SuffixOfOwnVersionPauses", func(t *testing.T) {
		const floor = "1.9.1-rc1"
		before := r.epoch(t)
		sendHostile(t, a, ga, setAttrs(AttrMinVersion, floor))
		r.honest[0].expectPaused(t, floor, before)
		expectLibPaused(t, r, floor, before)

		// Alice is not paused (she dropped her own commit): she lowers the
		// floor again. Neither paused member reads it.
		sendOwn(t, a, ga, setAttrs(AttrMinVersion, "1.0.0"))
		if got := r.mal.epoch(t); got != before+1 {
			t.Fatalf("alice in epoch %d, want %d", got, before+1)
		}
		r.honest[0].expectPaused(t, floor, before)
		expectLibPaused(t, r, floor, before)
	})

	t.Run("WelcomePaused", func(t *testing.T) {
		const floor = "99.0.0"
		up, _, _ := newTestClient(t, env.node.addr, "upgraded")
		up.setVersion(floor)
		carol, _, _ := newTestClient(t, env.node.addr, "carol")
		g, err := up.CreateGroup(ctxT(t), &GroupOptions{Name: "high floor"})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.UpdateAttribute(ctxT(t), policy.FieldMinimumSupportedProtocolVersion, floor); err != nil {
			t.Fatal(err)
		}
		if res, err := g.AddMembers(ctxT(t), []identity.InboxID{inboxOf(lib), carol.InboxID()}); err != nil || len(res.Added) != 2 {
			t.Fatalf("add: %+v %v", res, err)
		}
		env.peer.Call(t, map[string]any{"op": "waitGroup", "client": "ver-lib", "group": g.ID().String(), "count": 1, "timeoutMs": 30000})
		gc := joinOne(t, carol)
		(&hostileMember{name: "carol", c: carol, g: gc}).expectPaused(t, floor, epochOf(t, g))
		expectLibPaused(t, &policyRoom{p: env.peer, lib: "ver-lib", gid: g.ID().String()}, floor, epochOf(t, g))
	})
}

// expectLibPaused checks that the libxmtp member is in epoch, paused for
// floor, and refuses to send.
func expectLibPaused(t *testing.T, r *policyRoom, floor string, epoch uint64) {
	t.Helper()
	info := peerGroupInfo(t, r.p, r.lib, r.gid)
	if fmt.Sprint(info["epoch"]) != fmt.Sprint(epoch) || info["pausedForVersion"] != floor {
		t.Fatalf("libxmtp in epoch %v paused for %v; want epoch %d paused for %s", info["epoch"], info["pausedForVersion"], epoch, floor)
	}
	res := r.p.Try(t, map[string]any{"op": "send", "client": r.lib, "group": r.gid, "text": "libxmtp while paused"})
	if res["ok"] != false || !strings.Contains(fmt.Sprint(res["error"]), "paused until version "+floor) {
		t.Fatalf("libxmtp send in the paused group: %v", res)
	}
}
