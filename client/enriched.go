package client

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"mlsbridge/identity"
	"mlsbridge/storage"
	"mlsbridge/wire/content"
)

// EnrichedMessage is a message as libxmtp's enriched view shows it
// (find_messages_v2 / findEnrichedMessages, xmtp-groups.md §8): decoded,
// with the reactions sent to it, the number of replies to it, and, when
// it was deleted, a deleted-message placeholder in place of its content.
type EnrichedMessage struct {
	// Message is the stored message. For a deleted message its
	// ContentType is ContentTypeDeletedMessage.
	Message
	// Content is the decoded content (see CodecRegistry.Decode), with two
	// differences: a reply is an [*EnrichedReply], and a deleted message
	// a [*DeletedMessage]. Content without a codec, or that does not
	// decode, is its [*content.EncodedContent] (libxmtp's Custom).
	Content any
	// Fallback is the content's fallback text ("" when it has none).
	Fallback string
	// Reactions are every reaction message sent to this one, oldest
	// first, additions and removals alike (libxmtp does not fold them);
	// empty for a deleted message. Their Content is a [*Reaction].
	Reactions []EnrichedMessage
	// NumReplies counts the replies to this message (0 when deleted).
	NumReplies int
}

// Deleted reports whether the message was deleted (its Content is a
// *DeletedMessage).
func (m *EnrichedMessage) Deleted() bool {
	_, ok := m.Content.(*DeletedMessage)
	return ok
}

// Text returns the text of a text or markdown message, or of a reply whose
// content is text or markdown; false otherwise.
func (m *EnrichedMessage) Text() (string, bool) {
	switch v := m.Content.(type) {
	case string:
		return v, true
	case Markdown:
		return string(v), true
	case *EnrichedReply:
		switch in := v.Content.(type) {
		case string:
			return in, true
		case Markdown:
			return string(in), true
		}
	}
	return "", false
}

// EnrichedReply is the content of a reply in the enriched view.
type EnrichedReply struct {
	// Reference is the id of the message answered, in lowercase hex.
	Reference        string
	ReferenceInboxID string
	// Content is the reply's own content, decoded (an
	// *content.EncodedContent when it has no codec).
	Content any
	// InReplyTo is the message answered, when stored here (nil
	// otherwise), without its reactions and replies; it is shown deleted
	// when it was.
	InReplyTo *EnrichedMessage
}

// DeletedBy says who deleted a message.
type DeletedBy int8

// Deleters.
const (
	// DeletedBySender: the message's own sender.
	DeletedBySender DeletedBy = iota + 1
	// DeletedByAdmin: a super admin other than the sender.
	DeletedByAdmin
)

// DeletedMessage is the placeholder content of a deleted message.
type DeletedMessage struct {
	DeletedBy DeletedBy
	// AdminInboxID is the super admin who deleted it (DeletedByAdmin).
	AdminInboxID identity.InboxID
}

// hiddenTypes are the content type ids the enriched view never lists as
// messages of their own (libxmtp's hidden message types).
var hiddenTypes = []string{ContentTypeReaction.TypeID, ContentTypeReadReceipt.TypeID, ContentTypeDeleteMessage.TypeID}

// FindEnrichedMessages returns the group's stored messages that q selects,
// enriched (see EnrichedMessage), as libxmtp's findEnrichedMessages:
// reactions, read receipts and deletion messages are never listed
// themselves. A message whose bytes are not an EncodedContent is left out.
// No network I/O: Sync first. q may be nil.
func (g *Group) FindEnrichedMessages(ctx context.Context, q *MessageQuery) ([]EnrichedMessage, error) {
	qq := MessageQuery{}
	if q != nil {
		qq = *q
	}
	qq.ExcludeContentTypes = append(slices.Clone(qq.ExcludeContentTypes), hiddenTypes...)
	groups, err := g.c.stitchedIDs(ctx, g.id)
	if err != nil {
		return nil, err
	}
	rows, err := g.c.messageRows(ctx, &qq, groups)
	if err != nil {
		return nil, err
	}
	gids := make([][]byte, len(groups))
	for i, id := range groups {
		gids[i] = id
	}
	rel, err := g.c.relations(ctx, gids, rows)
	if err != nil {
		return nil, fmt.Errorf("enrich messages: %w", err)
	}
	out := make([]EnrichedMessage, 0, len(rows))
	for i := range rows {
		m, ok := g.c.decodeEnriched(&rows[i])
		if !ok {
			g.c.log.Warn("message left out of the enriched view: content does not decode", "message_id", MessageID(rows[i].ID).String())
			continue
		}
		if rel.markDeleted(&m, &rows[i], gids) {
			out = append(out, m)
			continue
		}
		m.NumReplies = rel.replies[string(m.ID)]
		for j := range rel.reactions[string(m.ID)] {
			if r, ok := g.c.decodeEnriched(&rel.reactions[string(m.ID)][j]); ok {
				m.Reactions = append(m.Reactions, r)
			}
		}
		if rep, ok := m.Content.(*EnrichedReply); ok {
			rep.InReplyTo = rel.inReplyTo(g.c, rep.Reference, gids)
		}
		out = append(out, m)
	}
	return out, nil
}

