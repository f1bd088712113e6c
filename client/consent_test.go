package client

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mlsbridge/identity"
	"mlsbridge/internal/interoptest"
	"mlsbridge/wire/content"
)

// TestConsentSetGet: records for inboxes, conversations and addresses are
// validated, stored, replaced and read back; entities without a record are
// unknown.
func TestConsentSetGet(t *testing.T) {
	ctx := ctxT(t)
	n := startNode(t)
	addr := n.Addr().String()
	a, _, _ := newTestClient(t, addr, "a")
	b, bw, _ := newTestClient(t, addr, "b")
	g, err := a.CreateGroup(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	gid := g.ID().String()
	baddr, _ := bw.Identifier().Address()
	if s, err := g.ConsentState(ctx); err != nil || s != ConsentAllowed {
		t.Fatalf("own group consent %v %v, want allowed", s, err)
	}
	for _, tc := range []struct {
		name string
		r    ConsentRecord
	}{
		{"bad inbox", ConsentRecord{EntityType: ConsentInbox, Entity: "not-an-inbox", State: ConsentDenied}},
		{"bad conversation", ConsentRecord{EntityType: ConsentConversation, Entity: "zz", State: ConsentDenied}},
		{"empty conversation", ConsentRecord{EntityType: ConsentConversation, State: ConsentDenied}},
		{"address type", ConsentRecord{EntityType: 3, Entity: string(baddr), State: ConsentDenied}},
		{"bad state", ConsentRecord{EntityType: ConsentInbox, Entity: string(b.InboxID()), State: 3}},
	} {
		if err := a.SetConsentStates(ctx, tc.r); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", tc.name, err)
		}
	}
	if s, err := a.ConsentState(ctx, ConsentInbox, string(b.InboxID())); err != nil || s != ConsentUnknown {
		t.Fatalf("no record: %v %v", s, err)
	}
	// Conversation ids are stored in lowercase hex, whatever case is given.
	if err := a.SetConsentStates(ctx, ConsentRecord{EntityType: ConsentConversation, Entity: strings.ToUpper(gid), State: ConsentDenied},
		ConsentRecord{EntityType: ConsentInbox, Entity: string(b.InboxID()), State: ConsentAllowed}); err != nil {
		t.Fatal(err)
	}
	if s, _ := g.ConsentState(ctx); s != ConsentDenied {
		t.Fatalf("group consent %v after denying it by its upper-case id", s)
	}
	if s, _ := a.ConsentState(ctx, ConsentInbox, string(b.InboxID())); s != ConsentAllowed {
		t.Fatalf("inbox consent %v", s)
	}
	if err := g.UpdateConsentState(ctx, ConsentUnknown); err != nil {
		t.Fatal(err)
	}
	if s, _ := g.ConsentState(ctx); s != ConsentUnknown {
		t.Fatalf("group consent %v after reset", s)
	}

	// Address consent is inbox consent of the address's inbox.
	if err := a.SetAddressConsent(ctx, baddr, ConsentDenied); err != nil {
		t.Fatal(err)
	}
	if s, _ := a.ConsentState(ctx, ConsentInbox, string(b.InboxID())); s != ConsentDenied {
		t.Fatalf("inbox consent %v after denying its address", s)
	}
	if s, err := a.AddressConsentState(ctx, baddr); err != nil || s != ConsentDenied {
		t.Fatalf("address consent %v %v", s, err)
	}
	stranger, err := identity.GenerateEthereumSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	saddr, _ := stranger.Identifier().Address()
	if err := a.SetAddressConsent(ctx, saddr, ConsentAllowed); !errors.Is(err, ErrNoInbox) {
		t.Fatalf("address without inbox: %v, want ErrNoInbox", err)
	}
	ms, err := g.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m := findMember(ms, a.InboxID()); m == nil || m.ConsentState != ConsentUnknown {
		t.Fatalf("member listing: %+v", m)
	}
}

