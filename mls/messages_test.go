package mls

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// messages.json (upstream mlswg/mls-implementations, held back from our
// vector folder) holds, per entry, one serialized example of each MLS
// structure. Each must decode with its type and re-encode to the same
// bytes. Proposal fields hold the proposal body alone (e.g. Add, not
// Proposal), as upstream's generators write them.
func init() { vectorRunners["messages.json"] = runMessagesVectors }

// messagesVector is one entry of messages.json.
type messagesVector struct {
	MLSWelcome                     hexBytes `json:"mls_welcome"`
	MLSGroupInfo                   hexBytes `json:"mls_group_info"`
	MLSKeyPackage                  hexBytes `json:"mls_key_package"`
	RatchetTree                    hexBytes `json:"ratchet_tree"`
	GroupSecrets                   hexBytes `json:"group_secrets"`
	AddProposal                    hexBytes `json:"add_proposal"`
	UpdateProposal                 hexBytes `json:"update_proposal"`
	RemoveProposal                 hexBytes `json:"remove_proposal"`
	PreSharedKeyProposal           hexBytes `json:"pre_shared_key_proposal"`
	ReInitProposal                 hexBytes `json:"re_init_proposal"`
	ExternalInitProposal           hexBytes `json:"external_init_proposal"`
	GroupContextExtensionsProposal hexBytes `json:"group_context_extensions_proposal"`
	Commit                         hexBytes `json:"commit"`
	PublicMessageApplication       hexBytes `json:"public_message_application"`
	PublicMessageProposal          hexBytes `json:"public_message_proposal"`
	PublicMessageCommit            hexBytes `json:"public_message_commit"`
	PrivateMessage                 hexBytes `json:"private_message"`
}

func runMessagesVectors(t *testing.T, path string) {
	for i, e := range loadVectors[messagesVector](t, path) {
		t.Run(suiteName(uint16(e.suite()), i), func(t *testing.T) {
			for _, err := range checkMessagesVector(&e) {
				t.Error(err)
			}
		})
	}
}

// suite returns the cipher suite of the entry's key package, which the
// ratchet tree is decoded for, or suite 1 if it has none.
func (e *messagesVector) suite() CipherSuite {
	var m MLSMessage
	if decode(e.MLSKeyPackage, &m) == nil && m.KeyPackage != nil && m.KeyPackage.CipherSuite.Supported() {
		return m.KeyPackage.CipherSuite
	}
	return MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519
}

// checkMessagesVector returns one error per field of e that is missing,
// does not decode as its type, or does not re-encode to the same bytes.
func checkMessagesVector(e *messagesVector) []error {
	cs := e.suite()
	fields := []struct {
		name  string
		data  []byte
		check func([]byte) ([]byte, error)
	}{
		{"mls_welcome", e.MLSWelcome, reencodeMLSMessage(WireFormatWelcome, 0)},
		{"mls_group_info", e.MLSGroupInfo, reencodeMLSMessage(WireFormatGroupInfo, 0)},
		{"mls_key_package", e.MLSKeyPackage, reencodeMLSMessage(WireFormatKeyPackage, 0)},
		{"ratchet_tree", e.RatchetTree, func(b []byte) ([]byte, error) {
			tree, err := decodeRatchetTree(cs, b)
			if err != nil {
				return nil, err
			}
			return tree.encode()
		}},
		{"group_secrets", e.GroupSecrets, reencode(func() codecValue { return new(GroupSecrets) })},
		{"add_proposal", e.AddProposal, reencodeProposalBody(ProposalTypeAdd)},
		{"update_proposal", e.UpdateProposal, reencodeProposalBody(ProposalTypeUpdate)},
		{"remove_proposal", e.RemoveProposal, reencodeProposalBody(ProposalTypeRemove)},
		{"pre_shared_key_proposal", e.PreSharedKeyProposal, reencodeProposalBody(ProposalTypePSK)},
		{"re_init_proposal", e.ReInitProposal, reencodeProposalBody(ProposalTypeReInit)},
		{"external_init_proposal", e.ExternalInitProposal, reencodeProposalBody(ProposalTypeExternalInit)},
		{"group_context_extensions_proposal", e.GroupContextExtensionsProposal, reencodeProposalBody(ProposalTypeGroupContextExtensions)},
		{"commit", e.Commit, reencode(func() codecValue { return new(Commit) })},
		{"public_message_application", e.PublicMessageApplication, reencodeMLSMessage(WireFormatPublicMessage, ContentTypeApplication)},
		{"public_message_proposal", e.PublicMessageProposal, reencodeMLSMessage(WireFormatPublicMessage, ContentTypeProposal)},
		{"public_message_commit", e.PublicMessageCommit, reencodeMLSMessage(WireFormatPublicMessage, ContentTypeCommit)},
		{"private_message", e.PrivateMessage, reencodeMLSMessage(WireFormatPrivateMessage, 0)},
	}
	var errs []error
	for _, f := range fields {
		if len(f.data) == 0 {
			errs = append(errs, fmt.Errorf("%s: missing", f.name))
			continue
		}
		got, err := f.check(f.data)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: decode: %w", f.name, err))
		case !bytes.Equal(got, f.data):
			errs = append(errs, fmt.Errorf("%s: re-encoding differs:\n got %x\nwant %x", f.name, got, f.data))
		}
	}
	return errs
}

