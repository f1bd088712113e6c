package mls

import (
	"bytes"
	"errors"
	"testing"
)

func init() { vectorRunners["message-protection.json"] = runMessageProtectionVectors }

type messageProtectionVector struct {
	CipherSuite             uint16   `json:"cipher_suite"`
	GroupID                 hexBytes `json:"group_id"`
	Epoch                   uint64   `json:"epoch"`
	TreeHash                hexBytes `json:"tree_hash"`
	ConfirmedTranscriptHash hexBytes `json:"confirmed_transcript_hash"`
	SignaturePriv           hexBytes `json:"signature_priv"`
	SignaturePub            hexBytes `json:"signature_pub"`
	EncryptionSecret        hexBytes `json:"encryption_secret"`
	SenderDataSecret        hexBytes `json:"sender_data_secret"`
	MembershipKey           hexBytes `json:"membership_key"`
	Proposal                hexBytes `json:"proposal"`
	ProposalPub             hexBytes `json:"proposal_pub"`
	ProposalPriv            hexBytes `json:"proposal_priv"`
	Commit                  hexBytes `json:"commit"`
	CommitPub               hexBytes `json:"commit_pub"`
	CommitPriv              hexBytes `json:"commit_priv"`
	Application             hexBytes `json:"application"`
	ApplicationPriv         hexBytes `json:"application_priv"`
}

// protectState is the epoch state a message-protection entry describes:
// a 2-leaf group whose sender is leaf 1.
type protectState struct {
	cs      CipherSuite
	ctx     GroupContext
	v       *messageProtectionVector
	senders map[LeafIndex][]byte
}

const testSenderLeaf LeafIndex = 1

func newProtectState(v *messageProtectionVector) *protectState {
	cs := CipherSuite(v.CipherSuite)
	return &protectState{
		cs: cs, v: v,
		ctx: GroupContext{
			Version: ProtocolVersionMLS10, CipherSuite: cs, GroupID: v.GroupID, Epoch: v.Epoch,
			TreeHash: v.TreeHash, ConfirmedTranscriptHash: v.ConfirmedTranscriptHash, Extensions: []Extension{},
		},
		senders: map[LeafIndex][]byte{testSenderLeaf: v.SignaturePub},
	}
}

// keyOf is the signatureKeyFunc of the test group: leaf 1 is the only
// non-blank leaf with a known key.
func (s *protectState) keyOf(snd Sender) ([]byte, error) {
	if k, ok := s.senders[snd.LeafIndex]; ok && snd.Type == SenderTypeMember {
		return k, nil
	}
	return nil, invalid("§6.3.2", "sender %s %d is not a member", snd.Type, snd.LeafIndex)
}

// protection returns a fresh PrivateMessage state over a new 2-leaf tree.
func (s *protectState) protection(padTo int) *privateProtection {
	return &privateProtection{
		Suite: s.cs, Tree: newSecretTree(s.cs, s.v.EncryptionSecret, 2),
		SenderDataSecret: s.v.SenderDataSecret, PadTo: padTo,
	}
}

func (s *protectState) content(ct ContentType, body []byte, t *testing.T) FramedContent {
	t.Helper()
	c := FramedContent{GroupID: s.v.GroupID, Epoch: s.v.Epoch, Sender: Sender{Type: SenderTypeMember, LeafIndex: testSenderLeaf},
		AuthenticatedData: []byte{}, ContentType: ct}
	switch ct {
	case ContentTypeApplication:
		c.ApplicationData = body
	case ContentTypeProposal:
		c.Proposal = new(Proposal)
		if err := decode(body, c.Proposal); err != nil {
			t.Fatalf("decode proposal payload: %v", err)
		}
	case ContentTypeCommit:
		c.Commit = new(Commit)
		if err := decode(body, c.Commit); err != nil {
			t.Fatalf("decode commit payload: %v", err)
		}
	}
	return c
}

// payload returns the encoded proposal, commit or application data of ac.
func payload(t *testing.T, ac *AuthenticatedContent) []byte {
	t.Helper()
	switch ac.Content.ContentType {
	case ContentTypeProposal:
		return mustEncode(t, ac.Content.Proposal)
	case ContentTypeCommit:
		return mustEncode(t, ac.Content.Commit)
	}
	return ac.Content.ApplicationData
}