// TestConsentHidesDenied: the messages of a denied inbox and the
// conversations denied are still synced and stored, but hidden from
// queries and streams unless asked for.
func TestConsentHidesDenied(t *testing.T) {
	ctx := ctxT(t)
	n := startNode(t)
	addr := n.Addr().String()
	alice, _, _ := newTestClient(t, addr, "alice")
	bob, _, _ := newTestClient(t, addr, "bob")
	carol, _, _ := newTestClient(t, addr, "carol")
	g1, _, err := alice.CreateGroupWithMembers(ctx, &GroupOptions{Name: "one"}, []identity.InboxID{bob.InboxID(), carol.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	g2, _, err := alice.CreateGroupWithMembers(ctx, &GroupOptions{Name: "two"}, []identity.InboxID{bob.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.SyncAllWelcomesAndGroups(ctx, nil); err != nil {
		t.Fatal(err)
	}
	cg := joinOne(t, carol)
	if err := bob.SetConsentStates(ctx, ConsentRecord{EntityType: ConsentInbox, Entity: string(carol.InboxID()), State: ConsentDenied}); err != nil {
		t.Fatal(err)
	}
	b1, _ := bob.Group(ctx, g1.ID())
	b2, _ := bob.Group(ctx, g2.ID())
	all, err := bob.StreamAllMessages(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	one, err := b1.Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	every, err := b1.Stream(ctx, &StreamOptions{IncludeDeniedSenders: true})
	if err != nil {
		t.Fatal(err)
	}
	defer every.Close()

	if _, err := cg.SendText(ctx, "from carol"); err != nil {
		t.Fatal(err)
	}
	if _, err := g1.SendText(ctx, "from alice"); err != nil {
		t.Fatal(err)
	}
	syncGroup(t, b1)
	if got := appTexts(t, b1); !slices.Equal(got, []string{"from alice"}) {
		t.Fatalf("bob's query: %v, want carol hidden", got)
	}
	if got := storedTexts(t, bob, g1.ID()); !slices.Equal(got, []string{"from carol", "from alice"}) {
		t.Fatalf("bob stored %v, want both (hidden, not dropped)", got)
	}
	msgs, err := b1.FindMessages(ctx, &MessageQuery{Kind: KindApplication, IncludeDenied: true})
	if err != nil || !slices.Equal(texts(msgs), []string{"from carol", "from alice"}) {
		t.Fatalf("IncludeDenied: %v %v", texts(msgs), err)
	}
	if got := texts(nextApp(t, one, 1, 20*time.Second)); !slices.Equal(got, []string{"from alice"}) {
		t.Fatalf("group stream: %v", got)
	}
	if got := texts(nextApp(t, every, 2, 20*time.Second)); !slices.Equal(got, []string{"from carol", "from alice"}) {
		t.Fatalf("group stream with denied senders: %v", got)
	}
	if got := texts(nextApp(t, all, 1, 20*time.Second)); !slices.Equal(got, []string{"from alice"}) {
		t.Fatalf("all-messages stream: %v", got)
	}

	// A conversation denied while the stream runs is hidden from then on,
	// from listings too, but syncs on request.
	if err := b2.UpdateConsentState(ctx, ConsentDenied); err != nil {
		t.Fatal(err)
	}
	if _, err := g2.SendText(ctx, "in two"); err != nil {
		t.Fatal(err)
	}
	if _, err := g1.SendText(ctx, "in one"); err != nil {
		t.Fatal(err)
	}
	if got := texts(nextApp(t, all, 1, 20*time.Second)); !slices.Equal(got, []string{"in one"}) {
		t.Fatalf("all-messages stream after denying two: %v", got)
	}
	ids := func(gs []*Group) []string {
		var out []string
		for _, g := range gs {
			out = append(out, g.ID().String())
		}
		return out
	}
	gs, _ := bob.FindGroups(ctx, nil)
	if got := ids(gs); !slices.Equal(got, []string{g1.ID().String()}) {
		t.Fatalf("FindGroups default: %v", got)
	}
	gs, _ = bob.FindGroups(ctx, &GroupQuery{ConsentStates: []ConsentState{ConsentDenied}})
	if got := ids(gs); !slices.Equal(got, []string{g2.ID().String()}) {
		t.Fatalf("FindGroups denied: %v", got)
	}
	list, _ := bob.ListConversations(ctx, &GroupQuery{ConsentStates: []ConsentState{}})
	if len(list) != 1 || list[0].Group.ID().String() != g1.ID().String() {
		t.Fatalf("ListConversations with an empty filter: %v", list)
	}
	syncGroup(t, b2)
	if got := appTexts(t, b2); !slices.Equal(got, []string{"in two"}) {
		t.Fatalf("denied conversation synced on request: %v", got)
	}
}

// TestConsentInterop: libxmtp and Go keep the same consent records with
// the same defaults for the same entity types (inbox and conversation),
// and filter conversations alike.
func TestConsentInterop(t *testing.T) {
	ctx := ctxT(t)
	dir := interoptest.Dir(t)
	node := startTestNode(t)
	p := interoptest.StartPeer(t, dir)
	alice := p.Call(t, map[string]any{"op": "create", "client": "cs-alice", "db": filepath.Join(t.TempDir(), "a.db3"),
		"host": "http://" + node.addr, "register": true})
	bob, _, _ := newTestClient(t, node.addr, "bob")
	res := p.Call(t, map[string]any{"op": "newGroup", "client": "cs-alice", "members": []string{string(bob.InboxID())}, "name": "consent"})
	gid := res["group"].(string)
	peerConsent := func(entityType, entity string) string {
		t.Helper()
		r := p.Call(t, map[string]any{"op": "getConsent", "client": "cs-alice", "entityType": entityType, "entity": entity})
		return r["state"].(string)
	}
	bg := joinOne(t, bob)

	// Defaults: the creator's conversation is allowed, a welcomed one
	// unknown until we send in it; inboxes start unknown on both sides.
	if got := peerConsent("conversationId", gid); got != "allowed" {
		t.Errorf("libxmtp creator: %s", got)
	}
	if s, _ := bg.ConsentState(ctx); s != ConsentUnknown {
		t.Errorf("go welcomed: %v", s)
	}
	if got := peerConsent("inboxId", string(bob.InboxID())); got != "unknown" {
		t.Errorf("libxmtp inbox default: %s", got)
	}
	if _, err := bg.SendText(ctx, "hi"); err != nil {
		t.Fatal(err)
	}
	if s, _ := bg.ConsentState(ctx); s != ConsentAllowed {
		t.Errorf("go after sending: %v", s)
	}

	// The same records, set on each side, read back the same.
	for _, st := range []ConsentState{ConsentDenied, ConsentAllowed, ConsentUnknown} {
		r := p.Call(t, map[string]any{"op": "setConsent", "client": "cs-alice", "entityType": "inboxId",
			"entity": string(bob.InboxID()), "state": st.String()})
		if err := bob.SetConsentStates(ctx, ConsentRecord{EntityType: ConsentInbox, Entity: alice["inboxId"].(string), State: st}); err != nil {
			t.Fatal(err)
		}
		got, _ := bob.ConsentState(ctx, ConsentInbox, alice["inboxId"].(string))
		if r["state"] != st.String() || got.String() != r["state"] {
			t.Errorf("inbox %s: libxmtp %v, go %v", st, r["state"], got)
		}
	}
	ms := p.Call(t, map[string]any{"op": "members", "client": "cs-alice", "group": gid})["members"].([]any)
	for _, m := range ms {
		mm := m.(map[string]any)
		if mm["inboxId"] == string(bob.InboxID()) && mm["consentState"] != "unknown" {
			t.Errorf("libxmtp lists bob's consent as %v", mm["consentState"])
		}
	}

	// A denied conversation leaves both sides' default listings, and
	// returns when listed explicitly.
	p.Call(t, map[string]any{"op": "setConsent", "client": "cs-alice", "entityType": "conversationId", "entity": gid, "state": "denied"})
	if err := bg.UpdateConsentState(ctx, ConsentDenied); err != nil {
		t.Fatal(err)
	}
	listed := func(consent any) bool {
		cmd := map[string]any{"op": "listGroups", "client": "cs-alice", "type": "all"}
		if consent != nil {
			cmd["consent"] = consent
		}
		for _, g := range p.Call(t, cmd)["groups"].([]any) {
			if g.(map[string]any)["group"] == gid {
				return true
			}
		}
		return false
	}
	goListed := func(q *GroupQuery) bool {
		list, err := bob.ListConversations(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(list, func(c Conversation) bool { return c.Group.ID().String() == gid })
	}
	if listed(nil) || goListed(nil) {
		t.Errorf("denied conversation listed by default: libxmtp %v, go %v", listed(nil), goListed(nil))
	}
	if !listed([]string{"denied"}) || !goListed(&GroupQuery{ConsentStates: []ConsentState{ConsentDenied}}) {
		t.Errorf("denied conversation not listed on request")
	}
	if got := peerConsent("conversationId", gid); got != "denied" {
		t.Errorf("libxmtp reads %s", got)
	}
	gs, _ := bob.FindGroups(ctx, &GroupQuery{ConversationType: content.ConversationType_CONVERSATION_TYPE_GROUP})
	if len(gs) != 0 {
		t.Errorf("go FindGroups lists the denied group")
	}
}

// TestConsentWelcomeUnknown: a welcome into a group (not a DM) from
// another inbox leaves the group's consent unknown, whatever consent the
// joiner gave its other conversations (only a DM copies the newest consent
// of the DMs it is stitched with).
func TestConsentWelcomeUnknown(t *testing.T) {
	ctx := ctxT(t)
	n := startNode(t)
	addr := n.Addr().String()
	a, _, _ := newTestClient(t, addr, "a")
	b, _, _ := newTestClient(t, addr, "b")
	if _, _, err := a.CreateGroupWithMembers(ctx, &GroupOptions{Name: "first"}, []identity.InboxID{b.InboxID()}); err != nil {
		t.Fatal(err)
	}
	first := joinOne(t, b)
	if _, err := first.SendText(ctx, "hi"); err != nil { // b's implicit consent: allowed
		t.Fatal(err)
	}
	if s, err := first.ConsentState(ctx); err != nil || s != ConsentAllowed {
		t.Fatalf("first group after sending: %v %v, want allowed", s, err)
	}
	if _, _, err := a.CreateGroupWithMembers(ctx, &GroupOptions{Name: "second"}, []identity.InboxID{b.InboxID()}); err != nil {
		t.Fatal(err)
	}
	second := joinOne(t, b)
	if s, err := second.ConsentState(ctx); err != nil || s != ConsentUnknown {
		t.Fatalf("second group after its welcome: %v %v, want unknown", s, err)
	}
}
