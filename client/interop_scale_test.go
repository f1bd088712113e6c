package client

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"mlsbridge/identity"
	"mlsbridge/internal/interoptest"
)

// The scale interop scenarios: mixed groups of Go and libxmtp members,
// hundreds of messages both ways, and a Go stream across a node restart
// while libxmtp keeps sending. TestInterop (interop_test.go,
// interop_ops_test.go) covers each operation between two or three
// members with sequential sends; these add size and concurrency.

// TestInteropScale runs the scale scenarios against one node and one
// libxmtp process.
func TestInteropScale(t *testing.T) {
	runInterop(t, []interopScenario{
		{"MixedGroupGoCreates", func(t *testing.T, env *interopEnv) { interopScaleMixed(t, env, "mg", true) }},
		{"MixedGroupLibxmtpCreates", func(t *testing.T, env *interopEnv) { interopScaleMixed(t, env, "ml", false) }},
		{"FiveHundredMessages", interopScaleManyMessages},
		{"StreamAcrossRestartWhileLibxmtpSends", interopScaleStreamRestart}, // restarts the node: keep last
	})
}

// scaleMsg is one application message as a member sees it.
type scaleMsg struct{ id, sender, text string }

func (m scaleMsg) String() string { return m.text }

// goScaleMessages syncs g and returns its application messages.
func goScaleMessages(t *testing.T, g *Group) []scaleMsg {
	t.Helper()
	ctx := ctxT(t)
	if err := g.Sync(ctx); err != nil {
		t.Fatalf("sync: %v", err)
	}
	msgs, err := g.FindMessages(ctx, &MessageQuery{Kind: KindApplication})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]scaleMsg, len(msgs))
	for i, m := range msgs {
		text, err := m.Text()
		if err != nil {
			t.Fatalf("message %s: %v", m.ID, err)
		}
		out[i] = scaleMsg{id: m.ID.String(), sender: string(m.SenderInboxID), text: text}
	}
	return out
}

// peerScaleMessages syncs the libxmtp client's group and returns its
// application messages.
func peerScaleMessages(t *testing.T, p *interoptest.Peer, client, group string) []scaleMsg {
	t.Helper()
	var out []scaleMsg
	for _, m := range peerMessages(t, p, client, group) {
		text, _ := m["text"].(string)
		out = append(out, scaleMsg{id: m["id"].(string), sender: m["sender"].(string), text: text})
	}
	return out
}

// checkSameMessages fails unless every member's list equals the first
// member's, and that list holds each sent message (text → id) exactly once
// with the id its sender computed.
func checkSameMessages(t *testing.T, seen map[string][]scaleMsg, sent map[string]string) []scaleMsg {
	t.Helper()
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range seen {
			if !yield(k) {
				return
			}
		}
	})
	ref := seen[names[0]]
	for _, n := range names[1:] {
		if !slices.Equal(seen[n], ref) {
			t.Fatalf("%s sees %d messages %v\n%s sees %d messages %v", n, len(seen[n]), seen[n], names[0], len(ref), ref)
		}
	}
	if len(ref) != len(sent) {
		t.Fatalf("members see %d messages, %d were sent: %v", len(ref), len(sent), ref)
	}
	for _, m := range ref {
		id, ok := sent[m.text]
		if !ok {
			t.Fatalf("members see %q, which nobody sent (or twice)", m.text)
		}
		if id != m.id {
			t.Errorf("message %q: members see id %s, its sender computed %s", m.text, m.id, id)
		}
		delete(sent, m.text)
	}
	return ref
}

