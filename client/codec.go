package client

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"mlsbridge/wire/content"
	"mlsbridge/wire/contenttype"
)

// ContentCodec encodes and decodes the values of one content type
// (xmtp-groups.md §5.4), as libxmtp's ContentCodec does. Implementations
// are stateless and safe for concurrent use.
type ContentCodec interface {
	// ContentType is the type the codec handles; its authority, type id
	// and major version select it for decoding.
	ContentType() ContentTypeID
	// Encode returns the EncodedContent of v with the parameters and
	// fallback text libxmtp sets. A v of the wrong Go type is an
	// ErrInvalidArgument.
	Encode(v any) (*content.EncodedContent, error)
	// Decode returns the value ec carries. It never panics, whatever the
	// bytes.
	Decode(ec *content.EncodedContent) (any, error)
	// ShouldPush is the push-notification hint libxmtp sends the type
	// with.
	ShouldPush() bool
}

// ErrCodecNotFound is returned when no registered codec handles a content
// type.
var ErrCodecNotFound = errors.New("client: no codec for content type")

// codecKey selects a codec: minor versions are compatible.
type codecKey struct {
	authority, typeID string
	major             uint32
}

func keyOf(t ContentTypeID) codecKey { return codecKey{t.AuthorityID, t.TypeID, t.VersionMajor} }

// CodecRegistry maps content types to their codecs. It is immutable once
// built, so safe for concurrent use.
type CodecRegistry struct {
	codecs map[codecKey]ContentCodec
}

// NewCodecRegistry returns a registry of codecs. Two codecs for the same
// authority, type id and major version are a programming error: it
// panics.
func NewCodecRegistry(codecs ...ContentCodec) *CodecRegistry {
	r := &CodecRegistry{codecs: map[codecKey]ContentCodec{}}
	for _, c := range codecs {
		k := keyOf(c.ContentType())
		if _, dup := r.codecs[k]; dup {
			panic("client: codec for " + c.ContentType().String() + " registered twice")
		}
		r.codecs[k] = c
	}
	return r
}

// With returns a new registry holding r's codecs plus codecs, which
// replace r's codec of the same type.
func (r *CodecRegistry) With(codecs ...ContentCodec) *CodecRegistry {
	n := &CodecRegistry{codecs: make(map[codecKey]ContentCodec, len(r.codecs)+len(codecs))}
	for k, c := range r.codecs {
		n.codecs[k] = c
	}
	for _, c := range codecs {
		n.codecs[keyOf(c.ContentType())] = c
	}
	return n
}

// Codec returns the codec of t, or nil.
func (r *CodecRegistry) Codec(t ContentTypeID) ContentCodec { return r.codecs[keyOf(t)] }

// Encode encodes v with the codec of t.
func (r *CodecRegistry) Encode(t ContentTypeID, v any) (*content.EncodedContent, error) {
	c := r.Codec(t)
	if c == nil {
		return nil, fmt.Errorf("%w %s", ErrCodecNotFound, t)
	}
	return c.Encode(v)
}

// Decode decodes ec with the codec of its type: a string for text, a
// [Markdown], [*Reaction] (both versions), [*Reply], [ReadReceipt],
// [*LeaveRequest], [*DeleteMessage] or [*content.GroupUpdated] for the
// standard types. A type without a codec is ErrCodecNotFound.
func (r *CodecRegistry) Decode(ec *content.EncodedContent) (any, error) {
	if ec.GetType() == nil {
		return nil, fmt.Errorf("%w: content without a type", ErrCodecNotFound)
	}
	t := contentTypeOf(ec)
	c := r.Codec(t)
	if c == nil {
		return nil, fmt.Errorf("%w %s", ErrCodecNotFound, t)
	}
	return c.Decode(ec)
}

// DecodeMessage decodes a stored message's content (see Decode).
func (r *CodecRegistry) DecodeMessage(m *Message) (any, error) {
	ec, err := m.Content()
	if err != nil {
		return nil, err
	}
	return r.Decode(ec)
}

// standardCodecs are libxmtp's codecs that this client knows.
var standardCodecs = NewCodecRegistry(TextCodec{}, MarkdownCodec{}, ReactionCodec{}, LegacyReactionCodec{}, ReplyCodec{},
	ReadReceiptCodec{}, LeaveRequestCodec{}, DeleteMessageCodec{}, GroupUpdatedCodec{})

