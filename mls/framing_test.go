package mls

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestFramingCodecVectors decodes every MLSMessage of message-protection.json
// and checks that it re-encodes to the same bytes.
func TestFramingCodecVectors(t *testing.T) {
	path := filepath.Join(vectorDir(), "message-protection.json")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("vector file: %v", err)
	}
	for i, v := range loadVectors[messageProtectionVector](t, path) {
		t.Run(suiteName(v.CipherSuite, i), func(t *testing.T) {
			for _, m := range []struct {
				b  []byte
				wf WireFormat
			}{
				{v.ProposalPub, WireFormatPublicMessage}, {v.CommitPub, WireFormatPublicMessage},
				{v.ProposalPriv, WireFormatPrivateMessage}, {v.CommitPriv, WireFormatPrivateMessage},
				{v.ApplicationPriv, WireFormatPrivateMessage},
			} {
				msg := parseMessage(t, m.b, m.wf)
				for cut := 0; cut < len(m.b); cut += 1 + len(m.b)/17 {
					if _, err := ParseMLSMessage(m.b[:cut]); !errors.Is(err, ErrDecode) {
						t.Fatalf("truncated to %d bytes: err = %v, want ErrDecode", cut, err)
					}
				}
				if msg.PublicMessage != nil && msg.PublicMessage.MembershipTag == nil {
					t.Fatalf("member public message without membership tag")
				}
			}
			var p Proposal
			if err := decode(v.Proposal, &p); err != nil {
				t.Fatalf("decode proposal: %v", err)
			}
			var c Commit
			if err := decode(v.Commit, &c); err != nil {
				t.Fatalf("decode commit: %v", err)
			}
		})
	}
}

func testFramedContent(ct ContentType, sender Sender) FramedContent {
	c := FramedContent{GroupID: []byte("group"), Epoch: 5, Sender: sender, AuthenticatedData: []byte("ad"), ContentType: ct}
	switch ct {
	case ContentTypeApplication:
		c.ApplicationData = []byte("hello")
	case ContentTypeProposal:
		c.Proposal = &Proposal{Type: ProposalTypeRemove, Remove: &RemoveProposal{Removed: 1}}
	case ContentTypeCommit:
		c.Commit = &Commit{Proposals: []ProposalOrRef{}}
	}
	return c
}

func TestPublicMessageCodec(t *testing.T) {
	senders := []Sender{
		{Type: SenderTypeMember, LeafIndex: 3}, {Type: SenderTypeExternal, SenderIndex: 2},
		{Type: SenderTypeNewMemberProposal}, {Type: SenderTypeNewMemberCommit},
	}
	for _, s := range senders {
		for _, ct := range []ContentType{ContentTypeProposal, ContentTypeCommit} {
			pm := PublicMessage{Content: testFramedContent(ct, s), Auth: FramedContentAuthData{Signature: []byte("sig")}}
			if ct == ContentTypeCommit {
				pm.Auth.ConfirmationTag = []byte("conf")
			}
			if s.Type == SenderTypeMember {
				pm.MembershipTag = []byte("member")
			}
			m := MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPublicMessage, PublicMessage: &pm}
			b, err := m.Bytes()
			if err != nil {
				t.Fatalf("%s/%s: encode: %v", s.Type, ct, err)
			}
			back := parseMessage(t, b, WireFormatPublicMessage).PublicMessage
			if back.Content.Sender != s || !bytes.Equal(back.Auth.ConfirmationTag, pm.Auth.ConfirmationTag) ||
				!bytes.Equal(back.MembershipTag, pm.MembershipTag) {
				t.Fatalf("%s/%s: decoded %+v", s.Type, ct, back)
			}
		}
	}
	// A membership tag for a non-member and a confirmation tag on a proposal
	// have no encoding.
	pm := PublicMessage{Content: testFramedContent(ContentTypeProposal, senders[1]), MembershipTag: []byte{1}}
	if _, err := encode(&pm); err == nil {
		t.Errorf("membership tag of external sender encoded")
	}
	pm = PublicMessage{Content: testFramedContent(ContentTypeProposal, senders[0]), Auth: FramedContentAuthData{ConfirmationTag: []byte{1}}}
	if _, err := encode(&pm); err == nil {
		t.Errorf("confirmation tag of a proposal encoded")
	}
}

