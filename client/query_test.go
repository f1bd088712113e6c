package client

import (
	"fmt"
	"slices"
	"testing"

	"mlsbridge/identity"
	"mlsbridge/wire/content"
)

// TestFindMessagesFilters covers every MessageQuery filter on real
// traffic.
func TestFindMessagesFilters(t *testing.T) {
	n := startNode(t)
	addr := n.Addr().String()
	ctx := ctxT(t)
	a, _, _ := newTestClient(t, addr, "alice")
	b, _, _ := newTestClient(t, addr, "bob")
	g, _, err := a.CreateGroupWithMembers(ctx, nil, []identity.InboxID{b.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	bg := joinOne(t, b)
	for i := range 4 {
		if _, err := g.SendText(ctx, fmt.Sprintf("a%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bg.SendText(ctx, "b0"); err != nil {
		t.Fatal(err)
	}
	reaction := &content.EncodedContent{Type: &content.ContentTypeId{AuthorityId: "xmtp.org", TypeId: "reaction", VersionMajor: 2},
		Content: []byte{0x0a, 0x01, 'x'}}
	if _, err := bg.Send(ctx, reaction, nil); err != nil {
		t.Fatal(err)
	}
	queued, err := bg.SendMessageOptimistic(ctx, EncodeText("queued"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := bg.FindMessages(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// welcome record, a0..a3, b0, reaction, queued
	if len(all) != 8 {
		t.Fatalf("bob has %d messages: %v", len(all), texts(all))
	}
	a1, a3 := all[2].SentAtNs, all[4].SentAtNs
	for _, tc := range []struct {
		name string
		q    MessageQuery
		want []string
	}{
		{"kind application", MessageQuery{Kind: KindApplication}, []string{"a0", "a1", "a2", "a3", "b0", "<reaction>", "queued"}},
		{"kind membership", MessageQuery{Kind: KindMembershipChange}, []string{"<group_updated>"}},
		{"time range", MessageQuery{SentAfterNs: a1 - 1, SentBeforeNs: a3}, []string{"a1", "a2"}},
		{"unpublished", MessageQuery{DeliveryStatus: StatusUnpublished}, []string{"queued"}},
		{"published", MessageQuery{DeliveryStatus: StatusPublished, Kind: KindApplication, Limit: 2}, []string{"a0", "a1"}},
		{"descending", MessageQuery{Kind: KindApplication, Direction: Descending, Limit: 2}, []string{"queued", "<reaction>"}},
		{"content types", MessageQuery{ContentTypes: []string{"reaction"}}, []string{"<reaction>"}},
		{"exclude types", MessageQuery{ExcludeContentTypes: []string{"text"}}, []string{"<group_updated>", "<reaction>"}},
		{"exclude senders", MessageQuery{ExcludeSenders: []identity.InboxID{a.InboxID()}, Kind: KindApplication}, []string{"b0", "<reaction>", "queued"}},
		{"inserted after", MessageQuery{InsertedAfterNs: all[len(all)-2].InsertedNs, SortByInserted: true}, []string{"queued"}},
	} {
		got, err := bg.FindMessages(ctx, &tc.q)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(texts(got), tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, texts(got), tc.want)
		}
	}
	m, err := b.FindMessage(ctx, queued)
	if err != nil || m.DeliveryStatus != StatusUnpublished {
		t.Fatalf("FindMessage(queued) = %+v %v", m, err)
	}
	if got := appTexts(t, g); !slices.Equal(got, []string{"a0", "a1", "a2", "a3", "b0", "<reaction>"}) {
		t.Fatalf("alice read %v", got)
	}
}

// TestConversationQueries covers ListConversations, every GroupQuery
// filter, and SyncAllWelcomesAndGroups with a consent filter.
func TestConversationQueries(t *testing.T) {
	n := startNode(t)
	addr := n.Addr().String()
	ctx := ctxT(t)
	a, _, _ := newTestClient(t, addr, "alice")
	b, _, _ := newTestClient(t, addr, "bob")
	g1, _, err := a.CreateGroupWithMembers(ctx, &GroupOptions{Name: "one"}, []identity.InboxID{b.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	g2, _, err := a.CreateGroupWithMembers(ctx, &GroupOptions{Name: "two"}, []identity.InboxID{b.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	dm, _, err := a.FindOrCreateDM(ctx, b.InboxID())
	if err != nil {
		t.Fatal(err)
	}
	sum, err := b.SyncAllWelcomesAndGroups(ctx, nil)
	if err != nil || len(sum.Joined) != 3 || sum.NumEligible != 3 || sum.NumSynced != 3 {
		t.Fatalf("first SyncAll = %+v %v", sum, err)
	}
	bg1, _ := b.Group(ctx, g1.ID())
	bg2, _ := b.Group(ctx, g2.ID())
	if err := bg2.UpdateConsentState(ctx, ConsentDenied); err != nil {
		t.Fatal(err)
	}
	if err := bg1.UpdateConsentState(ctx, ConsentAllowed); err != nil {
		t.Fatal(err)
	}
	for _, g := range []*Group{g1, g2, dm} {
		if _, err := g.SendText(ctx, "to "+g.ID().String()[:4]); err != nil {
			t.Fatal(err)
		}
	}
	sum, err = b.SyncAllWelcomesAndGroups(ctx, nil)
	if err != nil || sum.NumEligible != 2 || sum.NumSynced != 2 {
		t.Fatalf("SyncAll (allowed, unknown) = %+v %v", sum, err)
	}
	if got := appTexts(t, bg2); len(got) != 0 {
		t.Fatalf("denied group synced: %v", got)
	}
	sum, err = b.SyncAllWelcomesAndGroups(ctx, []ConsentState{ConsentDenied})
	if err != nil || sum.NumEligible != 1 || sum.NumSynced != 1 || len(appTexts(t, bg2)) != 1 {
		t.Fatalf("SyncAll (denied) = %+v %v", sum, err)
	}

	list, err := b.ListConversations(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("listed %d conversations (denied ones excluded), want 2", len(list))
	}
	for _, c := range list {
		if c.LastMessage == nil || c.ConsentState == ConsentDenied {
			t.Errorf("conversation %s: %+v", c.Group.ID(), c)
		}
	}
	every := []ConsentState{ConsentAllowed, ConsentUnknown, ConsentDenied}
	ids := func(q *GroupQuery) []string {
		t.Helper()
		if q != nil && q.ConsentStates == nil { // the cases below filter on everything else
			qq := *q
			qq.ConsentStates, q = every, &qq
		}
		gs, err := b.FindGroups(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, g := range gs {
			out = append(out, g.ID().String())
		}
		return out
	}
	rows := map[string]int64{}
	for _, g := range []*Group{g1, g2, dm} {
		r, _ := b.db.Group(ctx, g.ID())
		rows[g.ID().String()] = r.CreatedNs
	}
	id1, id2, idDM := g1.ID().String(), g2.ID().String(), dm.ID().String()
	for _, tc := range []struct {
		name string
		q    *GroupQuery
		want []string
	}{
		{"default hides denied", nil, []string{idDM, id1}},
		{"all", &GroupQuery{}, []string{idDM, id2, id1}},
		{"groups", &GroupQuery{ConversationType: content.ConversationType_CONVERSATION_TYPE_GROUP}, []string{id2, id1}},
		{"dms", &GroupQuery{ConversationType: content.ConversationType_CONVERSATION_TYPE_DM}, []string{idDM}},
		{"allowed", &GroupQuery{ConsentStates: []ConsentState{ConsentAllowed}}, []string{id1}},
		{"unknown", &GroupQuery{ConsentStates: []ConsentState{ConsentUnknown}}, []string{idDM}},
		{"created after", &GroupQuery{CreatedAfterNs: rows[id1]}, []string{idDM, id2}},
		{"created before", &GroupQuery{CreatedBeforeNs: rows[idDM]}, []string{id2, id1}},
		{"limit", &GroupQuery{Limit: 1}, []string{idDM}},
		{"pending", &GroupQuery{MembershipStates: []MembershipState{MembershipPending}}, []string{idDM, id2, id1}},
		{"allowed state", &GroupQuery{MembershipStates: []MembershipState{MembershipAllowed}}, nil},
		{"by activity", &GroupQuery{OrderByLastActivity: true, ConsentStates: []ConsentState{ConsentAllowed, ConsentUnknown}}, nil},
	} {
		got := ids(tc.q)
		if tc.name == "by activity" {
			if len(got) != 2 {
				t.Errorf("%s: %v", tc.name, got)
			}
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	last, _ := b.db.Group(ctx, g2.ID())
	if got := ids(&GroupQuery{LastActivityAfterNs: last.LastMessageNs - 1, LastActivityBeforeNs: last.LastMessageNs + 1}); !slices.Equal(got, []string{id2}) {
		t.Errorf("activity range: %v", got)
	}
}