// interopScaleMixed: a group of 5 Go and 5 libxmtp members, created by a
// Go client (goCreates) or a libxmtp client; every member sends one
// message at the same time as the others, and all ten members see the
// same ten messages in the same order; then the creator removes one member
// of each kind, and every member sees it.
func interopScaleMixed(t *testing.T, env *interopEnv, prefix string, goCreates bool) {
	ctx := ctxT(t)
	p := env.peer
	const n = 5
	gos := make([]*Client, n)
	lxs := make([]string, n)
	var all []identity.InboxID
	for i := range n {
		gos[i], _, _ = newTestClient(t, env.node.addr, fmt.Sprintf("%s-go%d", prefix, i))
		lxs[i] = fmt.Sprintf("%s-lx%d", prefix, i)
		all = append(all, gos[i].InboxID(), inboxOf(env.libxmtp(t, lxs[i], "")))
	}
	creator := all[1] // lx0
	if goCreates {
		creator = all[0]
	}
	others := slices.DeleteFunc(slices.Clone(all), func(id identity.InboxID) bool { return id == creator })

	// Create, then every member joins.
	groups := make([]*Group, n) // Go members' view
	var gid string
	if goCreates {
		g, res, err := gos[0].CreateGroupWithMembers(ctx, &GroupOptions{Name: prefix}, others)
		if err != nil || len(res.Added) != len(others) || len(res.FailedInstallations) != 0 {
			t.Fatalf("go creates the group of %d: %+v %v", len(all), res, err)
		}
		groups[0], gid = g, g.ID().String()
	} else {
		var ids []string
		for _, id := range others {
			ids = append(ids, string(id))
		}
		gid = p.Call(t, map[string]any{"op": "newGroup", "client": lxs[0], "members": ids, "name": prefix})["group"].(string)
	}
	for i, c := range gos {
		if groups[i] != nil {
			continue
		}
		if _, err := c.SyncWelcomes(ctx); err != nil {
			t.Fatalf("%s-go%d: sync welcomes: %v", prefix, i, err)
		}
		g, err := c.Group(ctx, GroupID(mustHex(t, gid)))
		if err != nil {
			t.Fatalf("%s-go%d did not join: %v", prefix, i, err)
		}
		groups[i] = g
	}
	for i, lx := range lxs {
		if i == 0 && !goCreates {
			continue
		}
		p.Call(t, map[string]any{"op": "waitGroup", "client": lx, "group": gid, "timeoutMs": 30000})
	}

	// Everyone sends at once: the Go members from goroutines, the libxmtp
	// members (one process, one command at a time) from here.
	sent := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, g := range groups {
		wg.Go(func() {
			text := fmt.Sprintf("%s: hello from go%d", prefix, i)
			id, err := g.SendText(ctx, text)
			errs[i] = err
			mu.Lock()
			sent[text] = id.String()
			mu.Unlock()
		})
	}
	for i, lx := range lxs {
		text := fmt.Sprintf("%s: hello from lx%d", prefix, i)
		id := p.Call(t, map[string]any{"op": "send", "client": lx, "group": gid, "text": text})["messageId"].(string)
		mu.Lock()
		sent[text] = id
		mu.Unlock()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s-go%d sends: %v", prefix, i, err)
		}
	}
	seen := map[string][]scaleMsg{}
	for i, g := range groups {
		seen[fmt.Sprintf("go%d", i)] = goScaleMessages(t, g)
	}
	for i, lx := range lxs {
		seen[fmt.Sprintf("lx%d", i)] = peerScaleMessages(t, p, lx, gid)
	}
	order := checkSameMessages(t, seen, sent)
	t.Logf("all %d members see %v", len(seen), order)

	// The creator removes one member of each kind.
	gone := []identity.InboxID{gos[n-1].InboxID(), all[2*n-1]}
	if goCreates {
		if _, err := groups[0].RemoveMembers(ctx, gone); err != nil {
			t.Fatalf("go removes a go and a libxmtp member: %v", err)
		}
	} else {
		p.Call(t, map[string]any{"op": "removeMembers", "client": lxs[0], "group": gid, "members": []string{string(gone[0]), string(gone[1])}})
	}
	want := slices.DeleteFunc(slices.Clone(all), func(id identity.InboxID) bool { return slices.Contains(gone, id) })
	slices.Sort(want)
	for i, g := range groups {
		checkGoAfterRemoval(t, g, fmt.Sprintf("go%d", i), i == n-1, want, gone, creator)
	}
	for i, lx := range lxs {
		if i == n-1 {
			if info := peerGroupInfo(t, p, lx, gid); info["isActive"] != false {
				t.Errorf("removed libxmtp member %s is still active: %v", lx, info)
			}
			continue
		}
		members := peerMemberInstallations(t, p, lx, gid)
		got := slices.Sorted(func(yield func(identity.InboxID) bool) {
			for id := range members {
				if !yield(id) {
					return
				}
			}
		})
		if !slices.Equal(got, want) {
			t.Errorf("libxmtp member %s lists %v, want %v", lx, got, want)
		}
	}
}