// relations are what enrichment attaches to a page of messages.
type relations struct {
	// reactions and replies are keyed by string(target id).
	reactions map[string][]storage.ClientMessage
	replies   map[string]int
	// referenced are the messages the page's replies point to.
	referenced map[string]*storage.ClientMessage
	// deletions are the recorded deletions of the page's messages and of
	// those referenced, in the order recorded.
	deletions map[string][]storage.MessageDeletion
}

// relations loads the reactions and replies to rows, the messages rows
// refer to, and the deletions of both (libxmtp's get_relations).
func (c *Client) relations(ctx context.Context, groups [][]byte, rows []storage.ClientMessage) (*relations, error) {
	rel := &relations{reactions: map[string][]storage.ClientMessage{}, replies: map[string]int{},
		referenced: map[string]*storage.ClientMessage{}, deletions: map[string][]storage.MessageDeletion{}}
	var ids, refs [][]byte
	for _, r := range rows {
		ids = append(ids, r.ID)
		if r.ReferenceID != nil {
			refs = append(refs, r.ReferenceID)
		}
	}
	related, err := c.db.MessagesReferencing(ctx, groups, ids, []string{ContentTypeReaction.TypeID, ContentTypeReply.TypeID})
	if err != nil {
		return nil, err
	}
	for _, r := range related {
		if r.TypeID == ContentTypeReaction.TypeID {
			rel.reactions[string(r.ReferenceID)] = append(rel.reactions[string(r.ReferenceID)], r)
		} else {
			rel.replies[string(r.ReferenceID)]++
		}
	}
	referenced, err := c.db.MessagesByID(ctx, refs)
	if err != nil {
		return nil, err
	}
	for i, r := range referenced {
		if slices.ContainsFunc(groups, func(g []byte) bool { return slices.Equal(g, r.GroupID) }) {
			rel.referenced[string(r.ID)] = &referenced[i]
		}
	}
	dels, err := c.db.DeletionsOf(ctx, append(ids, refs...))
	if err != nil {
		return nil, err
	}
	for _, d := range dels {
		rel.deletions[string(d.DeletedMessageID)] = append(rel.deletions[string(d.DeletedMessageID)], d)
	}
	return rel, nil
}

// markDeleted replaces m's content by the deleted-message placeholder when
// a valid deletion of row exists, and reports whether it did.
func (rel *relations) markDeleted(m *EnrichedMessage, row *storage.ClientMessage, groups [][]byte) bool {
	for _, d := range rel.deletions[string(row.ID)] {
		if !deletionValid(&d, row, groups) {
			continue
		}
		dm := &DeletedMessage{DeletedBy: DeletedBySender}
		if d.DeletedByInboxID != row.SenderInboxID {
			dm.DeletedBy, dm.AdminInboxID = DeletedByAdmin, identity.InboxID(d.DeletedByInboxID)
		}
		m.Content, m.ContentType, m.Reactions, m.NumReplies = dm, ContentTypeDeletedMessage, nil, 0
		return true
	}
	return false
}

// inReplyTo is the decoded message a reply with reference (hex) answers,
// or nil when it is not stored.
func (rel *relations) inReplyTo(c *Client, reference string, groups [][]byte) *EnrichedMessage {
	id, err := hex.DecodeString(reference)
	if err != nil {
		return nil
	}
	row, ok := rel.referenced[string(id)]
	if !ok {
		return nil
	}
	m, ok := c.decodeEnriched(row)
	if !ok {
		return nil
	}
	rel.markDeleted(&m, row, groups)
	return &m
}

// decodeEnriched decodes a stored message for the enriched view; false
// when its bytes are not an EncodedContent.
func (c *Client) decodeEnriched(row *storage.ClientMessage) (EnrichedMessage, bool) {
	m := EnrichedMessage{Message: messageFromRow(row)}
	ec := new(content.EncodedContent)
	if err := proto.Unmarshal(row.Content, ec); err != nil {
		return m, false
	}
	m.Fallback = ec.GetFallback()
	m.Content = c.decodeBody(ec)
	return m, true
}

// decodeBody is libxmtp's MessageBody: the codec's value, a reply with its
// content decoded in turn, or the EncodedContent itself.
func (c *Client) decodeBody(ec *content.EncodedContent) any {
	v, err := c.Codecs().Decode(ec)
	if err != nil {
		return ec
	}
	if r, ok := v.(*Reply); ok {
		return &EnrichedReply{Reference: r.Reference, ReferenceInboxID: r.ReferenceInboxID, Content: c.decodeBody(r.Content)}
	}
	return v
}

// SendReaction sends r as an xmtp.org/reaction:2.0 message (ReactionV2,
// without push, as libxmtp sends reactions; see Send) and returns its id.
// An Action or Schema left unspecified is sent as such.
func (g *Group) SendReaction(ctx context.Context, r *Reaction) (MessageID, error) {
	ec, err := ReactionCodec{}.Encode(r)
	if err != nil {
		return nil, err
	}
	return g.Send(ctx, ec, &SendOptions{NoPush: !ReactionCodec{}.ShouldPush()})
}

// SendReply sends r as an xmtp.org/reply:1.0 message (with push; see Send)
// and returns its id. r.Content is the reply itself, e.g. EncodeText(…).
func (g *Group) SendReply(ctx context.Context, r *Reply) (MessageID, error) {
	ec, err := ReplyCodec{}.Encode(r)
	if err != nil {
		return nil, err
	}
	return g.Send(ctx, ec, &SendOptions{NoPush: !ReplyCodec{}.ShouldPush()})
}
