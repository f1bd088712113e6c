package mls

import (
	"bytes"
	"testing"
)

// TestGroupWelcomeSender checks that a joiner learns who signed the
// GroupInfo of its Welcome, with that member's leaf as of the join, and
// keeps it across commits and a state round trip.
func TestGroupWelcomeSender(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	cfg := Config{UseRatchetTreeExtension: true}
	alice, bob, carol := newThreeMemberGroup(t, cs, cfg)
	if _, ok := alice.g.WelcomeSender(); ok {
		t.Fatal("the creator has a welcome sender")
	}
	m, ok := bob.g.WelcomeSender()
	if !ok || m.Index != 0 || string(m.LeafNode.Credential.Identity) != "alice" {
		t.Fatalf("bob's welcome sender = %d %q, %v; want alice at 0", m.Index, m.LeafNode.Credential.Identity, ok)
	}
	// Carol adds dave; dave's welcome comes from carol.
	dave := newTestClient(t, cs, "dave")
	res := commitAndDeliver(t, carol, CommitOptions{Adds: []KeyPackage{dave.bundle.KeyPackage}}, alice, bob)
	var err error
	if dave.g, err = JoinFromWelcome(cfg, res.Welcome, dave.bundle, nil); err != nil {
		t.Fatal(err)
	}
	m, ok = dave.g.WelcomeSender()
	carolLeaf, _ := carol.g.Member(carol.g.OwnLeafIndex())
	if !ok || m.Index != carol.g.OwnLeafIndex() || !bytes.Equal(m.LeafNode.EncryptionKey, carolLeaf.LeafNode.EncryptionKey) {
		t.Fatalf("dave's welcome sender = %d %q, %v; want carol's leaf", m.Index, m.LeafNode.Credential.Identity, ok)
	}
	// Carol commits again (a new leaf) and leaves; dave still knows the
	// leaf that welcomed him, also after a state round trip.
	commitAndDeliver(t, carol, CommitOptions{}, alice, bob, dave)
	commitAndDeliver(t, alice, CommitOptions{Removes: []LeafIndex{carol.g.OwnLeafIndex()}}, bob, dave)
	b, err := dave.g.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	restored, err := UnmarshalGroup(cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []*Group{dave.g, restored} {
		got, ok := g.WelcomeSender()
		if !ok || got.Index != m.Index || !bytes.Equal(got.LeafNode.EncryptionKey, m.LeafNode.EncryptionKey) ||
			string(got.LeafNode.Credential.Identity) != "carol" {
			t.Fatalf("welcome sender after carol left = %d %q, %v", got.Index, got.LeafNode.Credential.Identity, ok)
		}
	}
	if _, still := dave.g.Member(m.Index); still {
		t.Fatal("carol's leaf is still occupied")
	}
	// An external joiner has no welcome sender.
	gi, err := alice.g.GroupInfo(true)
	if err != nil {
		t.Fatal(err)
	}
	erin := newTestClient(t, cs, "erin")
	if erin.g, _, err = JoinExternal(cfg, gi, nil, erin.sigPriv, NewBasicCredential([]byte("erin")), nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := erin.g.WelcomeSender(); ok {
		t.Fatal("an external joiner has a welcome sender")
	}
}

// TestGroupSenderLeafPastEpoch checks that a late application message
// resolves its sender in the tree of its own epoch: carol's message of
// epoch 1 arrives after carol was removed and dave took her leaf.
func TestGroupSenderLeafPastEpoch(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	cfg := Config{UseRatchetTreeExtension: true, MaxPastEpochs: 2}
	alice, bob, carol := newThreeMemberGroup(t, cs, cfg)
	carolLeaf := *carol.g.s.tree.leaf(carol.g.OwnLeafIndex())
	late, err := carol.g.Encrypt([]byte("late"), nil)
	if err != nil {
		t.Fatal(err)
	}
	dave := newTestClient(t, cs, "dave")
	res, err := alice.g.Commit(CommitOptions{Removes: []LeafIndex{carol.g.OwnLeafIndex()}, Adds: []KeyPackage{dave.bundle.KeyPackage}})
	if err != nil {
		t.Fatal(err)
	}
	// The commit's SenderLeaf is the committer's leaf before the commit.
	aliceBefore := alice.g.s.tree.leaf(0)
	pm := deliver(t, res.Commit, bob)[0]
	if pm.SenderLeaf == nil || !bytes.Equal(pm.SenderLeaf.EncryptionKey, aliceBefore.EncryptionKey) {
		t.Fatal("commit: SenderLeaf is not alice's leaf of the commit's epoch")
	}
	// Alice's own echo carries her leaf too.
	if echo := deliver(t, res.Commit, alice)[0]; echo.SenderLeaf != aliceBefore {
		t.Fatal("own commit echo: SenderLeaf is not our leaf")
	}
	if dave.g, err = JoinFromWelcome(cfg, res.Welcome, dave.bundle, nil); err != nil {
		t.Fatal(err)
	}
	if cur, _ := bob.g.Member(carol.g.OwnLeafIndex()); string(cur.LeafNode.Credential.Identity) != "dave" {
		t.Fatalf("leaf %d holds %q, want dave", carol.g.OwnLeafIndex(), cur.LeafNode.Credential.Identity)
	}
	check := func(name string, g *Group) {
		t.Helper()
		m, err := ParseMLSMessage(mustBytes(t, late))
		if err != nil {
			t.Fatal(err)
		}
		pm, err := g.Process(m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(pm.ApplicationData) != "late" || pm.Epoch != 1 || pm.Sender.LeafIndex != carol.g.OwnLeafIndex() {
			t.Fatalf("%s: %q epoch %d leaf %d", name, pm.ApplicationData, pm.Epoch, pm.Sender.LeafIndex)
		}
		if pm.SenderLeaf == nil || string(pm.SenderLeaf.Credential.Identity) != "carol" ||
			!bytes.Equal(pm.SenderLeaf.SignatureKey, carolLeaf.SignatureKey) {
			t.Fatalf("%s: SenderLeaf of the late message is not carol's leaf of epoch 1", name)
		}
	}
	// Restore bob first (Process consumes the message key), then process
	// the late message in both copies.
	b, err := bob.g.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	restored, err := UnmarshalGroup(cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	check("bob", bob.g)
	check("restored bob", restored)
	// A current-epoch message resolves in the current tree.
	msg, err := dave.g.Encrypt([]byte("hi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*testClient{alice, bob} {
		pm := deliver(t, msg, c)[0]
		if pm.SenderLeaf != c.g.s.tree.leaf(dave.g.OwnLeafIndex()) || string(pm.SenderLeaf.Credential.Identity) != "dave" {
			t.Fatalf("%s: SenderLeaf of a current message is not dave's current leaf", c.name)
		}
	}
}

// TestGroupSenderLeafNonMembers checks SenderLeaf for an external joiner's
// commit (its path leaf), a new member's proposal (its key package leaf)
// and an external sender (none).
func TestGroupSenderLeafNonMembers(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	cfg := Config{UseRatchetTreeExtension: true}
	alice, bob, _ := newThreeMemberGroup(t, cs, cfg)
	gi, err := alice.g.GroupInfo(true)
	if err != nil {
		t.Fatal(err)
	}
	erin := newTestClient(t, cs, "erin")
	var res *CommitResult
	if erin.g, res, err = JoinExternal(cfg, gi, nil, erin.sigPriv, NewBasicCredential([]byte("erin")), nil); err != nil {
		t.Fatal(err)
	}
	pm := deliver(t, res.Commit, alice, bob)[0]
	if pm.Sender.Type != SenderTypeNewMemberCommit || pm.SenderLeaf == nil ||
		!bytes.Equal(pm.SenderLeaf.SignatureKey, erin.bundle.KeyPackage.LeafNode.SignatureKey) {
		t.Fatalf("external commit: sender %v, SenderLeaf %v", pm.Sender, pm.SenderLeaf)
	}

	frank := newTestClient(t, cs, "frank")
	s := alice.g.s
	content := &FramedContent{GroupID: s.ctx.GroupID, Epoch: s.ctx.Epoch, Sender: Sender{Type: SenderTypeNewMemberProposal},
		AuthenticatedData: []byte{}, ContentType: ContentTypeProposal,
		Proposal: &Proposal{Type: ProposalTypeAdd, Add: &AddProposal{KeyPackage: frank.bundle.KeyPackage}}}
	ac, err := signFramedContent(nil, cs, frank.sigPriv, WireFormatPublicMessage, content, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := protectPublic(cs, ac, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pm = deliver(t, &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPublicMessage, PublicMessage: pub}, alice)[0]
	if pm.SenderLeaf == nil || string(pm.SenderLeaf.Credential.Identity) != "frank" {
		t.Fatalf("new member proposal: SenderLeaf %v", pm.SenderLeaf)
	}

	extPriv, extPub, err := cs.GenerateSignatureKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	senders, err := ExternalSendersExtension([]ExternalSender{{SignatureKey: extPub, Credential: NewBasicCredential([]byte("server"))}})
	if err != nil {
		t.Fatal(err)
	}
	commitAndDeliver(t, alice, CommitOptions{GroupContextExtensions: []Extension{senders}}, bob, erin)
	s = alice.g.s
	rm := removeP(uint32(erin.g.OwnLeafIndex()))
	content = &FramedContent{GroupID: s.ctx.GroupID, Epoch: s.ctx.Epoch, Sender: Sender{Type: SenderTypeExternal},
		AuthenticatedData: []byte{}, ContentType: ContentTypeProposal, Proposal: &rm}
	if ac, err = signFramedContent(nil, cs, extPriv, WireFormatPublicMessage, content, nil); err != nil {
		t.Fatal(err)
	}
	pub = &PublicMessage{Content: ac.Content, Auth: ac.Auth}
	pm = deliver(t, &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPublicMessage, PublicMessage: pub}, bob)[0]
	if pm.Sender.Type != SenderTypeExternal || pm.SenderLeaf != nil {
		t.Fatalf("external sender: sender %v, SenderLeaf %v", pm.Sender, pm.SenderLeaf)
	}
}

func mustBytes(t *testing.T, m *MLSMessage) []byte {
	t.Helper()
	b, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