// StandardCodecs returns the registry of the content types this client
// knows: text, markdown, reaction (2.0, and the legacy JSON 1.0), reply,
// read receipt, leave request, delete message and group updated.
func StandardCodecs() *CodecRegistry { return standardCodecs }

// Codecs returns the registry the client decodes messages with
// (Options.Codecs, else StandardCodecs).
func (c *Client) Codecs() *CodecRegistry {
	if c.codecs != nil {
		return c.codecs
	}
	return standardCodecs
}

// Content types of the standard codecs (xmtp-groups.md §5.4).
var (
	ContentTypeMarkdown       = ContentTypeID{AuthorityID: "xmtp.org", TypeID: "markdown", VersionMajor: 1}
	ContentTypeReaction       = ContentTypeID{AuthorityID: "xmtp.org", TypeID: "reaction", VersionMajor: 2}
	ContentTypeLegacyReaction = ContentTypeID{AuthorityID: "xmtp.org", TypeID: "reaction", VersionMajor: 1}
	ContentTypeReply          = ContentTypeID{AuthorityID: "xmtp.org", TypeID: "reply", VersionMajor: 1}
	ContentTypeReadReceipt    = ContentTypeID{AuthorityID: "xmtp.org", TypeID: "readReceipt", VersionMajor: 1}
	ContentTypeLeaveRequest   = ContentTypeID{AuthorityID: "xmtp.org", TypeID: "leave_request", VersionMajor: 1}
	ContentTypeDeleteMessage  = ContentTypeID{AuthorityID: "xmtp.org", TypeID: "deleteMessage", VersionMajor: 1}
	// ContentTypeDeletedMessage is local only: enriched views show a
	// deleted message with it, in place of its own type. It is never
	// sent.
	ContentTypeDeletedMessage = ContentTypeID{AuthorityID: "xmtp.org", TypeID: "deletedMessage", VersionMajor: 1}
)

func contentTypeOf(ec *content.EncodedContent) ContentTypeID {
	t := ec.GetType()
	return ContentTypeID{AuthorityID: t.GetAuthorityId(), TypeID: t.GetTypeId(), VersionMajor: t.GetVersionMajor(), VersionMinor: t.GetVersionMinor()}
}

func (t ContentTypeID) wire() *content.ContentTypeId {
	return &content.ContentTypeId{AuthorityId: t.AuthorityID, TypeId: t.TypeID, VersionMajor: t.VersionMajor, VersionMinor: t.VersionMinor}
}

func wrongValue(t ContentTypeID, v any) error {
	return fmt.Errorf("%w: %s codec cannot encode a %T", ErrInvalidArgument, t, v)
}

// decodeError names the content type whose bytes were bad.
func decodeError(t ContentTypeID, err error) error {
	return fmt.Errorf("client: decode %s: %w", t, err)
}

// TextCodec is xmtp.org/text:1.0: a string as UTF-8.
type TextCodec struct{}

// ContentType implements ContentCodec.
func (TextCodec) ContentType() ContentTypeID { return ContentTypeText }

// Encode implements ContentCodec; v is a string.
func (TextCodec) Encode(v any) (*content.EncodedContent, error) {
	s, ok := v.(string)
	if !ok {
		return nil, wrongValue(ContentTypeText, v)
	}
	return EncodeText(s), nil
}

// Decode implements ContentCodec.
func (TextCodec) Decode(ec *content.EncodedContent) (any, error) { return DecodeText(ec) }

// ShouldPush implements ContentCodec.
func (TextCodec) ShouldPush() bool { return true }

// Markdown is the text of an xmtp.org/markdown:1.0 message.
type Markdown string

// MarkdownCodec is xmtp.org/markdown:1.0: markdown text as UTF-8.
type MarkdownCodec struct{}

// ContentType implements ContentCodec.
func (MarkdownCodec) ContentType() ContentTypeID { return ContentTypeMarkdown }

// Encode implements ContentCodec; v is a Markdown or a string.
func (MarkdownCodec) Encode(v any) (*content.EncodedContent, error) {
	var s string
	switch x := v.(type) {
	case Markdown:
		s = string(x)
	case string:
		s = x
	default:
		return nil, wrongValue(ContentTypeMarkdown, v)
	}
	return &content.EncodedContent{Type: ContentTypeMarkdown.wire(), Parameters: map[string]string{"encoding": "UTF-8"},
		Content: []byte(s)}, nil
}