func TestMLSMessageDecodeRejects(t *testing.T) {
	good := mustEncode(t, &MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatPublicMessage, PublicMessage: &PublicMessage{
		Content: testFramedContent(ContentTypeProposal, Sender{Type: SenderTypeMember, LeafIndex: 1}),
		Auth:    FramedContentAuthData{Signature: []byte("s")}, MembershipTag: []byte("t"),
	}})
	// Offsets: version 0..1, wire format 2..3, group_id length 4, group_id
	// 5..9, epoch 10..17, sender type 18, leaf 19..22, ad 23..25, content type 26.
	mutate := func(i int, v byte) []byte {
		b := append([]byte{}, good...)
		b[i] = v
		return b
	}
	cases := map[string][]byte{
		"version 0":         mutate(1, 0),
		"version 2":         mutate(1, 2),
		"wire format 0":     mutate(3, 0),
		"wire format 6":     mutate(3, 6),
		"sender type 0":     mutate(18, 0),
		"sender type 5":     mutate(18, 5),
		"content type 0":    mutate(26, 0),
		"content type 4":    mutate(26, 4),
		"trailing byte":     append(append([]byte{}, good...), 0),
		"private ct 0":      {0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"empty":             {},
		"group info prefix": {0, 1, 0, 4, 0, 1},
	}
	for name, b := range cases {
		if _, err := ParseMLSMessage(b); !errors.Is(err, ErrDecode) {
			t.Errorf("%s: err = %v, want ErrDecode", name, err)
		}
	}
	if _, err := ParseMLSMessage(good); err != nil {
		t.Fatalf("unmodified message: %v", err)
	}
	if _, err := (&MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatWelcome}).Bytes(); err == nil {
		t.Errorf("MLSMessage without body encoded")
	}
}

func TestAuthenticatedContentCodec(t *testing.T) {
	ac := AuthenticatedContent{
		WireFormat: WireFormatPrivateMessage,
		Content:    testFramedContent(ContentTypeCommit, Sender{Type: SenderTypeMember, LeafIndex: 0}),
		Auth:       FramedContentAuthData{Signature: []byte("s"), ConfirmationTag: []byte("c")},
	}
	b := mustEncode(t, &ac)
	var back AuthenticatedContent
	if err := decode(b, &back); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !bytes.Equal(mustEncode(t, &back), b) {
		t.Fatalf("re-encoding differs")
	}
	b[1] = byte(WireFormatWelcome)
	if err := decode(b, &back); !errors.Is(err, ErrDecode) {
		t.Fatalf("authenticated content with welcome wire format: err = %v, want ErrDecode", err)
	}
}

func TestPrivateMessageContentPadding(t *testing.T) {
	c := testFramedContent(ContentTypeApplication, Sender{Type: SenderTypeMember})
	auth := FramedContentAuthData{Signature: []byte("sig")}
	b := mustEncode(t, &privateMessageContent{Content: &c, Auth: &auth, Padding: 5})
	if !bytes.Equal(b[len(b)-5:], make([]byte, 5)) {
		t.Fatalf("padding not zero: %x", b)
	}
	back := privateMessageContent{Content: &FramedContent{ContentType: ContentTypeApplication}, Auth: new(FramedContentAuthData)}
	if err := decode(b, &back); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if back.Padding != 5 || !bytes.Equal(back.Content.ApplicationData, c.ApplicationData) {
		t.Fatalf("decoded padding %d, data %q", back.Padding, back.Content.ApplicationData)
	}
	b[len(b)-2] = 1
	err := decode(b, &back)
	if !errors.Is(err, ErrDecode) || !bytes.Contains([]byte(err.Error()), []byte("§6.3.1")) {
		t.Fatalf("non-zero padding: err = %v, want ErrDecode citing §6.3.1", err)
	}
	for _, tc := range []struct{ n, padTo, want int }{{10, 0, 0}, {10, 1, 0}, {10, 16, 6}, {16, 16, 0}, {17, 16, 15}} {
		if got := paddingFor(tc.n, tc.padTo); got != tc.want {
			t.Errorf("paddingFor(%d, %d) = %d, want %d", tc.n, tc.padTo, got, tc.want)
		}
	}
}