func runMessageProtectionVectors(t *testing.T, path string) {
	for i, v := range loadVectors[messageProtectionVector](t, path) {
		t.Run(suiteName(v.CipherSuite, i), func(t *testing.T) {
			s := newProtectState(&v)
			s.checkHandshake(t, ContentTypeProposal, v.Proposal, v.ProposalPub, v.ProposalPriv)
			s.checkHandshake(t, ContentTypeCommit, v.Commit, v.CommitPub, v.CommitPriv)
			s.checkApplication(t)
		})
	}
}

// checkHandshake runs the four checks of the upstream description for a
// proposal or commit payload.
func (s *protectState) checkHandshake(t *testing.T, ct ContentType, body, pubMsg, privMsg []byte) {
	pm := parseMessage(t, pubMsg, WireFormatPublicMessage).PublicMessage
	ac, err := unprotectPublic(s.cs, pm, &s.ctx, s.v.MembershipKey, s.keyOf)
	if err != nil {
		t.Fatalf("%s: unprotect given public message: %v", ct, err)
	}
	if !bytes.Equal(payload(t, ac), body) {
		t.Fatalf("%s: given public message payload differs", ct)
	}
	// The entry has no confirmation key, so a commit's confirmation tag
	// cannot be checked; ours carries the one of the given message.
	tag := ac.Auth.ConfirmationTag
	got := s.roundTripPublic(t, ct, body, tag)
	if !bytes.Equal(got, body) {
		t.Fatalf("%s: own public message payload differs", ct)
	}
	priv := parseMessage(t, privMsg, WireFormatPrivateMessage).PrivateMessage
	ac, err = unprotectPrivate(s.protection(0), priv, &s.ctx, s.keyOf)
	if err != nil {
		t.Fatalf("%s: unprotect given private message: %v", ct, err)
	}
	if !bytes.Equal(payload(t, ac), body) || ac.Content.Sender.LeafIndex != testSenderLeaf {
		t.Fatalf("%s: given private message payload or sender differs", ct)
	}
	for _, padTo := range []int{0, 32} {
		if got := s.roundTripPrivate(t, ct, body, ac.Auth.ConfirmationTag, padTo); !bytes.Equal(got, body) {
			t.Fatalf("%s: own private message payload differs", ct)
		}
	}
}

func (s *protectState) roundTripPublic(t *testing.T, ct ContentType, body, tag []byte) []byte {
	t.Helper()
	c := s.content(ct, body, t)
	ac, err := signFramedContent(nil, s.cs, s.v.SignaturePriv, WireFormatPublicMessage, &c, &s.ctx)
	if err != nil {
		t.Fatalf("%s: sign: %v", ct, err)
	}
	ac.Auth.ConfirmationTag = tag
	pm, err := protectPublic(s.cs, ac, &s.ctx, s.v.MembershipKey)
	if err != nil {
		t.Fatalf("%s: protect public: %v", ct, err)
	}
	wire := mustEncode(t, &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPublicMessage, PublicMessage: pm})
	back, err := unprotectPublic(s.cs, parseMessage(t, wire, WireFormatPublicMessage).PublicMessage, &s.ctx, s.v.MembershipKey, s.keyOf)
	if err != nil {
		t.Fatalf("%s: unprotect own public message: %v", ct, err)
	}
	return payload(t, back)
}

func (s *protectState) roundTripPrivate(t *testing.T, ct ContentType, body, tag []byte, padTo int) []byte {
	t.Helper()
	c := s.content(ct, body, t)
	ac, err := signFramedContent(nil, s.cs, s.v.SignaturePriv, WireFormatPrivateMessage, &c, &s.ctx)
	if err != nil {
		t.Fatalf("%s: sign: %v", ct, err)
	}
	ac.Auth.ConfirmationTag = tag
	pm, err := protectPrivate(nil, s.protection(padTo), ac)
	if err != nil {
		t.Fatalf("%s: protect private: %v", ct, err)
	}
	wire := mustEncode(t, &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPrivateMessage, PrivateMessage: pm})
	back, err := unprotectPrivate(s.protection(0), parseMessage(t, wire, WireFormatPrivateMessage).PrivateMessage, &s.ctx, s.keyOf)
	if err != nil {
		t.Fatalf("%s: unprotect own private message: %v", ct, err)
	}
	return payload(t, back)
}