// Decode implements ContentCodec.
func (MarkdownCodec) Decode(ec *content.EncodedContent) (any, error) {
	if enc, ok := ec.GetParameters()["encoding"]; ok && enc != "UTF-8" {
		return nil, decodeError(ContentTypeMarkdown, fmt.Errorf("encoding %q", enc))
	}
	if !utf8.Valid(ec.GetContent()) {
		return nil, decodeError(ContentTypeMarkdown, errors.New("invalid UTF-8"))
	}
	return Markdown(ec.GetContent()), nil
}

// ShouldPush implements ContentCodec.
func (MarkdownCodec) ShouldPush() bool { return true }

// ReactionAction says whether a reaction is added or taken back; the
// numbers are ReactionV2's.
type ReactionAction int32

// Reaction actions.
const (
	ReactionUnspecified ReactionAction = 0
	ReactionAdded       ReactionAction = 1
	ReactionRemoved     ReactionAction = 2
)

// ReactionSchema says how to read a reaction's content; the numbers are
// ReactionV2's.
type ReactionSchema int32

// Reaction schemas.
const (
	SchemaUnspecified ReactionSchema = 0
	SchemaUnicode     ReactionSchema = 1
	SchemaShortcode   ReactionSchema = 2
	SchemaCustom      ReactionSchema = 3
)

// Reaction is a reaction to a message (xmtp.org/reaction).
type Reaction struct {
	// Reference is the target message's id in lowercase hex.
	Reference string
	// ReferenceInboxID is the target's sender ("" when not given).
	ReferenceInboxID string
	Action           ReactionAction
	// Content is the emoji (or shortcode, or custom value).
	Content string
	Schema  ReactionSchema
}

// fallback is libxmtp's reaction fallback text.
func (r *Reaction) fallback() string {
	if r.Action == ReactionRemoved {
		return `Removed "` + r.Content + `" from an earlier message`
	}
	return `Reacted with "` + r.Content + `" to an earlier message`
}

// ReactionCodec is xmtp.org/reaction:2.0, the protobuf ReactionV2 libxmtp
// sends.
type ReactionCodec struct{}

// ContentType implements ContentCodec.
func (ReactionCodec) ContentType() ContentTypeID { return ContentTypeReaction }

// Encode implements ContentCodec; v is a *Reaction.
func (ReactionCodec) Encode(v any) (*content.EncodedContent, error) {
	r, ok := v.(*Reaction)
	if !ok || r == nil {
		return nil, wrongValue(ContentTypeReaction, v)
	}
	body, err := deterministic.Marshal(&contenttype.ReactionV2{Reference: r.Reference, ReferenceInboxId: r.ReferenceInboxID,
		Action: contenttype.ReactionAction(r.Action), Content: r.Content, Schema: contenttype.ReactionSchema(r.Schema)})
	if err != nil {
		return nil, fmt.Errorf("%w: encode reaction: %w", ErrInternal, err)
	}
	fb := r.fallback()
	return &content.EncodedContent{Type: ContentTypeReaction.wire(), Parameters: map[string]string{}, Fallback: &fb, Content: body}, nil
}

// Decode implements ContentCodec.
func (ReactionCodec) Decode(ec *content.EncodedContent) (any, error) {
	var w contenttype.ReactionV2
	if err := proto.Unmarshal(ec.GetContent(), &w); err != nil {
		return nil, decodeError(ContentTypeReaction, err)
	}
	return &Reaction{Reference: w.GetReference(), ReferenceInboxID: w.GetReferenceInboxId(), Action: ReactionAction(w.GetAction()),
		Content: w.GetContent(), Schema: ReactionSchema(w.GetSchema())}, nil
}

// ShouldPush implements ContentCodec.
func (ReactionCodec) ShouldPush() bool { return false }

// legacyReaction is the JSON of xmtp.org/reaction:1.0; every field but
// referenceInboxId is required.
type legacyReaction struct {
	Action           *string `json:"action"`
	Reference        *string `json:"reference"`
	ReferenceInboxID *string `json:"referenceInboxId,omitempty"`
	Schema           *string `json:"schema"`
	Content          *string `json:"content"`
}

