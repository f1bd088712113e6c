package client

import (
	"slices"
	"testing"

	"mlsbridge/identity"
	"mlsbridge/internal/interoptest"
)

// TestInteropEnriched runs the reaction, reply, deletion and leave
// scenarios against the official libxmtp (see interop_test.go), on one
// node and one libxmtp process.
func TestInteropEnriched(t *testing.T) {
	runInterop(t, []interopScenario{
		{"LibxmtpReactsRepliesDeletes", interopLibxmtpReactsRepliesDeletes},
		{"GoReactsRepliesDeletes", interopGoReactsRepliesDeletes},
		{"LibxmtpLeavesGoRemoves", interopLibxmtpLeavesGoRemoves},
		{"GoLeavesLibxmtpRemoves", interopGoLeavesLibxmtpRemoves},
	})
}

// peerEnriched returns libxmtp's enriched view of a group (all kinds when
// all), keyed by message id, and the ids in order.
func peerEnriched(t *testing.T, p *interoptest.Peer, client, group string, all bool) (map[string]map[string]any, []string) {
	t.Helper()
	res := p.Call(t, map[string]any{"op": "enriched", "client": client, "group": group, "all": all})
	byID := map[string]map[string]any{}
	var ids []string
	for _, m := range res["messages"].([]any) {
		mm := m.(map[string]any)
		byID[mm["id"].(string)] = mm
		ids = append(ids, mm["id"].(string))
	}
	return byID, ids
}

// interopLibxmtpReactsRepliesDeletes: libxmtp reacts to, replies to and
// deletes (as sender and as super admin) messages; the Go member's
// enriched view shows all of it as libxmtp's does.
func interopLibxmtpReactsRepliesDeletes(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	alice := env.libxmtp(t, "er-alice", "")
	bob, _, _ := newTestClient(t, env.node.addr, "er-bob")
	gid := p.Call(t, map[string]any{"op": "newGroup", "client": "er-alice", "members": []string{string(bob.InboxID())}})["group"].(string)
	bg := joinOne(t, bob)
	one, err := bg.SendText(ctx, "go one")
	if err != nil {
		t.Fatal(err)
	}
	two, err := bg.SendText(ctx, "go two")
	if err != nil {
		t.Fatal(err)
	}
	libMsg := p.Call(t, map[string]any{"op": "send", "client": "er-alice", "group": gid, "text": "from libxmtp"})["messageId"].(string)
	p.Call(t, map[string]any{"op": "syncGroup", "client": "er-alice", "group": gid})
	r1 := p.Call(t, map[string]any{"op": "sendReaction", "client": "er-alice", "group": gid, "messageId": one.String(), "emoji": "👍"})
	r2 := p.Call(t, map[string]any{"op": "sendReaction", "client": "er-alice", "group": gid, "messageId": one.String(), "emoji": "👍",
		"action": "removed"})
	rep := p.Call(t, map[string]any{"op": "sendReply", "client": "er-alice", "group": gid, "messageId": one.String(), "text": "re go"})
	p.Call(t, map[string]any{"op": "deleteMessage", "client": "er-alice", "group": gid, "messageId": libMsg})
	p.Call(t, map[string]any{"op": "deleteMessage", "client": "er-alice", "group": gid, "messageId": two.String()})

	ms := enrichedOf(t, bg)
	m1 := findEnriched(t, ms, one)
	if len(m1.Reactions) != 2 || m1.Reactions[0].ID.String() != r1["messageId"] || m1.Reactions[1].ID.String() != r2["messageId"] {
		t.Fatalf("go one's reactions = %v, want %s then %s", m1.Reactions, r1["messageId"], r2["messageId"])
	}
	for i, want := range []ReactionAction{ReactionAdded, ReactionRemoved} {
		r := m1.Reactions[i].Content.(*Reaction)
		if r.Action != want || r.Content != "👍" || r.Schema != SchemaUnicode || r.ReferenceInboxID != string(bob.InboxID()) ||
			string(m1.Reactions[i].SenderInboxID) != alice["inboxId"] {
			t.Errorf("reaction %d = %+v from %s", i, r, m1.Reactions[i].SenderInboxID)
		}
	}
	if m1.NumReplies != 1 {
		t.Errorf("go one has %d replies, want 1", m1.NumReplies)
	}
	rm := findEnriched(t, ms, mustHex(t, rep["messageId"].(string)))
	er, ok := rm.Content.(*EnrichedReply)
	if text, _ := rm.Text(); !ok || text != "re go" || er.InReplyTo == nil || !slices.Equal(er.InReplyTo.ID, one) {
		t.Fatalf("reply = %#v (%q)", rm.Content, text)
	}
	if d, ok := findEnriched(t, ms, mustHex(t, libMsg)).Content.(*DeletedMessage); !ok || d.DeletedBy != DeletedBySender {
		t.Errorf("libxmtp's own deletion: %#v", d)
	}
	if d, ok := findEnriched(t, ms, two).Content.(*DeletedMessage); !ok || d.DeletedBy != DeletedByAdmin || string(d.AdminInboxID) != alice["inboxId"] {
		t.Errorf("super-admin deletion of go two: %#v", d)
	}

	// libxmtp agrees on what it sees (its own deletions are not recorded
	// by the driver-built deleteMessage: only receivers apply them).
	lib, _ := peerEnriched(t, p, "er-alice", gid, false)
	if l := lib[one.String()]; l["numReplies"].(float64) != 1 || len(l["reactions"].([]any)) != 2 {
		t.Errorf("libxmtp's view of go one: %v", l)
	}
}