func (s *protectState) checkApplication(t *testing.T) {
	priv := parseMessage(t, s.v.ApplicationPriv, WireFormatPrivateMessage).PrivateMessage
	ac, err := unprotectPrivate(s.protection(0), priv, &s.ctx, s.keyOf)
	if err != nil {
		t.Fatalf("application: unprotect given private message: %v", err)
	}
	if !bytes.Equal(ac.Content.ApplicationData, s.v.Application) {
		t.Fatalf("application: payload differs")
	}
	c := s.content(ContentTypeApplication, s.v.Application, t)
	if _, err := signFramedContent(nil, s.cs, s.v.SignaturePriv, WireFormatPublicMessage, &c, &s.ctx); !errors.Is(err, ErrCannotProtect) {
		t.Fatalf("application as public message: sign err = %v, want ErrCannotProtect", err)
	}
	forged := &AuthenticatedContent{WireFormat: WireFormatPublicMessage, Content: c, Auth: FramedContentAuthData{Signature: []byte{1}}}
	if _, err := protectPublic(s.cs, forged, &s.ctx, s.v.MembershipKey); !errors.Is(err, ErrCannotProtect) {
		t.Fatalf("application as public message: protect err = %v, want ErrCannotProtect", err)
	}
	for _, padTo := range []int{0, 1, 100} {
		if got := s.roundTripPrivate(t, ContentTypeApplication, s.v.Application, nil, padTo); !bytes.Equal(got, s.v.Application) {
			t.Fatalf("application: own private message payload differs")
		}
	}
}

// firstProtectState returns the state of the first message-protection entry.
func firstProtectState(t *testing.T) *protectState {
	t.Helper()
	vs := loadVectors[messageProtectionVector](t, vectorDir()+"/message-protection.json")
	return newProtectState(&vs[0])
}