// reencode decodes with a fresh value from newValue and encodes it again.
func reencode(newValue func() codecValue) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) {
		v := newValue()
		if err := decode(b, v); err != nil {
			return nil, err
		}
		return encode(v)
	}
}

// reencodeMLSMessage decodes an MLSMessage that must have wire format wf
// and, when ct is not zero, be a PublicMessage of content type ct.
func reencodeMLSMessage(wf WireFormat, ct ContentType) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) {
		var m MLSMessage
		if err := decode(b, &m); err != nil {
			return nil, err
		}
		if m.WireFormat != wf {
			return nil, fmt.Errorf("wire format %v, want %v", m.WireFormat, wf)
		}
		if ct != 0 && m.PublicMessage.Content.ContentType != ct {
			return nil, fmt.Errorf("content type %v, want %v", m.PublicMessage.Content.ContentType, ct)
		}
		return encode(&m)
	}
}

// reencodeProposalBody decodes the body of a proposal of type pt (the
// Proposal union without its type tag) and re-encodes it.
func reencodeProposalBody(pt ProposalType) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) {
		tagged := append([]byte{byte(pt >> 8), byte(pt)}, b...)
		var p Proposal
		if err := decode(tagged, &p); err != nil {
			return nil, err
		}
		out, err := encode(&p)
		if err != nil {
			return nil, err
		}
		return out[2:], nil
	}
}

// sampleMessagesVector builds one messages.json entry from this package's
// own encoders (syntactically valid values; signatures and MACs are
// placeholders where the runner does not check them).
func sampleMessagesVector(t *testing.T, cs CipherSuite) messagesVector {
	t.Helper()
	kp, _, _ := newTestKeyPackage(t, cs, &KeyPackageOptions{Extensions: []Extension{LastResortExtension()}})
	mustEncode := func(v marshaler) hexBytes {
		b, err := encode(v)
		if err != nil {
			t.Fatalf("encode %T: %v", v, err)
		}
		return b
	}
	proposalBody := func(p *Proposal) hexBytes { return mustEncode(p)[2:] }

	update, _ := testLeaf(t, cs, LeafNodeSourceUpdate, []byte("group"), 0)
	commitLeaf, _ := testLeaf(t, cs, LeafNodeSourceCommit, []byte("group"), 0)
	tree := newRatchetTree(cs, &kp.LeafNode)
	treeBytes, err := tree.encode()
	if err != nil {
		t.Fatalf("encode tree: %v", err)
	}
	psk := PreSharedKeyID{Type: PSKTypeExternal, PSKID: []byte("psk"), Nonce: bytes.Repeat([]byte{1}, cs.Nh())}
	ref, _ := kp.Ref()
	content := func(ct ContentType) FramedContent {
		return FramedContent{GroupID: []byte("group"), Epoch: 7, Sender: Sender{Type: SenderTypeMember, LeafIndex: 0},
			AuthenticatedData: []byte{}, ContentType: ct}
	}
	app := content(ContentTypeApplication)
	app.ApplicationData = []byte("hello")
	prop := content(ContentTypeProposal)
	prop.Proposal = &Proposal{Type: ProposalTypeRemove, Remove: &RemoveProposal{Removed: 3}}
	commit := &Commit{
		Proposals: []ProposalOrRef{{Proposal: &Proposal{Type: ProposalTypeAdd, Add: &AddProposal{KeyPackage: *kp}}}, {Reference: ProposalRef(ref)}},
		Path: &UpdatePath{LeafNode: *commitLeaf, Nodes: []UpdatePathNode{{EncryptionKey: []byte{9, 9},
			EncryptedPathSecret: []HPKECiphertext{{KEMOutput: []byte{1}, Ciphertext: []byte{2}}}}}},
	}
	com := content(ContentTypeCommit)
	com.Commit = commit
	sig := bytes.Repeat([]byte{5}, 64)
	tag := bytes.Repeat([]byte{6}, cs.Nh())
	public := func(c FramedContent, confirm []byte) hexBytes {
		return mustEncode(&MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPublicMessage,
			PublicMessage: &PublicMessage{Content: c, Auth: FramedContentAuthData{Signature: sig, ConfirmationTag: confirm}, MembershipTag: tag}})
	}
	gi := &GroupInfo{
		GroupContext: GroupContext{Version: ProtocolVersionMLS10, CipherSuite: cs, GroupID: []byte("group"), Epoch: 7,
			TreeHash: tag, ConfirmedTranscriptHash: tag, Extensions: []Extension{}},
		Extensions: []Extension{RatchetTreeExtension(treeBytes)}, ConfirmationTag: tag, Signer: 0, Signature: sig,
	}
	return messagesVector{
		MLSWelcome: mustEncode(&MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatWelcome, Welcome: &Welcome{
			CipherSuite: cs, Secrets: []EncryptedGroupSecrets{{NewMember: ref, EncryptedGroupSecrets: HPKECiphertext{KEMOutput: []byte{1}, Ciphertext: []byte{2}}}},
			EncryptedGroupInfo: []byte{3, 4}}}),
		MLSGroupInfo:                   mustEncode(&MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatGroupInfo, GroupInfo: gi}),
		MLSKeyPackage:                  mustEncode(&MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatKeyPackage, KeyPackage: kp}),
		RatchetTree:                    treeBytes,
		GroupSecrets:                   mustEncode(&GroupSecrets{JoinerSecret: tag, PathSecret: &PathSecret{PathSecret: tag}, PSKs: []PreSharedKeyID{psk}}),
		AddProposal:                    proposalBody(&Proposal{Type: ProposalTypeAdd, Add: &AddProposal{KeyPackage: *kp}}),
		UpdateProposal:                 proposalBody(&Proposal{Type: ProposalTypeUpdate, Update: &UpdateProposal{LeafNode: *update}}),
		RemoveProposal:                 proposalBody(&Proposal{Type: ProposalTypeRemove, Remove: &RemoveProposal{Removed: 0x01020304}}),
		PreSharedKeyProposal:           proposalBody(&Proposal{Type: ProposalTypePSK, PreSharedKey: &PreSharedKeyProposal{PSK: psk}}),
		ReInitProposal:                 proposalBody(&Proposal{Type: ProposalTypeReInit, ReInit: &ReInitProposal{GroupID: []byte("new"), Version: ProtocolVersionMLS10, CipherSuite: cs, Extensions: []Extension{RatchetTreeExtension(treeBytes)}}}),
		ExternalInitProposal:           proposalBody(&Proposal{Type: ProposalTypeExternalInit, ExternalInit: &ExternalInitProposal{KEMOutput: tag}}),
		GroupContextExtensionsProposal: proposalBody(&Proposal{Type: ProposalTypeGroupContextExtensions, GroupContextExtensions: &GroupContextExtensionsProposal{Extensions: []Extension{}}}),
		Commit:                         mustEncode(commit),
		PublicMessageApplication:       public(app, nil),
		PublicMessageProposal:          public(prop, nil),
		PublicMessageCommit:            public(com, tag),
		PrivateMessage: mustEncode(&MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPrivateMessage, PrivateMessage: &PrivateMessage{
			GroupID: []byte("group"), Epoch: 7, ContentType: ContentTypeApplication, AuthenticatedData: []byte{},
			EncryptedSenderData: []byte{1, 2, 3}, Ciphertext: []byte{4, 5, 6}}}),
	}
}

