package mls

import "fmt"

// WireFormat says how an MLSMessage body is encoded (RFC 9420 §6, §17.2).
type WireFormat uint16

// Wire formats of the IANA "MLS Wire Formats" registry.
const (
	WireFormatPublicMessage  WireFormat = 1
	WireFormatPrivateMessage WireFormat = 2
	WireFormatWelcome        WireFormat = 3
	WireFormatGroupInfo      WireFormat = 4
	WireFormatKeyPackage     WireFormat = 5
)

// String returns the registry name of f, or its number when unknown.
func (f WireFormat) String() string {
	switch f {
	case WireFormatPublicMessage:
		return "mls_public_message"
	case WireFormatPrivateMessage:
		return "mls_private_message"
	case WireFormatWelcome:
		return "mls_welcome"
	case WireFormatGroupInfo:
		return "mls_group_info"
	case WireFormatKeyPackage:
		return "mls_key_package"
	}
	return fmt.Sprintf("wire_format(%d)", uint16(f))
}

// ContentType says what a FramedContent carries (RFC 9420 §6).
type ContentType uint8

// Content types of RFC 9420 §6.
const (
	ContentTypeApplication ContentType = 1
	ContentTypeProposal    ContentType = 2
	ContentTypeCommit      ContentType = 3
)

// String returns the RFC name of t, or its number when unknown.
func (t ContentType) String() string {
	switch t {
	case ContentTypeApplication:
		return "application"
	case ContentTypeProposal:
		return "proposal"
	case ContentTypeCommit:
		return "commit"
	}
	return fmt.Sprintf("content_type(%d)", uint8(t))
}

func (t ContentType) valid() bool { return t >= ContentTypeApplication && t <= ContentTypeCommit }

// SenderType says who sent a FramedContent (RFC 9420 §6).
type SenderType uint8

// Sender types of RFC 9420 §6.
const (
	SenderTypeMember            SenderType = 1
	SenderTypeExternal          SenderType = 2
	SenderTypeNewMemberProposal SenderType = 3
	SenderTypeNewMemberCommit   SenderType = 4
)

// String returns the RFC name of t, or its number when unknown.
func (t SenderType) String() string {
	switch t {
	case SenderTypeMember:
		return "member"
	case SenderTypeExternal:
		return "external"
	case SenderTypeNewMemberProposal:
		return "new_member_proposal"
	case SenderTypeNewMemberCommit:
		return "new_member_commit"
	}
	return fmt.Sprintf("sender_type(%d)", uint8(t))
}

// Sender identifies the author of a FramedContent (RFC 9420 §6). LeafIndex
// is meaningful only for SenderTypeMember and SenderIndex (an index into the
// external_senders extension) only for SenderTypeExternal; both are zero
// otherwise.
type Sender struct {
	Type        SenderType
	LeafIndex   LeafIndex
	SenderIndex uint32
}

func (s *Sender) marshal(w *Writer) {
	w.Uint8(uint8(s.Type))
	switch s.Type {
	case SenderTypeMember:
		w.Uint32(uint32(s.LeafIndex))
	case SenderTypeExternal:
		w.Uint32(s.SenderIndex)
	case SenderTypeNewMemberProposal, SenderTypeNewMemberCommit:
	default:
		failEncode(w, "sender type %d", uint8(s.Type))
	}
}

func (s *Sender) unmarshal(r *Reader) {
	*s = Sender{Type: SenderType(r.Uint8())}
	switch s.Type {
	case SenderTypeMember:
		s.LeafIndex = LeafIndex(r.Uint32())
	case SenderTypeExternal:
		s.SenderIndex = r.Uint32()
	case SenderTypeNewMemberProposal, SenderTypeNewMemberCommit:
	default:
		r.Fail("sender type %d", uint8(s.Type))
	}
}

// FramedContent is the unprotected body of a handshake or application
// message (RFC 9420 §6). Exactly the field matching ContentType is set:
// ApplicationData (non-nil, possibly empty), Proposal or Commit.
type FramedContent struct {
	GroupID           []byte
	Epoch             uint64
	Sender            Sender
	AuthenticatedData []byte
	ContentType       ContentType
	ApplicationData   []byte
	Proposal          *Proposal
	Commit            *Commit
}

func (c *FramedContent) marshal(w *Writer) {
	w.Opaque(c.GroupID)
	w.Uint64(c.Epoch)
	c.Sender.marshal(w)
	w.Opaque(c.AuthenticatedData)
	w.Uint8(uint8(c.ContentType))
	c.marshalBody(w)
}