var (
	legacyActions = []string{ReactionAdded: "added", ReactionRemoved: "removed"}
	legacySchemas = []string{SchemaUnicode: "unicode", SchemaShortcode: "shortcode", SchemaCustom: "custom"}
)

func legacyName(names []string, i int) string {
	if i > 0 && i < len(names) {
		return names[i]
	}
	return ""
}

func legacyIndex(names []string, s string) int {
	for i, n := range names {
		if i > 0 && n == s {
			return i
		}
	}
	return 0
}

// LegacyReactionCodec is xmtp.org/reaction:1.0, the legacy JSON reaction
// (decoded into the same *Reaction; unknown action or schema names become
// Unspecified, as libxmtp converts them).
type LegacyReactionCodec struct{}

// ContentType implements ContentCodec.
func (LegacyReactionCodec) ContentType() ContentTypeID { return ContentTypeLegacyReaction }

// Encode implements ContentCodec; v is a *Reaction.
func (LegacyReactionCodec) Encode(v any) (*content.EncodedContent, error) {
	r, ok := v.(*Reaction)
	if !ok || r == nil {
		return nil, wrongValue(ContentTypeLegacyReaction, v)
	}
	action, schema := legacyName(legacyActions, int(r.Action)), legacyName(legacySchemas, int(r.Schema))
	l := legacyReaction{Action: &action, Reference: &r.Reference, Schema: &schema, Content: &r.Content}
	if r.ReferenceInboxID != "" {
		l.ReferenceInboxID = &r.ReferenceInboxID
	}
	body, err := json.Marshal(l)
	if err != nil {
		return nil, fmt.Errorf("%w: encode legacy reaction: %w", ErrInternal, err)
	}
	fb := r.fallback()
	return &content.EncodedContent{Type: ContentTypeLegacyReaction.wire(), Parameters: map[string]string{}, Fallback: &fb, Content: body}, nil
}

// Decode implements ContentCodec.
func (LegacyReactionCodec) Decode(ec *content.EncodedContent) (any, error) {
	var l legacyReaction
	if err := json.Unmarshal(ec.GetContent(), &l); err != nil {
		return nil, decodeError(ContentTypeLegacyReaction, err)
	}
	if l.Action == nil || l.Reference == nil || l.Schema == nil || l.Content == nil {
		return nil, decodeError(ContentTypeLegacyReaction, errors.New("missing field"))
	}
	r := &Reaction{Reference: *l.Reference, Action: ReactionAction(legacyIndex(legacyActions, *l.Action)), Content: *l.Content,
		Schema: ReactionSchema(legacyIndex(legacySchemas, *l.Schema))}
	if l.ReferenceInboxID != nil {
		r.ReferenceInboxID = *l.ReferenceInboxID
	}
	return r, nil
}

// ShouldPush implements ContentCodec.
func (LegacyReactionCodec) ShouldPush() bool { return false }

// Reply is a reply to a message (xmtp.org/reply:1.0): any content, sent
// in reference to another message.
type Reply struct {
	// Reference is the target message's id in lowercase hex.
	Reference string
	// ReferenceInboxID is the target's sender ("" when not given).
	ReferenceInboxID string
	// Content is the reply itself (decode it with the registry).
	Content *content.EncodedContent
}

// ReplyCodec is xmtp.org/reply:1.0: the inner EncodedContent as protobuf,
// with the parameters reference, contentType and referenceInboxId.
type ReplyCodec struct{}

// ContentType implements ContentCodec.
func (ReplyCodec) ContentType() ContentTypeID { return ContentTypeReply }

// Encode implements ContentCodec; v is a *Reply with Content set.
func (ReplyCodec) Encode(v any) (*content.EncodedContent, error) {
	r, ok := v.(*Reply)
	if !ok || r == nil || r.Content == nil {
		return nil, wrongValue(ContentTypeReply, v)
	}
	body, err := deterministic.Marshal(r.Content)
	if err != nil {
		return nil, fmt.Errorf("%w: encode reply: %w", ErrInvalidArgument, err)
	}
	params := map[string]string{"reference": r.Reference}
	if r.Content.GetType() != nil {
		params["contentType"] = contentTypeOf(r.Content).String()
	}
	if r.ReferenceInboxID != "" {
		params["referenceInboxId"] = r.ReferenceInboxID
	}
	fb := "Replied to an earlier message"
	if r.Content.GetType().GetTypeId() == ContentTypeText.TypeID {
		if s, err := DecodeText(r.Content); err == nil {
			fb = `Replied with "` + s + `" to an earlier message`
		}
	}
	return &content.EncodedContent{Type: ContentTypeReply.wire(), Parameters: params, Fallback: &fb, Content: body}, nil
}