// signedPublic returns a member's signed and protected public message.
func (s *protectState) signedPublic(t *testing.T, ct ContentType, body []byte) *PublicMessage {
	t.Helper()
	c := s.content(ct, body, t)
	ac, err := signFramedContent(nil, s.cs, s.v.SignaturePriv, WireFormatPublicMessage, &c, &s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ct == ContentTypeCommit {
		ac.Auth.ConfirmationTag = []byte("tag")
	}
	pm, err := protectPublic(s.cs, ac, &s.ctx, s.v.MembershipKey)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

func TestUnprotectPublicRejects(t *testing.T) {
	s := firstProtectState(t)
	retag := func(pm *PublicMessage) {
		tag, err := membershipTag(s.cs, s.v.MembershipKey, pm.authenticatedContent(), &s.ctx)
		if err != nil {
			t.Fatal(err)
		}
		pm.MembershipTag = tag
	}
	otherCtx := s.ctx
	otherCtx.TreeHash = []byte("another tree")
	cases := []struct {
		name    string
		ct      ContentType
		mutate  func(pm *PublicMessage)
		section string
	}{
		{"tampered signature", ContentTypeProposal, func(pm *PublicMessage) {
			pm.Auth.Signature = append([]byte{}, pm.Auth.Signature...)
			pm.Auth.Signature[3] ^= 1
			retag(pm)
		}, "§6.1"},
		{"tampered content", ContentTypeProposal, func(pm *PublicMessage) {
			pm.Content.AuthenticatedData = []byte("x")
			retag(pm)
		}, "§6.1"},
		{"signature over another group context", ContentTypeCommit, func(pm *PublicMessage) {
			ac, err := signFramedContent(nil, s.cs, s.v.SignaturePriv, WireFormatPublicMessage, &pm.Content, &otherCtx)
			if err != nil {
				t.Fatal(err)
			}
			pm.Auth.Signature = ac.Auth.Signature
			retag(pm)
		}, "§6.1"},
		{"wrong membership tag", ContentTypeProposal, func(pm *PublicMessage) {
			pm.MembershipTag = append([]byte{}, pm.MembershipTag...)
			pm.MembershipTag[0] ^= 1
		}, "§6.2"},
		{"membership tag under another key", ContentTypeCommit, func(pm *PublicMessage) {
			tag, _ := membershipTag(s.cs, []byte("other key"), pm.authenticatedContent(), &s.ctx)
			pm.MembershipTag = tag
		}, "§6.2"},
		{"wrong epoch proposal", ContentTypeProposal, func(pm *PublicMessage) { pm.Content.Epoch++ }, "§12.1"},
		{"wrong epoch commit", ContentTypeCommit, func(pm *PublicMessage) { pm.Content.Epoch-- }, "§12.4.2"},
		{"wrong group id", ContentTypeProposal, func(pm *PublicMessage) { pm.Content.GroupID = []byte("other") }, "§6"},
		{"unknown member", ContentTypeProposal, func(pm *PublicMessage) { pm.Content.Sender.LeafIndex = 0 }, "§6.3.2"},
		{"application data", ContentTypeProposal, func(pm *PublicMessage) {
			pm.Content.ContentType, pm.Content.Proposal, pm.Content.ApplicationData = ContentTypeApplication, nil, []byte("hi")
		}, "§6"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := s.v.Proposal
			if tc.ct == ContentTypeCommit {
				body = s.v.Commit
			}
			pm := s.signedPublic(t, tc.ct, body)
			if _, err := unprotectPublic(s.cs, pm, &s.ctx, s.v.MembershipKey, s.keyOf); err != nil {
				t.Fatalf("unmodified message: %v", err)
			}
			tc.mutate(pm)
			_, err := unprotectPublic(s.cs, pm, &s.ctx, s.v.MembershipKey, s.keyOf)
			if !isValidation(err, tc.section) {
				t.Fatalf("err = %v, want a ValidationError citing %s", err, tc.section)
			}
		})
	}
}

func TestPublicSenderRules(t *testing.T) {
	s := firstProtectState(t)
	priv, pub, err := s.cs.GenerateSignatureKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	props := testProposals()
	add := props[0]
	add.Add.KeyPackage.LeafNode.SignatureKey = pub
	path := &UpdatePath{LeafNode: testLeafNode(LeafNodeSourceCommit), Nodes: []UpdatePathNode{}}
	path.LeafNode.SignatureKey = pub
	external := func(p Proposal) FramedContent {
		return FramedContent{GroupID: s.v.GroupID, Epoch: s.v.Epoch, Sender: Sender{Type: SenderTypeExternal, SenderIndex: 0},
			AuthenticatedData: []byte{}, ContentType: ContentTypeProposal, Proposal: &p}
	}
	extKeys := func(snd Sender) ([]byte, error) {
		if snd.Type == SenderTypeExternal && snd.SenderIndex == 0 {
			return pub, nil
		}
		return nil, invalid("§12.1.8.1", "no external sender %d", snd.SenderIndex)
	}
	base := FramedContent{GroupID: s.v.GroupID, Epoch: s.v.Epoch, AuthenticatedData: []byte{}}
	newMemberProposal := base
	newMemberProposal.Sender, newMemberProposal.ContentType, newMemberProposal.Proposal = Sender{Type: SenderTypeNewMemberProposal}, ContentTypeProposal, &add
	newMemberCommit := base
	newMemberCommit.Sender, newMemberCommit.ContentType = Sender{Type: SenderTypeNewMemberCommit}, ContentTypeCommit
	newMemberCommit.Commit = &Commit{Proposals: []ProposalOrRef{{Proposal: &props[5]}}, Path: path}

	for name, c := range map[string]FramedContent{
		"external remove": external(props[2]), "external add": external(props[0]),
		"new member add": newMemberProposal, "external commit": newMemberCommit,
	} {
		ac, err := signFramedContent(nil, s.cs, priv, WireFormatPublicMessage, &c, &s.ctx)
		if err != nil {
			t.Fatalf("%s: sign: %v", name, err)
		}
		if c.ContentType == ContentTypeCommit {
			ac.Auth.ConfirmationTag = []byte("tag")
		}
		pm, err := protectPublic(s.cs, ac, &s.ctx, nil)
		if err != nil {
			t.Fatalf("%s: protect: %v", name, err)
		}
		if pm.MembershipTag != nil {
			t.Fatalf("%s: non-member message has a membership tag", name)
		}
		wire := mustEncode(t, &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPublicMessage, PublicMessage: pm})
		pm = parseMessage(t, wire, WireFormatPublicMessage).PublicMessage
		if _, err := unprotectPublic(s.cs, pm, &s.ctx, nil, extKeys); err != nil {
			t.Fatalf("%s: unprotect: %v", name, err)
		}
	}

	// Content each sender type must not send is refused on both sides.
	badUpdate := external(props[1])
	badCommit := base
	badCommit.Sender, badCommit.ContentType, badCommit.Commit = Sender{Type: SenderTypeExternal}, ContentTypeCommit, &Commit{Proposals: []ProposalOrRef{}}
	badNewMember := newMemberProposal
	badNewMember.Proposal = &props[2]
	noPath := newMemberCommit
	noPath.Commit = &Commit{Proposals: []ProposalOrRef{}}
	for _, tc := range []struct {
		name    string
		c       FramedContent
		section string
	}{
		{"external update", badUpdate, "§12.1.8"},
		{"external commit sender", badCommit, "§6.1"},
		{"new member remove", badNewMember, "§6.1"},
		{"external commit without path", noPath, "§12.4.3.2"},
	} {
		if _, err := signFramedContent(nil, s.cs, priv, WireFormatPublicMessage, &tc.c, &s.ctx); !errors.Is(err, ErrCannotProtect) {
			t.Errorf("%s: sign err = %v, want ErrCannotProtect", tc.name, err)
		}
		pm := &PublicMessage{Content: tc.c, Auth: FramedContentAuthData{Signature: []byte("s")}}
		if tc.c.ContentType == ContentTypeCommit {
			pm.Auth.ConfirmationTag = []byte("t")
		}
		if _, err := unprotectPublic(s.cs, pm, &s.ctx, nil, extKeys); !isValidation(err, tc.section) {
			t.Errorf("%s: unprotect err = %v, want %s", tc.name, err, tc.section)
		}
	}

	// A confirmation tag must be present exactly on commits.
	c := s.content(ContentTypeCommit, s.v.Commit, t)
	ac, err := signFramedContent(nil, s.cs, s.v.SignaturePriv, WireFormatPublicMessage, &c, &s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := protectPublic(s.cs, ac, &s.ctx, s.v.MembershipKey); !errors.Is(err, ErrCannotProtect) {
		t.Errorf("commit without confirmation tag: err = %v, want ErrCannotProtect", err)
	}
}

// sealedPrivate signs and encrypts body from leaf 1 with a fresh sender tree.
func (s *protectState) sealedPrivate(t *testing.T, ct ContentType, body []byte) *PrivateMessage {
	t.Helper()
	c := s.content(ct, body, t)
	ac, err := signFramedContent(nil, s.cs, s.v.SignaturePriv, WireFormatPrivateMessage, &c, &s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ct == ContentTypeCommit {
		ac.Auth.ConfirmationTag = []byte("tag")
	}
	pm, err := protectPrivate(nil, s.protection(0), ac)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

func TestUnprotectPrivateRejects(t *testing.T) {
	s := firstProtectState(t)
	flip := func(b []byte, i int) []byte {
		b = append([]byte{}, b...)
		b[i] ^= 1
		return b
	}
	cases := []struct {
		name    string
		mutate  func(pm *PrivateMessage)
		section string
	}{
		{"wrong epoch", func(pm *PrivateMessage) { pm.Epoch++ }, "§6"},
		{"wrong group id", func(pm *PrivateMessage) { pm.GroupID = []byte("other") }, "§6"},
		{"tampered sender data", func(pm *PrivateMessage) { pm.EncryptedSenderData = flip(pm.EncryptedSenderData, 0) }, "§6.3.2"},
		{"tampered ciphertext", func(pm *PrivateMessage) { pm.Ciphertext = flip(pm.Ciphertext, len(pm.Ciphertext)-1) }, "§6.3.1"},
		{"tampered authenticated data", func(pm *PrivateMessage) { pm.AuthenticatedData = []byte("x") }, "§6.3.1"},
		{"changed content type", func(pm *PrivateMessage) { pm.ContentType = ContentTypeProposal }, "§6.3.2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pm := s.sealedPrivate(t, ContentTypeApplication, []byte("hello"))
			tc.mutate(pm)
			if _, err := unprotectPrivate(s.protection(0), pm, &s.ctx, s.keyOf); !isValidation(err, tc.section) {
				t.Fatalf("err = %v, want a ValidationError citing %s", err, tc.section)
			}
		})
	}
	t.Run("replayed generation", func(t *testing.T) {
		pm := s.sealedPrivate(t, ContentTypeProposal, s.v.Proposal)
		p := s.protection(0)
		if _, err := unprotectPrivate(p, pm, &s.ctx, s.keyOf); err != nil {
			t.Fatalf("first delivery: %v", err)
		}
		if _, err := unprotectPrivate(p, pm, &s.ctx, s.keyOf); !isValidation(err, "§9.2") {
			t.Fatalf("replay: err = %v, want §9.2", err)
		}
	})
	t.Run("unknown sender leaf", func(t *testing.T) {
		pm := s.sealedPrivate(t, ContentTypeApplication, []byte("hi"))
		delete(s.senders, testSenderLeaf)
		defer func() { s.senders[testSenderLeaf] = s.v.SignaturePub }()
		if _, err := unprotectPrivate(s.protection(0), pm, &s.ctx, s.keyOf); !isValidation(err, "§6.3.2") {
			t.Fatalf("err = %v, want §6.3.2", err)
		}
	})
	t.Run("tampered signature", func(t *testing.T) {
		c := s.content(ContentTypeApplication, []byte("hi"), t)
		ac, err := signFramedContent(nil, s.cs, s.v.SignaturePriv, WireFormatPrivateMessage, &c, &s.ctx)
		if err != nil {
			t.Fatal(err)
		}
		ac.Auth.Signature = flip(ac.Auth.Signature, 5)
		pm, err := protectPrivate(nil, s.protection(0), ac)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := unprotectPrivate(s.protection(0), pm, &s.ctx, s.keyOf); !isValidation(err, "§6.1") {
			t.Fatalf("err = %v, want §6.1", err)
		}
	})
	t.Run("signed for a public message", func(t *testing.T) {
		c := s.content(ContentTypeProposal, s.v.Proposal, t)
		ac, err := signFramedContent(nil, s.cs, s.v.SignaturePriv, WireFormatPublicMessage, &c, &s.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := protectPrivate(nil, s.protection(0), ac); !errors.Is(err, ErrCannotProtect) {
			t.Fatalf("protect err = %v, want ErrCannotProtect", err)
		}
		ac.WireFormat = WireFormatPrivateMessage // wire format now differs from the signed one
		pm, err := protectPrivate(nil, s.protection(0), ac)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := unprotectPrivate(s.protection(0), pm, &s.ctx, s.keyOf); !isValidation(err, "§6.1") {
			t.Fatalf("err = %v, want §6.1", err)
		}
	})
	t.Run("bad padding", func(t *testing.T) {
		pm := s.sealedWithPadding(t, []byte{0, 0, 7, 0})
		_, err := unprotectPrivate(s.protection(0), pm, &s.ctx, s.keyOf)
		if !errors.Is(err, ErrDecode) || !bytes.Contains([]byte(err.Error()), []byte("§6.3.1")) {
			t.Fatalf("err = %v, want ErrDecode citing §6.3.1", err)
		}
		pm = s.sealedWithPadding(t, []byte{0, 0, 0, 0})
		if _, err := unprotectPrivate(s.protection(0), pm, &s.ctx, s.keyOf); err != nil {
			t.Fatalf("zero padding: %v", err)
		}
	})
	t.Run("non-member sender", func(t *testing.T) {
		c := s.content(ContentTypeProposal, s.v.Proposal, t)
		c.Sender = Sender{Type: SenderTypeExternal}
		if _, err := signFramedContent(nil, s.cs, s.v.SignaturePriv, WireFormatPrivateMessage, &c, &s.ctx); !errors.Is(err, ErrCannotProtect) {
			t.Fatalf("err = %v, want ErrCannotProtect", err)
		}
	})
}

// sealedWithPadding builds a private application message whose plaintext
// ends with the given padding bytes, bypassing protectPrivate's zero fill.
func (s *protectState) sealedWithPadding(t *testing.T, padding []byte) *PrivateMessage {
	t.Helper()
	c := s.content(ContentTypeApplication, []byte("hi"), t)
	ac, err := signFramedContent(nil, s.cs, s.v.SignaturePriv, WireFormatPrivateMessage, &c, &s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := s.protection(0)
	gen, key, nonce, err := p.Tree.nextKey(uint32(testSenderLeaf), false)
	if err != nil {
		t.Fatal(err)
	}
	pt := append(mustEncode(t, &privateMessageContent{Content: &ac.Content, Auth: &ac.Auth}), padding...)
	pm := &PrivateMessage{GroupID: c.GroupID, Epoch: c.Epoch, ContentType: c.ContentType, AuthenticatedData: c.AuthenticatedData}
	aad := mustEncode(t, &privateContentAAD{GroupID: c.GroupID, Epoch: c.Epoch, ContentType: c.ContentType, AuthenticatedData: c.AuthenticatedData})
	if pm.Ciphertext, err = s.cs.Seal(key, nonce, aad, pt); err != nil {
		t.Fatal(err)
	}
	if pm.EncryptedSenderData, err = p.sealSenderData(pm, &senderData{LeafIndex: testSenderLeaf, Generation: gen}); err != nil {
		t.Fatal(err)
	}
	return pm
}