// interopGoReactsRepliesDeletes: Go reacts, replies and deletes (its own
// message, and libxmtp's as super admin); libxmtp's enriched view shows it.
func interopGoReactsRepliesDeletes(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	dave := env.libxmtp(t, "er-dave", "")
	carol, _, _ := newTestClient(t, env.node.addr, "er-carol")
	cg, _, err := carol.CreateGroupWithMembers(ctx, nil, []identity.InboxID{identity.InboxID(dave["inboxId"].(string))})
	if err != nil {
		t.Fatal(err)
	}
	gid := cg.ID().String()
	p.Call(t, map[string]any{"op": "waitGroup", "client": "er-dave", "group": gid})
	libOne := p.Call(t, map[string]any{"op": "send", "client": "er-dave", "group": gid, "text": "lib one"})["messageId"].(string)
	libTwo := p.Call(t, map[string]any{"op": "send", "client": "er-dave", "group": gid, "text": "lib two"})["messageId"].(string)
	mustSync(t, cg)
	react, err := cg.SendReaction(ctx, &Reaction{Reference: libOne, ReferenceInboxID: dave["inboxId"].(string), Action: ReactionAdded,
		Content: "🎉", Schema: SchemaUnicode})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := cg.SendReply(ctx, &Reply{Reference: libOne, ReferenceInboxID: dave["inboxId"].(string), Content: EncodeText("re libxmtp")})
	if err != nil {
		t.Fatal(err)
	}
	own, err := cg.SendText(ctx, "go text")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cg.DeleteMessage(ctx, own); err != nil {
		t.Fatal(err)
	}
	if _, err := cg.DeleteMessage(ctx, mustHex(t, libTwo)); err != nil {
		t.Fatal(err)
	}

	lib, _ := peerEnriched(t, p, "er-dave", gid, false)
	one := lib[libOne]
	rs, _ := one["reactions"].([]any)
	if len(rs) != 1 || one["numReplies"].(float64) != 1 {
		t.Fatalf("libxmtp's lib one: %v", one)
	}
	r := rs[0].(map[string]any)
	if r["id"] != react.String() || r["sender"] != string(carol.InboxID()) || r["action"] != "added" || r["content"] != "🎉" || r["schema"] != "unicode" {
		t.Errorf("libxmtp's reaction = %v", r)
	}
	rm := lib[reply.String()]
	irt, _ := rm["inReplyTo"].(map[string]any)
	if rm["type"] != "reply" || rm["text"] != "re libxmtp" || rm["reference"] != libOne || irt == nil || irt["id"] != libOne || irt["text"] != "lib one" {
		t.Errorf("libxmtp's reply = %v", rm)
	}
	if rm["fallback"] != `Replied with "re libxmtp" to an earlier message` {
		t.Errorf("reply fallback = %v", rm["fallback"])
	}
	if o := lib[own.String()]; o["deleted"] != true || o["deletedBy"] != "sender" || o["type"] != "deletedMessage" || o["text"] != nil {
		t.Errorf("libxmtp's view of Go's deleted message: %v", o)
	}
	if o := lib[libTwo]; o["deleted"] != true || o["deletedBy"] != "admin" || o["deletedByInbox"] != string(carol.InboxID()) {
		t.Errorf("libxmtp's view of the super-admin deletion: %v", o)
	}
	msgs := peerMessages(t, p, "er-dave", gid)
	var sawReaction bool
	for _, m := range msgs {
		if m["id"] == react.String() {
			sawReaction = true
			if m["contentType"] != "xmtp.org/reaction:2.0" || m["reference"] != libOne || m["referenceInboxId"] != dave["inboxId"] {
				t.Errorf("libxmtp's raw reaction = %v", m)
			}
		}
	}
	if !sawReaction {
		t.Error("libxmtp has no raw reaction message")
	}
	// Go's own view agrees.
	gm := enrichedOf(t, cg)
	if m := findEnriched(t, gm, mustHex(t, libOne)); len(m.Reactions) != 1 || m.NumReplies != 1 {
		t.Errorf("Go's lib one: %d reactions %d replies", len(m.Reactions), m.NumReplies)
	}
	if !findEnriched(t, gm, own).Deleted() || !findEnriched(t, gm, mustHex(t, libTwo)).Deleted() {
		t.Error("Go does not show its deletions")
	}
}

