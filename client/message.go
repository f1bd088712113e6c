package client

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"mlsbridge/identity"
	"mlsbridge/storage"
	"mlsbridge/wire/content"
	"mlsbridge/wire/mlsapi"
)

// MessageKind tells application messages from local membership-change
// records (xmtp-groups.md §5.6). The stored numbers are permanent.
type MessageKind int16

// Message kinds.
const (
	KindApplication      MessageKind = 1
	KindMembershipChange MessageKind = 2
)

// DeliveryStatus is where a message stands (xmtp-groups.md §5.6). The
// stored numbers are permanent.
type DeliveryStatus int16

// Delivery statuses.
const (
	// StatusUnpublished: stored locally, not yet accepted by the node.
	StatusUnpublished DeliveryStatus = 1
	// StatusPublished: accepted by the node (ours) or received.
	StatusPublished DeliveryStatus = 2
	// StatusFailed: given up.
	StatusFailed DeliveryStatus = 3
)

// MessageID identifies a message the way libxmtp computes it
// (xmtp-groups.md §5.2): SHA-256(group id ‖ TAB ‖ idempotency key ‖ TAB ‖
// EncodedContent bytes). Every member computes the same id; it is never
// minted, and its bytes are permanent. Content types refer to it in
// lowercase hex.
type MessageID []byte

// String returns the lowercase hex form.
func (id MessageID) String() string { return hex.EncodeToString(id) }

// computeMessageID is libxmtp's calculate_message_id.
func computeMessageID(groupID []byte, idempotencyKey string, encodedContent []byte) MessageID {
	h := sha256.New()
	h.Write(groupID)
	h.Write([]byte{'\t'})
	h.Write([]byte(idempotencyKey))
	h.Write([]byte{'\t'})
	h.Write(encodedContent)
	return h.Sum(nil)
}

// ContentTypeID names a content type: authority, type and version.
type ContentTypeID struct {
	AuthorityID  string
	TypeID       string
	VersionMajor uint32
	VersionMinor uint32
}

// String returns "authority/type:major.minor".
func (t ContentTypeID) String() string {
	return fmt.Sprintf("%s/%s:%d.%d", t.AuthorityID, t.TypeID, t.VersionMajor, t.VersionMinor)
}

// ContentTypeText is xmtp.org/text:1.0.
var ContentTypeText = ContentTypeID{AuthorityID: "xmtp.org", TypeID: "text", VersionMajor: 1}

// EncodeText returns the EncodedContent of a text message as libxmtp
// builds it (xmtp-groups.md §5.4): xmtp.org/text:1.0, parameter
// encoding=UTF-8, the UTF-8 bytes as content.
func EncodeText(text string) *content.EncodedContent {
	return &content.EncodedContent{
		Type: &content.ContentTypeId{AuthorityId: ContentTypeText.AuthorityID, TypeId: ContentTypeText.TypeID,
			VersionMajor: ContentTypeText.VersionMajor, VersionMinor: ContentTypeText.VersionMinor},
		Parameters: map[string]string{"encoding": "UTF-8"},
		Content:    []byte(text),
	}
}

// ErrNotText is returned by DecodeText for content that is not valid text.
var ErrNotText = errors.New("client: not a text message")

// DecodeText returns the text of an xmtp.org/text content (any minor
// version of major 1; a missing encoding parameter means UTF-8).
func DecodeText(ec *content.EncodedContent) (string, error) {
	t := ec.GetType()
	if t.GetAuthorityId() != "xmtp.org" || t.GetTypeId() != "text" || t.GetVersionMajor() != 1 {
		return "", ErrNotText
	}
	if enc, ok := ec.GetParameters()["encoding"]; ok && enc != "UTF-8" {
		return "", fmt.Errorf("%w: encoding %q", ErrNotText, enc)
	}
	if !utf8.Valid(ec.GetContent()) {
		return "", fmt.Errorf("%w: invalid UTF-8", ErrNotText)
	}
	return string(ec.GetContent()), nil
}