// marshalBody writes the content_type-selected body shared by FramedContent
// and PrivateMessageContent.
func (c *FramedContent) marshalBody(w *Writer) {
	switch {
	case c.ContentType == ContentTypeApplication:
		w.Opaque(c.ApplicationData)
	case c.ContentType == ContentTypeProposal && c.Proposal != nil:
		c.Proposal.marshal(w)
	case c.ContentType == ContentTypeCommit && c.Commit != nil:
		c.Commit.marshal(w)
	default:
		failEncode(w, "framed content of type %s without its body", c.ContentType)
	}
}

func (c *FramedContent) unmarshal(r *Reader) {
	c.GroupID = r.Opaque()
	c.Epoch = r.Uint64()
	c.Sender.unmarshal(r)
	c.AuthenticatedData = r.Opaque()
	c.ContentType = ContentType(r.Uint8())
	c.unmarshalBody(r)
}

// unmarshalBody reads the body selected by c.ContentType.
func (c *FramedContent) unmarshalBody(r *Reader) {
	c.ApplicationData, c.Proposal, c.Commit = nil, nil, nil
	switch c.ContentType {
	case ContentTypeApplication:
		c.ApplicationData = r.Opaque()
	case ContentTypeProposal:
		c.Proposal = new(Proposal)
		c.Proposal.unmarshal(r)
	case ContentTypeCommit:
		c.Commit = new(Commit)
		c.Commit.unmarshal(r)
	default:
		r.Fail("content type %d", uint8(c.ContentType))
	}
}

// FramedContentAuthData authenticates a FramedContent (RFC 9420 §6.1):
// Signature over the FramedContentTBS, and for commits the ConfirmationTag
// (MAC of the new epoch's confirmed transcript hash). ConfirmationTag is
// encoded only for commit content and must be nil otherwise.
type FramedContentAuthData struct {
	Signature       []byte
	ConfirmationTag []byte
}

func (a *FramedContentAuthData) marshalFor(w *Writer, ct ContentType) {
	w.Opaque(a.Signature)
	switch {
	case ct == ContentTypeCommit:
		w.Opaque(a.ConfirmationTag)
	case a.ConfirmationTag != nil:
		failEncode(w, "confirmation tag on %s content", ct)
	}
}

func (a *FramedContentAuthData) unmarshalFor(r *Reader, ct ContentType) {
	a.Signature = r.Opaque()
	a.ConfirmationTag = nil
	if ct == ContentTypeCommit {
		a.ConfirmationTag = r.Opaque()
	}
}

// AuthenticatedContent is a FramedContent with its authentication data and
// the wire format it was (or will be) sent in (RFC 9420 §6). It is what
// protection and unprotection convert from and to; one returned by
// unprotectPublic or unprotectPrivate has a verified signature (its
// confirmation tag is checked by commit processing).
type AuthenticatedContent struct {
	WireFormat WireFormat
	Content    FramedContent
	Auth       FramedContentAuthData
}

func (a *AuthenticatedContent) marshal(w *Writer) {
	w.Uint16(uint16(a.WireFormat))
	a.Content.marshal(w)
	a.Auth.marshalFor(w, a.Content.ContentType)
}

func (a *AuthenticatedContent) unmarshal(r *Reader) {
	a.WireFormat = WireFormat(r.Uint16())
	if a.WireFormat != WireFormatPublicMessage && a.WireFormat != WireFormatPrivateMessage {
		r.Fail("authenticated content with wire format %s", a.WireFormat)
		return
	}
	a.Content.unmarshal(r)
	a.Auth.unmarshalFor(r, a.Content.ContentType)
}

// framedContentTBS is the FramedContentTBS of RFC 9420 §6.1: what the
// sender signs. Context is required for member and new_member_commit
// senders and ignored otherwise.
type framedContentTBS struct {
	WireFormat WireFormat
	Content    *FramedContent
	Context    *GroupContext
}

func (t *framedContentTBS) marshal(w *Writer) {
	w.Uint16(uint16(ProtocolVersionMLS10))
	w.Uint16(uint16(t.WireFormat))
	t.Content.marshal(w)
	switch t.Content.Sender.Type {
	case SenderTypeMember, SenderTypeNewMemberCommit:
		if t.Context == nil {
			failEncode(w, "framed content tbs of a %s sender without group context", t.Content.Sender.Type)
			return
		}
		t.Context.marshal(w)
	}
}