// interopLibxmtpLeavesGoRemoves: a libxmtp member leaves; the Go super
// admin sees the request and removes it; everyone, libxmtp included,
// records the member as left.
func interopLibxmtpLeavesGoRemoves(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	frank := env.libxmtp(t, "lv-frank", "")
	gina := env.libxmtp(t, "lv-gina", "")
	erin, _, _ := newTestClient(t, env.node.addr, "lv-erin")
	eg, _, err := erin.CreateGroupWithMembers(ctx, nil, []identity.InboxID{identity.InboxID(frank["inboxId"].(string)),
		identity.InboxID(gina["inboxId"].(string))})
	if err != nil {
		t.Fatal(err)
	}
	gid := eg.ID().String()
	p.Call(t, map[string]any{"op": "waitGroup", "client": "lv-frank", "group": gid})
	p.Call(t, map[string]any{"op": "waitGroup", "client": "lv-gina", "group": gid})
	res := p.Call(t, map[string]any{"op": "leaveGroup", "client": "lv-frank", "group": gid})
	if res["membershipState"] != "pendingRemove" || res["isActive"] != true {
		t.Fatalf("libxmtp leaveGroup = %v", res)
	}
	mustSync(t, eg)
	frankID := identity.InboxID(frank["inboxId"].(string))
	if got := pendingOf(t, eg); !slices.Equal(got, []identity.InboxID{frankID}) || !flagOf(t, eg) {
		t.Fatalf("Go pending removals %v flag %v", got, flagOf(t, eg))
	}
	leaves, err := eg.FindMessages(ctx, &MessageQuery{ContentTypes: []string{ContentTypeLeaveRequest.TypeID}})
	if err != nil || len(leaves) != 1 || leaves[0].SenderInboxID != frankID {
		t.Fatalf("Go's leave requests: %v (%v)", leaves, err)
	}
	if err := erin.ProcessPendingLeaveRequests(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := infoOf(t, eg).Membership[frankID]; ok {
		t.Fatal("frank still a member")
	}
	if upd := lastUpdate(t, eg); len(upd.GetLeftInboxes()) != 1 || upd.GetLeftInboxes()[0].GetInboxId() != string(frankID) ||
		len(upd.GetRemovedInboxes()) != 0 {
		t.Errorf("Go's record = %v", upd)
	}
	p.Call(t, map[string]any{"op": "waitMembers", "client": "lv-gina", "group": gid, "exclude": []string{string(frankID)}})
	lib, ids := peerEnriched(t, p, "lv-gina", gid, true)
	gu, _ := lib[ids[len(ids)-1]]["groupUpdated"].(map[string]any)
	if gu == nil || !slices.Equal(anyStrings(gu["left"]), []string{string(frankID)}) || len(anyStrings(gu["removed"])) != 0 ||
		gu["initiatedBy"] != string(erin.InboxID()) {
		t.Errorf("libxmtp member's record = %v", gu)
	}
	info := p.Call(t, map[string]any{"op": "groupInfo", "client": "lv-frank", "group": gid, "sync": true})
	if info["isActive"] != false {
		t.Errorf("frank still active: %v", info)
	}
}

// interopGoLeavesLibxmtpRemoves: the Go member leaves; libxmtp's super
// admin (its background worker) removes it; both record it as left.
func interopGoLeavesLibxmtpRemoves(t *testing.T, env *interopEnv) {
	ctx := ctxT(t)
	p := env.peer
	env.libxmtp(t, "lv-hank", "")
	ivan, _, _ := newTestClient(t, env.node.addr, "lv-ivan")
	gid := p.Call(t, map[string]any{"op": "newGroup", "client": "lv-hank", "members": []string{string(ivan.InboxID())}})["group"].(string)
	ig := joinOne(t, ivan)
	if err := ig.LeaveGroup(ctx); err != nil {
		t.Fatal(err)
	}
	if s := infoOf(t, ig).MembershipState; s != MembershipPendingRemove {
		t.Fatalf("Go membership state after leaving = %d", s)
	}
	p.Call(t, map[string]any{"op": "waitMembers", "client": "lv-hank", "group": gid, "exclude": []string{string(ivan.InboxID())},
		"timeoutMs": 30000})
	mustSync(t, ig) // the removal commit is on the node: waitMembers saw it
	if infoOf(t, ig).Active {
		t.Fatal("Go member still active after libxmtp removed it")
	}
	if upd := lastUpdate(t, ig); len(upd.GetLeftInboxes()) != 1 || upd.GetLeftInboxes()[0].GetInboxId() != string(ivan.InboxID()) {
		t.Errorf("Go's record of its removal = %v", upd)
	}
	if len(pendingOf(t, ig)) != 0 {
		t.Errorf("Go still lists %v as pending", pendingOf(t, ig))
	}
	lib, ids := peerEnriched(t, p, "lv-hank", gid, true)
	gu, _ := lib[ids[len(ids)-1]]["groupUpdated"].(map[string]any)
	if gu == nil || !slices.Equal(anyStrings(gu["left"]), []string{string(ivan.InboxID())}) {
		t.Errorf("libxmtp's record = %v", gu)
	}
}

func anyStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