// checkGoAfterRemoval syncs a Go member's group after the removal of gone:
// a removed member is inactive; the others list want and record the
// removal by creator.
func checkGoAfterRemoval(t *testing.T, g *Group, name string, removed bool, want, gone []identity.InboxID, creator identity.InboxID) {
	t.Helper()
	ctx := ctxT(t)
	if err := g.Sync(ctx); err != nil {
		t.Fatalf("%s: sync after the removal: %v", name, err)
	}
	info, err := g.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if removed {
		if info.Active {
			t.Errorf("removed go member %s is still active", name)
		}
		return
	}
	ms, err := g.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []identity.InboxID
	for _, m := range ms {
		got = append(got, m.InboxID)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) || !info.Active {
		t.Errorf("go member %s (active %v) lists %v, want %v", name, info.Active, got, want)
	}
	upd := lastUpdate(t, g)
	var rm []identity.InboxID
	for _, r := range upd.GetRemovedInboxes() {
		rm = append(rm, identity.InboxID(r.GetInboxId()))
	}
	slices.Sort(rm)
	if !slices.Equal(rm, slices.Sorted(slices.Values(gone))) || upd.GetInitiatedByInboxId() != string(creator) {
		t.Errorf("go member %s: last membership change removed %v by %s, want %v by %s", name, rm, upd.GetInitiatedByInboxId(), gone, creator)
	}
}

// interopScaleManyMessages: a Go and a libxmtp member exchange 520
// messages in one group, 260 each way, in rounds where both send a batch
// of 20 at the same time; both sides end with all 520 exactly once, in
// the same order, each sender's messages in the order sent.
func interopScaleManyMessages(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	const rounds, batch = 13, 20
	lx := env.libxmtp(t, "mm-lx", "")
	goc, _, _ := newTestClient(t, env.node.addr, "mm-go")
	g, res, err := goc.CreateGroupWithMembers(ctx, &GroupOptions{Name: "many messages"}, []identity.InboxID{inboxOf(lx)})
	if err != nil || len(res.Added) != 1 {
		t.Fatalf("create: %+v %v", res, err)
	}
	gid := g.ID().String()
	p.Call(t, map[string]any{"op": "waitGroup", "client": "mm-lx", "group": gid, "timeoutMs": 30000})

	sent := map[string]string{}
	var goOrder, lxOrder []string
	for r := range rounds {
		var wg sync.WaitGroup
		var goErr error
		goSent := make([]string, batch)
		wg.Go(func() {
			for i := range batch {
				id, err := g.SendText(ctx, fmt.Sprintf("go %d.%d", r, i))
				if err != nil {
					goErr = fmt.Errorf("go sends %d.%d: %w", r, i, err)
					return
				}
				goSent[i] = id.String()
			}
		})
		for i := range batch {
			text := fmt.Sprintf("lx %d.%d", r, i)
			sent[text] = p.Call(t, map[string]any{"op": "send", "client": "mm-lx", "group": gid, "text": text})["messageId"].(string)
			lxOrder = append(lxOrder, text)
		}
		wg.Wait()
		if goErr != nil {
			t.Fatal(goErr)
		}
		for i, id := range goSent {
			text := fmt.Sprintf("go %d.%d", r, i)
			sent[text] = id
			goOrder = append(goOrder, text)
		}
	}
	total := len(sent)
	seen := map[string][]scaleMsg{"go": goScaleMessages(t, g), "libxmtp": peerScaleMessages(t, p, "mm-lx", gid)}
	order := checkSameMessages(t, seen, sent)
	var gotGo, gotLx []string
	for _, m := range order {
		switch m.sender {
		case string(goc.InboxID()):
			gotGo = append(gotGo, m.text)
		case string(inboxOf(lx)):
			gotLx = append(gotLx, m.text)
		default:
			t.Fatalf("message %q from %s", m.text, m.sender)
		}
	}
	if !slices.Equal(gotGo, goOrder) || !slices.Equal(gotLx, lxOrder) {
		t.Fatalf("a sender's messages are out of order:\ngo: %v\nlibxmtp: %v", gotGo, gotLx)
	}
	switches := 0
	for i := 1; i < len(order); i++ {
		if order[i].sender != order[i-1].sender {
			switches++
		}
	}
	t.Logf("%d messages (%d each way), same order on both sides, the sender changing %d times", total, rounds*batch, switches)
}

