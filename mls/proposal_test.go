package mls

import (
	"bytes"
	"errors"
	"testing"
)

// testLeafNode returns a structurally valid (unsigned) leaf node.
func testLeafNode(src LeafNodeSource) LeafNode {
	ln := LeafNode{
		EncryptionKey: []byte("enc"), SignatureKey: []byte("sig"),
		Credential:   NewBasicCredential([]byte("alice")),
		Capabilities: Capabilities{Versions: []ProtocolVersion{ProtocolVersionMLS10}},
		Source:       src, Extensions: []Extension{}, Signature: []byte("s"),
	}
	switch src {
	case LeafNodeSourceKeyPackage:
		ln.Lifetime = &Lifetime{NotBefore: 1, NotAfter: 2}
	case LeafNodeSourceCommit:
		ln.ParentHash = []byte("ph")
	}
	return ln
}

func testProposals() []Proposal {
	exts := []Extension{{Type: ExtensionTypeApplicationID, Data: []byte("app")}}
	return []Proposal{
		{Type: ProposalTypeAdd, Add: &AddProposal{KeyPackage: KeyPackage{
			Version: ProtocolVersionMLS10, CipherSuite: MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519,
			InitKey: []byte("init"), LeafNode: testLeafNode(LeafNodeSourceKeyPackage), Extensions: []Extension{}, Signature: []byte("kp"),
		}}},
		{Type: ProposalTypeUpdate, Update: &UpdateProposal{LeafNode: testLeafNode(LeafNodeSourceUpdate)}},
		{Type: ProposalTypeRemove, Remove: &RemoveProposal{Removed: 7}},
		{Type: ProposalTypePSK, PreSharedKey: &PreSharedKeyProposal{PSK: PreSharedKeyID{
			Type: PSKTypeResumption, Usage: ResumptionPSKUsageApplication, PSKGroupID: []byte("g"), PSKEpoch: 4, Nonce: []byte{1, 2},
		}}},
		{Type: ProposalTypeReInit, ReInit: &ReInitProposal{GroupID: []byte("new"), Version: ProtocolVersionMLS10,
			CipherSuite: MLS_128_DHKEMP256_AES128GCM_SHA256_P256, Extensions: exts}},
		{Type: ProposalTypeExternalInit, ExternalInit: &ExternalInitProposal{KEMOutput: []byte("kem")}},
		{Type: ProposalTypeGroupContextExtensions, GroupContextExtensions: &GroupContextExtensionsProposal{Extensions: exts}},
	}
}

func TestProposalCodecRoundTrip(t *testing.T) {
	for _, p := range testProposals() {
		t.Run(p.Type.String(), func(t *testing.T) {
			b := mustEncode(t, &p)
			var back Proposal
			if err := decode(b, &back); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if back.Type != p.Type {
				t.Fatalf("type = %s, want %s", back.Type, p.Type)
			}
			if !bytes.Equal(mustEncode(t, &back), b) {
				t.Fatalf("re-encoding differs")
			}
			if err := decode(append(b, 0), &back); !errors.Is(err, ErrDecode) {
				t.Fatalf("trailing byte: err = %v, want ErrDecode", err)
			}
		})
	}
}

func TestProposalDecodeRejects(t *testing.T) {
	cases := map[string][]byte{
		"reserved type 0":       {0x00, 0x00, 0x00, 0x00, 0x00, 0x01},
		"unknown type 8":        {0x00, 0x08, 0x00},
		"grease type":           {0x0a, 0x0a, 0x00},
		"truncated remove":      {0x00, 0x03, 0x00, 0x00},
		"reinit bad ext vector": {0x00, 0x05, 0x00, 0x00, 0x01, 0x00, 0x01, 0x05},
	}
	for name, b := range cases {
		if err := decode(b, new(Proposal)); !errors.Is(err, ErrDecode) {
			t.Errorf("%s: err = %v, want ErrDecode", name, err)
		}
	}
}

func TestProposalEncodeRejectsMismatchedUnion(t *testing.T) {
	bad := []Proposal{
		{Type: ProposalTypeAdd},
		{Type: ProposalTypeRemove, Update: &UpdateProposal{}},
		{Type: 99, Remove: &RemoveProposal{}},
	}
	for _, p := range bad {
		if _, err := encode(&p); err == nil {
			t.Errorf("encode %s without its body: no error", p.Type)
		}
	}
}

func TestCommitCodec(t *testing.T) {
	props := testProposals()
	c := Commit{
		Proposals: []ProposalOrRef{{Proposal: &props[2]}, {Reference: ProposalRef(bytes.Repeat([]byte{7}, 32))}},
		Path: &UpdatePath{LeafNode: testLeafNode(LeafNodeSourceCommit), Nodes: []UpdatePathNode{
			{EncryptionKey: []byte("k"), EncryptedPathSecret: []HPKECiphertext{{KEMOutput: []byte("e"), Ciphertext: []byte("c")}}},
		}},
	}
	for _, cc := range []Commit{c, {Proposals: c.Proposals}, {Proposals: []ProposalOrRef{}}} {
		b := mustEncode(t, &cc)
		var back Commit
		if err := decode(b, &back); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if (back.Path == nil) != (cc.Path == nil) || len(back.Proposals) != len(cc.Proposals) {
			t.Fatalf("decoded commit differs: %+v", back)
		}
		if !bytes.Equal(mustEncode(t, &back), b) {
			t.Fatalf("re-encoding differs")
		}
	}
	for name, b := range map[string][]byte{
		"proposal or ref type 0": {0x01, 0x00, 0x00},
		"proposal or ref type 3": {0x02, 0x03, 0x00, 0x00},
		"path presence byte 2":   {0x00, 0x02},
		"missing path byte":      {0x00},
	} {
		if err := decode(b, new(Commit)); !errors.Is(err, ErrDecode) {
			t.Errorf("%s: err = %v, want ErrDecode", name, err)
		}
	}
	if _, err := encode(&ProposalOrRef{}); err == nil {
		t.Errorf("encode empty ProposalOrRef: no error")
	}
	if _, err := encode(&ProposalOrRef{Proposal: &props[2], Reference: ProposalRef{1}}); err == nil {
		t.Errorf("encode ProposalOrRef with both: no error")
	}
}

func TestMakeProposalRef(t *testing.T) {
	cs := MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
	props := testProposals()
	ac := &AuthenticatedContent{
		WireFormat: WireFormatPublicMessage,
		Content: FramedContent{GroupID: []byte("g"), Epoch: 1, Sender: Sender{Type: SenderTypeMember, LeafIndex: 1},
			AuthenticatedData: []byte{}, ContentType: ContentTypeProposal, Proposal: &props[2]},
		Auth: FramedContentAuthData{Signature: []byte("sig")},
	}
	ref, err := makeProposalRef(cs, ac)
	if err != nil {
		t.Fatal(err)
	}
	// RefHashInput{label<V>, value<V>} hashed with SHA-256 (RFC 9420 §5.2).
	var w Writer
	w.Opaque([]byte("MLS 1.0 Proposal Reference"))
	w.Opaque(mustEncode(t, ac))
	if want := cs.Hash(w.Bytes()); !bytes.Equal(ref, want) {
		t.Fatalf("ref = %x, want %x", ref, want)
	}
	ac.Content.ContentType, ac.Content.Proposal, ac.Content.ApplicationData = ContentTypeApplication, nil, []byte("x")
	if _, err := makeProposalRef(cs, ac); !errors.Is(err, ErrInternal) {
		t.Fatalf("ref of application content: err = %v, want ErrInternal", err)
	}
}