// authenticatedContentTBM is the AuthenticatedContentTBM of RFC 9420 §6.2:
// what the membership tag covers.
type authenticatedContentTBM struct {
	TBS  framedContentTBS
	Auth *FramedContentAuthData
}

func (t *authenticatedContentTBM) marshal(w *Writer) {
	t.TBS.marshal(w)
	t.Auth.marshalFor(w, t.TBS.Content.ContentType)
}

// PublicMessage is a signed, unencrypted message (RFC 9420 §6.2).
// MembershipTag is present exactly when the sender is a member.
type PublicMessage struct {
	Content       FramedContent
	Auth          FramedContentAuthData
	MembershipTag []byte
}

func (m *PublicMessage) marshal(w *Writer) {
	m.Content.marshal(w)
	m.Auth.marshalFor(w, m.Content.ContentType)
	switch {
	case m.Content.Sender.Type == SenderTypeMember:
		w.Opaque(m.MembershipTag)
	case m.MembershipTag != nil:
		failEncode(w, "membership tag for a %s sender", m.Content.Sender.Type)
	}
}

func (m *PublicMessage) unmarshal(r *Reader) {
	m.Content.unmarshal(r)
	m.Auth.unmarshalFor(r, m.Content.ContentType)
	m.MembershipTag = nil
	if m.Content.Sender.Type == SenderTypeMember {
		m.MembershipTag = r.Opaque()
	}
}

// authenticatedContent returns the AuthenticatedContent m carries, sharing
// its slices.
func (m *PublicMessage) authenticatedContent() *AuthenticatedContent {
	return &AuthenticatedContent{WireFormat: WireFormatPublicMessage, Content: m.Content, Auth: m.Auth}
}

// PrivateMessage is a signed and encrypted message (RFC 9420 §6.3).
type PrivateMessage struct {
	GroupID             []byte
	Epoch               uint64
	ContentType         ContentType
	AuthenticatedData   []byte
	EncryptedSenderData []byte
	Ciphertext          []byte
}

func (m *PrivateMessage) marshal(w *Writer) {
	w.Opaque(m.GroupID)
	w.Uint64(m.Epoch)
	w.Uint8(uint8(m.ContentType))
	w.Opaque(m.AuthenticatedData)
	w.Opaque(m.EncryptedSenderData)
	w.Opaque(m.Ciphertext)
}

func (m *PrivateMessage) unmarshal(r *Reader) {
	m.GroupID = r.Opaque()
	m.Epoch = r.Uint64()
	m.ContentType = ContentType(r.Uint8())
	if !m.ContentType.valid() {
		r.Fail("content type %d", uint8(m.ContentType))
		return
	}
	m.AuthenticatedData = r.Opaque()
	m.EncryptedSenderData = r.Opaque()
	m.Ciphertext = r.Opaque()
}

// privateMessageContent is the plaintext of PrivateMessage.ciphertext (RFC
// 9420 §6.3.1): the content body, its auth data and Padding zero bytes.
// Content supplies ContentType and the body; its other fields are unused.
type privateMessageContent struct {
	Content *FramedContent
	Auth    *FramedContentAuthData
	Padding int
}

func (p *privateMessageContent) marshal(w *Writer) {
	p.Content.marshalBody(w)
	p.Auth.marshalFor(w, p.Content.ContentType)
	if p.Padding < 0 {
		failEncode(w, "negative padding %d", p.Padding)
		return
	}
	w.Raw(make([]byte, p.Padding))
}

// unmarshal reads the body of type p.Content.ContentType and the auth data,
// then takes every remaining byte as padding, which must be all zero.
func (p *privateMessageContent) unmarshal(r *Reader) {
	p.Content.unmarshalBody(r)
	p.Auth.unmarshalFor(r, p.Content.ContentType)
	pad := r.Raw(r.Len())
	var acc byte
	for _, b := range pad {
		acc |= b
	}
	if acc != 0 {
		r.Fail("non-zero byte in private message padding (RFC 9420 §6.3.1)")
		return
	}
	p.Padding = len(pad)
}

// senderData is the plaintext of PrivateMessage.encrypted_sender_data (RFC
// 9420 §6.3.2).
type senderData struct {
	LeafIndex  LeafIndex
	Generation uint32
	ReuseGuard [4]byte
}

