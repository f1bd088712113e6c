package client

import (
	"encoding/hex"
	"errors"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"mlsbridge/identity"
	"mlsbridge/storage"
	"mlsbridge/wire/content"
	"mlsbridge/wire/contenttype"
)

// TestCodecRoundTrips: every standard codec encodes what libxmtp encodes
// (type, parameters, fallback) and decodes it back.
func TestCodecRoundTrips(t *testing.T) {
	r := StandardCodecs()
	ref := hex.EncodeToString(make([]byte, 32))
	for _, tc := range []struct {
		name     string
		t        ContentTypeID
		v        any
		params   map[string]string
		fallback string
	}{
		{"text", ContentTypeText, "hello", map[string]string{"encoding": "UTF-8"}, ""},
		{"markdown", ContentTypeMarkdown, Markdown("*hi*"), map[string]string{"encoding": "UTF-8"}, ""},
		{"reaction added", ContentTypeReaction, &Reaction{Reference: ref, ReferenceInboxID: "ab", Action: ReactionAdded,
			Content: "👍", Schema: SchemaUnicode}, map[string]string{}, `Reacted with "👍" to an earlier message`},
		{"reaction removed", ContentTypeReaction, &Reaction{Reference: ref, Action: ReactionRemoved, Content: "x",
			Schema: SchemaCustom}, map[string]string{}, `Removed "x" from an earlier message`},
		{"legacy reaction", ContentTypeLegacyReaction, &Reaction{Reference: ref, ReferenceInboxID: "cd", Action: ReactionRemoved,
			Content: ":+1:", Schema: SchemaShortcode}, map[string]string{}, `Removed ":+1:" from an earlier message`},
		{"reply", ContentTypeReply, &Reply{Reference: ref, ReferenceInboxID: "ef", Content: EncodeText("yes")},
			map[string]string{"reference": ref, "referenceInboxId": "ef", "contentType": "xmtp.org/text:1.0"},
			`Replied with "yes" to an earlier message`},
		{"reply without inbox", ContentTypeReply, &Reply{Reference: ref, Content: &content.EncodedContent{
			Type: ContentTypeReadReceipt.wire()}}, map[string]string{"reference": ref, "contentType": "xmtp.org/readReceipt:1.0"},
			"Replied to an earlier message"},
		{"read receipt", ContentTypeReadReceipt, ReadReceipt{}, map[string]string{}, ""},
		{"leave request", ContentTypeLeaveRequest, &LeaveRequest{}, map[string]string{}, ""},
		{"delete message", ContentTypeDeleteMessage, &DeleteMessage{MessageID: ref}, map[string]string{}, ""},
		{"group updated", ContentTypeGroupUpdated, &content.GroupUpdated{InitiatedByInboxId: "aa",
			LeftInboxes: []*content.GroupUpdated_Inbox{{InboxId: "bb"}}}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ec, err := r.Encode(tc.t, tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if got := contentTypeOf(ec); got != tc.t {
				t.Errorf("type = %s, want %s", got, tc.t)
			}
			if len(ec.GetParameters())+len(tc.params) > 0 && !equalMaps(ec.GetParameters(), tc.params) {
				t.Errorf("parameters = %v, want %v", ec.GetParameters(), tc.params)
			}
			if ec.GetFallback() != tc.fallback || (tc.fallback == "" && ec.Fallback != nil) {
				t.Errorf("fallback = %v, want %q", ec.Fallback, tc.fallback)
			}
			b, err := deterministic.Marshal(ec)
			if err != nil {
				t.Fatal(err)
			}
			back := new(content.EncodedContent)
			if err := proto.Unmarshal(b, back); err != nil {
				t.Fatal(err)
			}
			v, err := r.Decode(back)
			if err != nil {
				t.Fatal(err)
			}
			if !sameValue(v, tc.v) {
				t.Errorf("decoded %#v, want %#v", v, tc.v)
			}
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sameValue(a, b any) bool {
	switch x := a.(type) {
	case *Reaction:
		return *x == *b.(*Reaction)
	case *Reply:
		y := b.(*Reply)
		return x.Reference == y.Reference && x.ReferenceInboxID == y.ReferenceInboxID && proto.Equal(x.Content, y.Content)
	case *LeaveRequest:
		return slices.Equal(x.AuthenticatedNote, b.(*LeaveRequest).AuthenticatedNote)
	case *DeleteMessage:
		return *x == *b.(*DeleteMessage)
	case proto.Message:
		return proto.Equal(x, b.(proto.Message))
	}
	return a == b
}

// TestCodecWireBytes: the reaction, deletion and leave-request bodies are
// the protobufs libxmtp reads; the legacy reaction is its JSON; reference
// ids are extracted as libxmtp stores them.
func TestCodecWireBytes(t *testing.T) {
	ref := "0a0b0c"
	ec, err := ReactionCodec{}.Encode(&Reaction{Reference: ref, Action: ReactionAdded, Content: "🎉", Schema: SchemaUnicode})
	if err != nil {
		t.Fatal(err)
	}
	var w contenttype.ReactionV2
	if err := proto.Unmarshal(ec.GetContent(), &w); err != nil || w.GetReference() != ref ||
		w.GetAction() != contenttype.ReactionAction_REACTION_ACTION_ADDED || w.GetSchema() != contenttype.ReactionSchema_REACTION_SCHEMA_UNICODE {
		t.Fatalf("ReactionV2 = %v, %v", &w, err)
	}
	if got := referenceIDOf(ec); !slices.Equal(got, []byte{10, 11, 12}) {
		t.Errorf("reaction reference id = %x", got)
	}
	legacy := &content.EncodedContent{Type: ContentTypeLegacyReaction.wire(),
		Content: []byte(`{"action":"added","reference":"0a0b0c","schema":"unicode","content":"x"}`)}
	v, err := LegacyReactionCodec{}.Decode(legacy)
	if err != nil || *v.(*Reaction) != (Reaction{Reference: ref, Action: ReactionAdded, Content: "x", Schema: SchemaUnicode}) {
		t.Fatalf("legacy reaction = %#v, %v", v, err)
	}
	if got := referenceIDOf(legacy); !slices.Equal(got, []byte{10, 11, 12}) {
		t.Errorf("legacy reaction reference id = %x", got)
	}
	if _, err := (LegacyReactionCodec{}).Decode(&content.EncodedContent{Content: []byte(`{"action":"added"}`)}); err == nil {
		t.Error("legacy reaction without its required fields decoded")
	}
	del, _ := DeleteMessageCodec{}.Encode(&DeleteMessage{MessageID: ref})
	if !slices.Equal(del.GetContent(), append([]byte{0x0a, 6}, ref...)) || !slices.Equal(referenceIDOf(del), []byte{10, 11, 12}) {
		t.Errorf("DeleteMessage body %x reference %x", del.GetContent(), referenceIDOf(del))
	}
	leave, _ := LeaveRequestCodec{}.Encode(&LeaveRequest{})
	if len(leave.GetContent()) != 0 || leave.Fallback != nil || referenceIDOf(leave) != nil {
		t.Errorf("LeaveRequest = %v", leave)
	}
	reply, _ := ReplyCodec{}.Encode(&Reply{Reference: ref, Content: EncodeText("t")})
	if !slices.Equal(referenceIDOf(reply), []byte{10, 11, 12}) || referenceIDOf(EncodeText("t")) != nil {
		t.Errorf("reply reference id = %x", referenceIDOf(reply))
	}
	bad, _ := ReplyCodec{}.Encode(&Reply{Reference: "not hex", Content: EncodeText("t")})
	if referenceIDOf(bad) != nil {
		t.Error("a reference that is not hex gave an id")
	}
}

// TestCodecRegistry: unknown types, wrong values, duplicates, overrides,
// and hostile bytes (no panics).
func TestCodecRegistry(t *testing.T) {
	r := StandardCodecs()
	if _, err := r.Decode(&content.EncodedContent{Type: (&ContentTypeID{AuthorityID: "x.org", TypeID: "y", VersionMajor: 1}).wire()}); !errors.Is(err, ErrCodecNotFound) {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := r.Decode(&content.EncodedContent{}); !errors.Is(err, ErrCodecNotFound) {
		t.Errorf("no type: %v", err)
	}
	if _, err := r.Encode(ContentTypeReaction, "not a reaction"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("wrong value: %v", err)
	}
	if _, err := r.Decode(&content.EncodedContent{Type: (&ContentTypeID{AuthorityID: "xmtp.org", TypeID: "text", VersionMajor: 2}).wire()}); !errors.Is(err, ErrCodecNotFound) {
		t.Errorf("text 2.0: %v", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a duplicate codec did not panic")
			}
		}()
		NewCodecRegistry(TextCodec{}, TextCodec{})
	}()
	custom := r.With(fixedCodec{})
	if v, err := custom.Decode(EncodeText("ignored")); err != nil || v != "fixed" {
		t.Errorf("override: %v %v", v, err)
	}
	if v, err := r.Decode(EncodeText("kept")); err != nil || v != "kept" {
		t.Errorf("With changed the original: %v %v", v, err)
	}
	hostile := [][]byte{{0xff}, {0x0a, 0xff, 0x01}, {0x08, 0x80}, {0x22, 0x05, 0x01}, []byte("{not json")}
	for _, ct := range []ContentTypeID{ContentTypeText, ContentTypeMarkdown, ContentTypeReaction, ContentTypeLegacyReaction,
		ContentTypeReply, ContentTypeReadReceipt, ContentTypeLeaveRequest, ContentTypeDeleteMessage, ContentTypeGroupUpdated} {
		for _, b := range hostile {
			ec := &content.EncodedContent{Type: ct.wire(), Content: b}
			_, _ = r.Decode(ec)
			_ = referenceIDOf(ec)
		}
	}
}

// fixedCodec decodes every xmtp.org/text:1 as "fixed".
type fixedCodec struct{ TextCodec }

func (fixedCodec) Decode(*content.EncodedContent) (any, error) { return "fixed", nil }

// enrichedOf returns g's enriched application messages after a sync.
func enrichedOf(t *testing.T, g *Group) []EnrichedMessage {
	t.Helper()
	mustSync(t, g)
	ms, err := g.FindEnrichedMessages(ctxT(t), &MessageQuery{Kind: KindApplication})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// findEnriched returns the enriched message with id.
func findEnriched(t *testing.T, ms []EnrichedMessage, id MessageID) *EnrichedMessage {
	t.Helper()
	for i := range ms {
		if slices.Equal(ms[i].ID, id) {
			return &ms[i]
		}
	}
	t.Fatalf("message %s not in the enriched view", id)
	return nil
}

// TestEnrichedReactionsAndReplies: reactions and replies attach to their
// targets on every member, as libxmtp's enriched view: reactions (not
// folded) in order, a reply count, the message a reply answers; reactions
// are not listed themselves.
func TestEnrichedReactionsAndReplies(t *testing.T) {
	n := startNode(t)
	addr := n.Addr().String()
	ctx := ctxT(t)
	a, _, _ := newTestClient(t, addr, "alice")
	b, _, _ := newTestClient(t, addr, "bob")
	ag, _, err := a.CreateGroupWithMembers(ctx, nil, []identity.InboxID{b.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	bg := joinOne(t, b)
	hi, err := ag.SendText(ctx, "hi")
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, bg)
	r1, err := bg.SendReaction(ctx, &Reaction{Reference: hi.String(), ReferenceInboxID: string(a.InboxID()), Action: ReactionAdded,
		Content: "👍", Schema: SchemaUnicode})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := bg.SendReaction(ctx, &Reaction{Reference: hi.String(), Action: ReactionRemoved, Content: "👍", Schema: SchemaUnicode})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := bg.SendReply(ctx, &Reply{Reference: hi.String(), ReferenceInboxID: string(a.InboxID()), Content: EncodeText("hello back")})
	if err != nil {
		t.Fatal(err)
	}
	for name, g := range map[string]*Group{"alice": ag, "bob": bg} {
		ms := enrichedOf(t, g)
		if len(ms) != 2 {
			t.Fatalf("%s: %d enriched messages, want 2 (hi, reply)", name, len(ms))
		}
		m := findEnriched(t, ms, hi)
		if text, ok := m.Text(); !ok || text != "hi" || m.NumReplies != 1 || len(m.Reactions) != 2 {
			t.Fatalf("%s: hi = %q replies %d reactions %d", name, text, m.NumReplies, len(m.Reactions))
		}
		if !slices.Equal(m.Reactions[0].ID, r1) || !slices.Equal(m.Reactions[1].ID, r2) ||
			m.Reactions[0].Content.(*Reaction).Action != ReactionAdded || m.Reactions[1].Content.(*Reaction).Action != ReactionRemoved {
			t.Errorf("%s: reactions %v", name, m.Reactions)
		}
		rm := findEnriched(t, ms, rep)
		er, ok := rm.Content.(*EnrichedReply)
		if !ok || er.Reference != hi.String() || er.InReplyTo == nil || !slices.Equal(er.InReplyTo.ID, hi) {
			t.Fatalf("%s: reply = %#v", name, rm.Content)
		}
		if text, _ := rm.Text(); text != "hello back" || rm.Fallback != `Replied with "hello back" to an earlier message` {
			t.Errorf("%s: reply text %q fallback %q", name, text, rm.Fallback)
		}
	}
	raw, err := ag.FindMessages(ctx, &MessageQuery{ContentTypes: []string{"reaction"}})
	if err != nil || len(raw) != 2 {
		t.Fatalf("alice's raw reactions: %d (%v)", len(raw), err)
	}
	if v, err := a.Codecs().DecodeMessage(&raw[0]); err != nil || v.(*Reaction).ReferenceInboxID != string(a.InboxID()) {
		t.Errorf("stored reaction decodes to %#v, %v", v, err)
	}
}

// TestDeleteMessage: the sender and a super admin may delete, others not;
// only deletable types; not twice; everyone then sees the message as
// deleted (by whom), without its reactions and replies, and replies to it
// show it deleted; a forged deletion is ignored; local deletion.
func TestDeleteMessage(t *testing.T) {
	n := startNode(t)
	addr := n.Addr().String()
	ctx := ctxT(t)
	a, _, _ := newTestClient(t, addr, "alice")
	b, _, _ := newTestClient(t, addr, "bob")
	c, _, _ := newTestClient(t, addr, "carol")
	ag, bg, cg := leaveGroupOf(t, a, b, c)
	aliceMsg, err := ag.SendText(ctx, "from alice")
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, bg, cg)
	bobMsg, err := bg.SendText(ctx, "from bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cg.SendReaction(ctx, &Reaction{Reference: bobMsg.String(), Action: ReactionAdded, Content: "x", Schema: SchemaUnicode}); err != nil {
		t.Fatal(err)
	}
	replyID, err := cg.SendReply(ctx, &Reply{Reference: bobMsg.String(), Content: EncodeText("re")})
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, ag, bg)

	if _, err := bg.DeleteMessage(ctx, aliceMsg); !errors.Is(err, ErrDeleteNotAuthorized) {
		t.Fatalf("bob deletes alice's message: %v", err)
	}
	if _, err := bg.DeleteMessage(ctx, MessageID(make([]byte, 32))); !errors.Is(err, ErrMessageNotFound) {
		t.Fatalf("delete an unknown message: %v", err)
	}
	updates, err := ag.FindMessages(ctx, &MessageQuery{Kind: KindMembershipChange})
	if err != nil || len(updates) == 0 {
		t.Fatal(err)
	}
	if _, err := ag.DeleteMessage(ctx, updates[0].ID); !errors.Is(err, ErrMessageNotDeletable) {
		t.Fatalf("delete a membership change: %v", err)
	}

	// The sender deletes its own message; a super admin deletes bob's.
	if _, err := ag.DeleteMessage(ctx, aliceMsg); err != nil {
		t.Fatalf("alice deletes her message: %v", err)
	}
	if _, err := ag.DeleteMessage(ctx, aliceMsg); !errors.Is(err, ErrMessageAlreadyDeleted) {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := ag.DeleteMessage(ctx, bobMsg); err != nil {
		t.Fatalf("super admin deletes bob's message: %v", err)
	}
	for name, g := range map[string]*Group{"alice": ag, "bob": bg, "carol": cg} {
		ms := enrichedOf(t, g)
		am, bm := findEnriched(t, ms, aliceMsg), findEnriched(t, ms, bobMsg)
		if d, ok := am.Content.(*DeletedMessage); !ok || d.DeletedBy != DeletedBySender || am.ContentType != ContentTypeDeletedMessage {
			t.Errorf("%s: alice's message = %#v (%s)", name, am.Content, am.ContentType)
		}
		if d, ok := bm.Content.(*DeletedMessage); !ok || d.DeletedBy != DeletedByAdmin || d.AdminInboxID != a.InboxID() ||
			len(bm.Reactions) != 0 || bm.NumReplies != 0 {
			t.Errorf("%s: bob's message = %#v reactions %d replies %d", name, bm.Content, len(bm.Reactions), bm.NumReplies)
		}
		rep := findEnriched(t, ms, replyID).Content.(*EnrichedReply)
		if rep.InReplyTo == nil || !rep.InReplyTo.Deleted() {
			t.Errorf("%s: reply's parent = %#v", name, rep.InReplyTo)
		}
	}

	// A member who is neither the sender nor a super admin forges a
	// deletion: sent, but ignored by everyone.
	forged, _ := DeleteMessageCodec{}.Encode(&DeleteMessage{MessageID: replyID.String()})
	if _, err := bg.Send(ctx, forged, &SendOptions{NoPush: true}); err != nil {
		t.Fatal(err)
	}
	for name, g := range map[string]*Group{"alice": ag, "carol": cg} {
		if findEnriched(t, enrichedOf(t, g), replyID).Deleted() {
			t.Errorf("%s: forged deletion applied", name)
		}
	}

	// A crash after DeleteMessage queued its message but before it recorded
	// the deletion (a transaction of its own): the deletion is recorded
	// when our message comes back.
	lost, err := ag.SendText(ctx, "deleted across a crash")
	if err != nil {
		t.Fatal(err)
	}
	queued, _ := DeleteMessageCodec{}.Encode(&DeleteMessage{MessageID: lost.String()})
	if _, err := ag.Send(ctx, queued, &SendOptions{NoPush: true}); err != nil {
		t.Fatal(err)
	}
	if !findEnriched(t, enrichedOf(t, ag), lost).Deleted() {
		t.Error("alice: own deletion not recorded when it came back")
	}

	if n, err := c.DeleteLocalMessage(ctx, replyID); err != nil || n != 1 {
		t.Fatalf("DeleteLocalMessage = %d, %v", n, err)
	}
	if n, err := c.DeleteLocalMessage(ctx, replyID); err != nil || n != 0 {
		t.Fatalf("second DeleteLocalMessage = %d, %v", n, err)
	}
	if _, err := c.FindMessage(ctx, replyID); !errors.Is(err, ErrMessageNotFound) {
		t.Fatalf("locally deleted message still found: %v", err)
	}
	if _, err := a.FindMessage(ctx, replyID); err != nil {
		t.Fatalf("local deletion reached alice: %v", err)
	}
}

// TestDeletionValidity: libxmtp's is_deletion_valid, which also decides a
// deletion recorded before its target arrived: by the sender, or by whoever
// was a super admin when it was recorded; same group; deletable target.
func TestDeletionValidity(t *testing.T) {
	group := [][]byte{{9}}
	target := storage.ClientMessage{ID: []byte{1, 2, 3}, GroupID: group[0], Kind: int16(KindApplication), SenderInboxID: "bob", TypeID: "text"}
	del := func(by string, super bool) storage.MessageDeletion {
		return storage.MessageDeletion{ID: []byte{7}, GroupID: group[0], DeletedMessageID: target.ID, DeletedByInboxID: by, IsSuperAdminDeletion: super}
	}
	with := func(f func(*storage.ClientMessage)) *storage.ClientMessage {
		m := target
		f(&m)
		return &m
	}
	for _, tc := range []struct {
		name string
		d    storage.MessageDeletion
		m    *storage.ClientMessage
		want bool
	}{
		{"by the sender", del("bob", false), &target, true},
		{"by a super admin", del("alice", true), &target, true},
		{"by another member", del("carol", false), &target, false},
		{"other target", del("bob", false), with(func(m *storage.ClientMessage) { m.ID = []byte{4} }), false},
		{"other group", del("bob", false), with(func(m *storage.ClientMessage) { m.GroupID = []byte{8} }), false},
		{"reaction", del("bob", false), with(func(m *storage.ClientMessage) { m.TypeID = "reaction" }), false},
		{"membership change", del("bob", true), with(func(m *storage.ClientMessage) { m.Kind = int16(KindMembershipChange) }), false},
		{"reply", del("bob", false), with(func(m *storage.ClientMessage) { m.TypeID = "reply" }), true},
	} {
		if got := deletionValid(&tc.d, tc.m, group); got != tc.want {
			t.Errorf("%s: valid = %v, want %v", tc.name, got, tc.want)
		}
	}
	rel := &relations{deletions: map[string][]storage.MessageDeletion{string(target.ID): {del("carol", false), del("bob", false)}}}
	m := EnrichedMessage{Content: "x", Reactions: []EnrichedMessage{{}}, NumReplies: 2}
	if !rel.markDeleted(&m, &target, group) || m.Content.(*DeletedMessage).DeletedBy != DeletedBySender || m.NumReplies != 0 || m.Reactions != nil {
		t.Errorf("markDeleted with an invalid then a valid deletion: %#v", m)
	}
}

// FuzzCodecDecode: no standard codec panics on hostile content, and what
// decodes encodes back to content that decodes to the same value.
func FuzzCodecDecode(f *testing.F) {
	types := []ContentTypeID{ContentTypeText, ContentTypeMarkdown, ContentTypeReaction, ContentTypeLegacyReaction, ContentTypeReply,
		ContentTypeReadReceipt, ContentTypeLeaveRequest, ContentTypeDeleteMessage, ContentTypeGroupUpdated}
	for i, ct := range types {
		f.Add(uint8(i), []byte{}, "")
		v := map[ContentTypeID]any{ContentTypeReaction: &Reaction{Reference: "00", Content: "x"}, ContentTypeReply: &Reply{Content: EncodeText("t")},
			ContentTypeDeleteMessage: &DeleteMessage{MessageID: "ab"}, ContentTypeLegacyReaction: &Reaction{Action: ReactionAdded}}[ct]
		if v != nil {
			ec, _ := StandardCodecs().Encode(ct, v)
			f.Add(uint8(i), ec.GetContent(), ec.GetParameters()["reference"])
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte, ref string) {
		ct := types[int(which)%len(types)]
		ec := &content.EncodedContent{Type: ct.wire(), Parameters: map[string]string{"reference": ref}, Content: body}
		_ = referenceIDOf(ec)
		v, err := StandardCodecs().Decode(ec)
		if err != nil {
			return
		}
		again, err := StandardCodecs().Encode(ct, v)
		if err != nil {
			t.Fatalf("%s: re-encode %#v: %v", ct, v, err)
		}
		w, err := StandardCodecs().Decode(again)
		if err != nil || !sameValue(w, v) {
			t.Fatalf("%s: %#v re-decoded as %#v (%v)", ct, v, w, err)
		}
	})
}