// interopScaleStreamRestart: a Go member streams a group (and all its
// messages) while a libxmtp member sends without pause; the node stops
// after the stream has delivered ten messages and restarts 300 ms later
// on the same address and database; libxmtp goes on sending through and
// after the restart, and both Go streams deliver every message exactly
// once, in order.
func interopScaleStreamRestart(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	env.libxmtp(t, "sr-lx", "")
	goc, _, _ := newTestClient(t, env.node.addr, "sr-go")
	gid := p.Call(t, map[string]any{"op": "newGroup", "client": "sr-lx", "members": []string{string(goc.InboxID())}, "name": "restart"})["group"].(string)
	bg := joinOne(t, goc)
	if bg.ID().String() != gid {
		t.Fatalf("joined %s, want %s", bg.ID(), gid)
	}
	gs, err := bg.Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer gs.Close()
	all, err := goc.StreamAllMessages(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()

	// The sender goes on until 10 messages after the restart (at most 300),
	// recording when each send ran in the peer (Unix ms: "at", "at"+"ms").
	var sent []string
	var spans [][2]int64
	var sendErr error
	restarted := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		after := 0
		for i := 0; i < 300 && after < 10; i++ {
			text := fmt.Sprintf("r%d", i)
			res := p.Try(t, map[string]any{"op": "send", "client": "sr-lx", "group": gid, "text": text})
			if ok, _ := res["ok"].(bool); !ok {
				sendErr = fmt.Errorf("libxmtp send %s: %v", text, res["error"])
				return
			}
			at, _ := res["at"].(float64)
			ms, _ := res["ms"].(float64)
			sent = append(sent, text)
			spans = append(spans, [2]int64{int64(at), int64(at + ms)})
			select {
			case <-restarted:
				after++
			default:
			}
		}
	})
	before := texts(nextApp(t, gs, 10, 60*time.Second))
	// Keep the node down long enough that a libxmtp send meets it down
	// (each send needs the node; libxmtp retries for ~2 s) and Go's
	// subscriptions fail to reconnect at least once.
	env.node.stop()
	time.Sleep(300 * time.Millisecond)
	up := time.Now().UnixMilli()
	env.node.start(env.node.addr)
	close(restarted)
	wg.Wait()
	if sendErr != nil {
		t.Fatal(sendErr)
	}
	across := slices.IndexFunc(spans, func(sp [2]int64) bool { return sp[0] < up && sp[1] > up })
	if across < 0 {
		t.Fatalf("no libxmtp send was under way when the node came back (sends %v, node up at %d)", spans, up)
	}
	if len(sent) < 20 {
		t.Fatalf("libxmtp sent only %d messages", len(sent))
	}
	got := append(before, texts(nextApp(t, gs, len(sent)-10, 60*time.Second))...)
	if !slices.Equal(got, sent) {
		t.Fatalf("group stream across the restart:\n got %v\nwant %v", got, sent)
	}
	if got := texts(nextApp(t, all, len(sent), 60*time.Second)); !slices.Equal(got, sent) {
		t.Fatalf("all-messages stream across the restart:\n got %v\nwant %v", got, sent)
	}
	// Nothing is delivered twice: the next message is the next one sent.
	p.Call(t, map[string]any{"op": "send", "client": "sr-lx", "group": gid, "text": "last"})
	for name, s := range map[string]*Stream[Message]{"group": gs, "all": all} {
		if got := texts(nextApp(t, s, 1, 30*time.Second)); !slices.Equal(got, []string{"last"}) {
			t.Fatalf("%s stream then gave %v, want [last]", name, got)
		}
	}
	if stored := appTexts(t, bg); !slices.Equal(stored, append(slices.Clone(sent), "last")) {
		t.Fatalf("go stored %d messages, want %d", len(stored), len(sent)+1)
	}
	t.Logf("libxmtp sent %d messages; %s waited %d ms for the node to come back", len(sent), sent[across], spans[across][1]-spans[across][0])
}