// messagesJSON converts entries to the upstream JSON shape: one object per
// entry, each field a lowercase hex string under its json tag.
func messagesJSON(entries []messagesVector) []map[string]string {
	var out []map[string]string
	for i := range entries {
		v := reflect.ValueOf(entries[i])
		m := map[string]string{}
		for j := range v.NumField() {
			m[v.Type().Field(j).Tag.Get("json")] = hex.EncodeToString(v.Field(j).Bytes())
		}
		out = append(out, m)
	}
	return out
}

// TestMessagesRunner runs the messages.json runner on a file built in a
// temporary directory from our own encoders (the upstream file is held
// back), and checks that it reports damaged entries.
func TestMessagesRunner(t *testing.T) {
	var entries []messagesVector
	for _, cs := range allSuites {
		entries = append(entries, sampleMessagesVector(t, cs))
	}
	data, err := json.Marshal(messagesJSON(entries))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "messages.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("file", func(t *testing.T) { runMessagesVectors(t, path) })

	// The JSON uses upstream's field names and lowercase hex.
	var raw []map[string]string
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw[0]) != 17 || raw[0]["public_message_commit"] != hex.EncodeToString(entries[0].PublicMessageCommit) {
		t.Fatalf("unexpected JSON shape: %d fields", len(raw[0]))
	}

	damaged := entries[0]
	damaged.Commit = append(append(hexBytes{}, damaged.Commit...), 0)
	damaged.PrivateMessage = damaged.PublicMessageApplication
	damaged.PublicMessageProposal = damaged.PublicMessageCommit
	damaged.RemoveProposal = damaged.RemoveProposal[:3]
	damaged.GroupSecrets = nil
	errs := checkMessagesVector(&damaged)
	want := []string{"remove_proposal", "commit", "group_secrets", "public_message_proposal", "private_message"}
	if len(errs) != len(want) {
		t.Fatalf("damaged entry: %d errors %v, want %d", len(errs), errs, len(want))
	}
	for _, name := range want {
		found := false
		for _, err := range errs {
			found = found || strings.HasPrefix(err.Error(), name+":")
		}
		if !found {
			t.Errorf("no error reported for %s: %v", name, errs)
		}
	}
}