// Message is one message of a group.
type Message struct {
	ID                 MessageID
	GroupID            GroupID
	SenderInboxID      identity.InboxID
	SenderInstallation identity.InstallationID
	// SentAtNs is the node's receive time (our clock while unpublished).
	SentAtNs       int64
	Kind           MessageKind
	DeliveryStatus DeliveryStatus
	ContentType    ContentTypeID
	// Encoded is the EncodedContent protobuf as sent.
	Encoded        []byte
	IdempotencyKey string
	// Cursor is the node id of the group message, 0 until known.
	Cursor uint64
	// InsertedNs is when this client stored the message.
	InsertedNs int64
	// ExpireAtNs is when the message disappears (local clock, Unix ns;
	// stamped when it was stored as published under enabled
	// disappearing settings, xmtp-groups §9); 0 means never.
	ExpireAtNs int64
}

// Content decodes the message's EncodedContent.
func (m *Message) Content() (*content.EncodedContent, error) {
	ec := new(content.EncodedContent)
	if err := proto.Unmarshal(m.Encoded, ec); err != nil {
		return nil, fmt.Errorf("decode content: %w", err)
	}
	return ec, nil
}

// Text returns the message's text, or ErrNotText.
func (m *Message) Text() (string, error) {
	ec, err := m.Content()
	if err != nil {
		return "", err
	}
	return DecodeText(ec)
}

func messageFromRow(r *storage.ClientMessage) Message {
	inst, _ := identity.InstallationIDFromBytes(r.SenderInstallation)
	return Message{ID: r.ID, GroupID: r.GroupID, SenderInboxID: identity.InboxID(r.SenderInboxID), SenderInstallation: inst,
		SentAtNs: r.SentAtNs, Kind: MessageKind(r.Kind), DeliveryStatus: DeliveryStatus(r.DeliveryStatus),
		ContentType: ContentTypeID{AuthorityID: r.AuthorityID, TypeID: r.TypeID, VersionMajor: r.VersionMajor, VersionMinor: r.VersionMinor},
		Encoded:     r.Content, IdempotencyKey: r.IdempotencyKey, Cursor: r.Cursor, InsertedNs: r.InsertedNs, ExpireAtNs: r.ExpireAtNs}
}

// SendOptions are the optional parameters of Send and
// SendMessageOptimistic.
type SendOptions struct {
	// IdempotencyKey identifies the message: the same content with the same
	// key is the same message (same id), sent once. Empty means our clock
	// in Unix nanoseconds as a decimal string, as libxmtp does.
	IdempotencyKey string
	// NoPush clears the push-notification hint.
	NoPush bool
}

// SendText sends a text message (xmtp.org/text:1.0) and returns its id.
func (g *Group) SendText(ctx context.Context, text string) (MessageID, error) {
	return g.Send(ctx, EncodeText(text), nil)
}

// sendGroupMessage publishes one MLS message of the group with its sender
// HMAC.
func (c *Client) sendGroupMessage(ctx context.Context, st *groupState, payload []byte, push bool) error {
	in := &mlsapi.GroupMessageInput{Version: &mlsapi.GroupMessageInput_V1_{V1: &mlsapi.GroupMessageInput_V1{
		Data: payload, SenderHmac: c.senderHMAC(st.row.GroupID, payload), ShouldPush: push}}}
	if _, err := c.mlsAPI.SendGroupMessages(ctx, &mlsapi.SendGroupMessagesRequest{Messages: []*mlsapi.GroupMessageInput{in}}); err != nil {
		return fmt.Errorf("send group message: %w", err)
	}
	return nil
}

// hmacPeriod is the life of one sender-HMAC key (spec §8): 30 days.
const hmacPeriod = 2_592_000

// senderHMAC is libxmtp's sender_hmac (spec §8): HMAC-SHA256 of data under
// a key derived per group and per 30-day period from our HMAC secret.
func (c *Client) senderHMAC(groupID, data []byte) []byte {
	period := c.now().Unix() / hmacPeriod
	info := binary.LittleEndian.AppendUint64(append([]byte(nil), groupID...), uint64(period))
	prk, err := hkdf.Extract(sha256.New, append(append([]byte(nil), c.hmacRoot...), groupID...), []byte("libXMTP HKDF salt!"))
	if err != nil {
		panic(fmt.Sprintf("client: hkdf: %v", err))
	}
	key, err := hkdf.Expand(sha256.New, prk, string(info), hmacRootKeySize)
	if err != nil {
		panic(fmt.Sprintf("client: hkdf: %v", err))
	}
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// payloadKey indexes our own sent messages by their ciphertext.
func payloadKey(payload []byte) string {
	sum := sha256.Sum256(payload)
	return string(sum[:])
}