// Decode implements ContentCodec.
func (ReplyCodec) Decode(ec *content.EncodedContent) (any, error) {
	inner := new(content.EncodedContent)
	if err := proto.Unmarshal(ec.GetContent(), inner); err != nil {
		return nil, decodeError(ContentTypeReply, err)
	}
	p := ec.GetParameters()
	return &Reply{Reference: p["reference"], ReferenceInboxID: p["referenceInboxId"], Content: inner}, nil
}

// ShouldPush implements ContentCodec.
func (ReplyCodec) ShouldPush() bool { return true }

// ReadReceipt is an xmtp.org/readReceipt:1.0 message (no content).
type ReadReceipt struct{}

// ReadReceiptCodec is xmtp.org/readReceipt:1.0.
type ReadReceiptCodec struct{}

// ContentType implements ContentCodec.
func (ReadReceiptCodec) ContentType() ContentTypeID { return ContentTypeReadReceipt }

// Encode implements ContentCodec; v is a ReadReceipt.
func (ReadReceiptCodec) Encode(v any) (*content.EncodedContent, error) {
	if _, ok := v.(ReadReceipt); !ok {
		return nil, wrongValue(ContentTypeReadReceipt, v)
	}
	return &content.EncodedContent{Type: ContentTypeReadReceipt.wire(), Parameters: map[string]string{}}, nil
}

// Decode implements ContentCodec.
func (ReadReceiptCodec) Decode(*content.EncodedContent) (any, error) { return ReadReceipt{}, nil }

// ShouldPush implements ContentCodec.
func (ReadReceiptCodec) ShouldPush() bool { return false }

// LeaveRequest is an xmtp.org/leave_request:1.0 message: its sender asks
// the group's super admins to remove it (xmtp-groups.md §7).
type LeaveRequest struct {
	// AuthenticatedNote is optional; libxmtp leaves it unset (nil).
	AuthenticatedNote []byte
}

// LeaveRequestCodec is xmtp.org/leave_request:1.0.
type LeaveRequestCodec struct{}

// ContentType implements ContentCodec.
func (LeaveRequestCodec) ContentType() ContentTypeID { return ContentTypeLeaveRequest }

// Encode implements ContentCodec; v is a *LeaveRequest.
func (LeaveRequestCodec) Encode(v any) (*content.EncodedContent, error) {
	r, ok := v.(*LeaveRequest)
	if !ok || r == nil {
		return nil, wrongValue(ContentTypeLeaveRequest, v)
	}
	body, err := deterministic.Marshal(&contenttype.LeaveRequest{AuthenticatedNote: r.AuthenticatedNote})
	if err != nil {
		return nil, fmt.Errorf("%w: encode leave request: %w", ErrInternal, err)
	}
	return &content.EncodedContent{Type: ContentTypeLeaveRequest.wire(), Parameters: map[string]string{}, Content: body}, nil
}

// Decode implements ContentCodec.
func (LeaveRequestCodec) Decode(ec *content.EncodedContent) (any, error) {
	var w contenttype.LeaveRequest
	if err := proto.Unmarshal(ec.GetContent(), &w); err != nil {
		return nil, decodeError(ContentTypeLeaveRequest, err)
	}
	return &LeaveRequest{AuthenticatedNote: w.AuthenticatedNote}, nil
}

// ShouldPush implements ContentCodec.
func (LeaveRequestCodec) ShouldPush() bool { return false }

// DeleteMessage is an xmtp.org/deleteMessage:1.0 message: its sender asks
// that a message be shown as deleted (xmtp-groups.md §8).
type DeleteMessage struct {
	// MessageID is the target's id in lowercase hex.
	MessageID string
}

// DeleteMessageCodec is xmtp.org/deleteMessage:1.0.
type DeleteMessageCodec struct{}