func (s *senderData) marshal(w *Writer) {
	w.Uint32(uint32(s.LeafIndex))
	w.Uint32(s.Generation)
	w.Raw(s.ReuseGuard[:])
}

func (s *senderData) unmarshal(r *Reader) {
	s.LeafIndex = LeafIndex(r.Uint32())
	s.Generation = r.Uint32()
	copy(s.ReuseGuard[:], r.Raw(4))
}

// senderDataAAD is the AAD of the sender data encryption (RFC 9420 §6.3.2).
type senderDataAAD struct {
	GroupID     []byte
	Epoch       uint64
	ContentType ContentType
}

func (a *senderDataAAD) marshal(w *Writer) {
	w.Opaque(a.GroupID)
	w.Uint64(a.Epoch)
	w.Uint8(uint8(a.ContentType))
}

// privateContentAAD is the AAD of the content encryption (RFC 9420 §6.3.1).
type privateContentAAD struct {
	GroupID           []byte
	Epoch             uint64
	ContentType       ContentType
	AuthenticatedData []byte
}

func (a *privateContentAAD) marshal(w *Writer) {
	w.Opaque(a.GroupID)
	w.Uint64(a.Epoch)
	w.Uint8(uint8(a.ContentType))
	w.Opaque(a.AuthenticatedData)
}

// MLSMessage is the top-level envelope of every MLS message (RFC 9420 §6):
// the protocol version (always mls10) and exactly one body, the one whose
// field matches WireFormat.
type MLSMessage struct {
	Version        ProtocolVersion
	WireFormat     WireFormat
	PublicMessage  *PublicMessage
	PrivateMessage *PrivateMessage
	Welcome        *Welcome
	GroupInfo      *GroupInfo
	KeyPackage     *KeyPackage
}

// ParseMLSMessage decodes b, which must hold exactly one MLSMessage of
// version mls10. Errors wrap ErrDecode. The result is unverified.
func ParseMLSMessage(b []byte) (*MLSMessage, error) {
	m := new(MLSMessage)
	if err := decode(b, m); err != nil {
		return nil, err
	}
	return m, nil
}

// Bytes returns the encoding of m, or an error if m is not encodable (no
// body, or a body that does not match WireFormat).
func (m *MLSMessage) Bytes() ([]byte, error) { return encode(m) }

func (m *MLSMessage) marshal(w *Writer) {
	w.Uint16(uint16(m.Version))
	w.Uint16(uint16(m.WireFormat))
	switch {
	case m.WireFormat == WireFormatPublicMessage && m.PublicMessage != nil:
		m.PublicMessage.marshal(w)
	case m.WireFormat == WireFormatPrivateMessage && m.PrivateMessage != nil:
		m.PrivateMessage.marshal(w)
	case m.WireFormat == WireFormatWelcome && m.Welcome != nil:
		m.Welcome.marshal(w)
	case m.WireFormat == WireFormatGroupInfo && m.GroupInfo != nil:
		m.GroupInfo.marshal(w)
	case m.WireFormat == WireFormatKeyPackage && m.KeyPackage != nil:
		m.KeyPackage.marshal(w)
	default:
		failEncode(w, "mls message with wire format %s without its body", m.WireFormat)
	}
}

func (m *MLSMessage) unmarshal(r *Reader) {
	*m = MLSMessage{Version: ProtocolVersion(r.Uint16())}
	if m.Version != ProtocolVersionMLS10 {
		r.Fail("protocol version %d", uint16(m.Version))
		return
	}
	m.WireFormat = WireFormat(r.Uint16())
	switch m.WireFormat {
	case WireFormatPublicMessage:
		m.PublicMessage = new(PublicMessage)
		m.PublicMessage.unmarshal(r)
	case WireFormatPrivateMessage:
		m.PrivateMessage = new(PrivateMessage)
		m.PrivateMessage.unmarshal(r)
	case WireFormatWelcome:
		m.Welcome = new(Welcome)
		m.Welcome.unmarshal(r)
	case WireFormatGroupInfo:
		m.GroupInfo = new(GroupInfo)
		m.GroupInfo.unmarshal(r)
	case WireFormatKeyPackage:
		m.KeyPackage = new(KeyPackage)
		m.KeyPackage.unmarshal(r)
	default:
		r.Fail("wire format %d", uint16(m.WireFormat))
	}
}