// ContentType implements ContentCodec.
func (DeleteMessageCodec) ContentType() ContentTypeID { return ContentTypeDeleteMessage }

// Encode implements ContentCodec; v is a *DeleteMessage.
func (DeleteMessageCodec) Encode(v any) (*content.EncodedContent, error) {
	d, ok := v.(*DeleteMessage)
	if !ok || d == nil {
		return nil, wrongValue(ContentTypeDeleteMessage, v)
	}
	body, err := deterministic.Marshal(&contenttype.DeleteMessage{MessageId: d.MessageID})
	if err != nil {
		return nil, fmt.Errorf("%w: encode delete message: %w", ErrInternal, err)
	}
	return &content.EncodedContent{Type: ContentTypeDeleteMessage.wire(), Parameters: map[string]string{}, Content: body}, nil
}

// Decode implements ContentCodec.
func (DeleteMessageCodec) Decode(ec *content.EncodedContent) (any, error) {
	var w contenttype.DeleteMessage
	if err := proto.Unmarshal(ec.GetContent(), &w); err != nil {
		return nil, decodeError(ContentTypeDeleteMessage, err)
	}
	return &DeleteMessage{MessageID: w.GetMessageId()}, nil
}

// ShouldPush implements ContentCodec.
func (DeleteMessageCodec) ShouldPush() bool { return false }

// GroupUpdatedCodec is xmtp.org/group_updated:1.0, the membership-change
// records built locally after commits; decoding gives a
// *content.GroupUpdated.
type GroupUpdatedCodec struct{}

// ContentType implements ContentCodec.
func (GroupUpdatedCodec) ContentType() ContentTypeID { return ContentTypeGroupUpdated }

// Encode implements ContentCodec; v is a *content.GroupUpdated.
func (GroupUpdatedCodec) Encode(v any) (*content.EncodedContent, error) {
	gu, ok := v.(*content.GroupUpdated)
	if !ok || gu == nil {
		return nil, wrongValue(ContentTypeGroupUpdated, v)
	}
	body, err := deterministic.Marshal(gu)
	if err != nil {
		return nil, fmt.Errorf("%w: encode group update: %w", ErrInternal, err)
	}
	return &content.EncodedContent{Type: ContentTypeGroupUpdated.wire(), Content: body}, nil
}

// Decode implements ContentCodec.
func (GroupUpdatedCodec) Decode(ec *content.EncodedContent) (any, error) {
	gu := new(content.GroupUpdated)
	if err := proto.Unmarshal(ec.GetContent(), gu); err != nil {
		return nil, decodeError(ContentTypeGroupUpdated, err)
	}
	return gu, nil
}

// ShouldPush implements ContentCodec.
func (GroupUpdatedCodec) ShouldPush() bool { return false }

// referenceIDOf returns the id a reply, reaction or deletion refers to,
// hex-decoded, as libxmtp stores it for queries (QueryableContentFields:
// matched on type id and major version only); nil for other content or
// when it does not decode.
func referenceIDOf(ec *content.EncodedContent) []byte {
	t := ec.GetType()
	var ref string
	switch {
	case t.GetTypeId() == ContentTypeReply.TypeID && t.GetVersionMajor() == 1:
		v, err := ReplyCodec{}.Decode(ec)
		if err != nil {
			return nil
		}
		ref = v.(*Reply).Reference
	case t.GetTypeId() == ContentTypeReaction.TypeID && t.GetVersionMajor() >= 2:
		v, err := ReactionCodec{}.Decode(ec)
		if err != nil {
			return nil
		}
		ref = v.(*Reaction).Reference
	case t.GetTypeId() == ContentTypeReaction.TypeID:
		v, err := LegacyReactionCodec{}.Decode(ec)
		if err != nil {
			return nil
		}
		ref = v.(*Reaction).Reference
	case t.GetTypeId() == ContentTypeDeleteMessage.TypeID && t.GetVersionMajor() == 1:
		v, err := DeleteMessageCodec{}.Decode(ec)
		if err != nil {
			return nil
		}
		ref = v.(*DeleteMessage).MessageID
	default:
		return nil
	}
	id, err := hex.DecodeString(ref)
	if err != nil || len(id) == 0 {
		return nil
	}
	return id
}
