package client

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"mlsbridge/storage"
	"mlsbridge/wire/content"
)

// Deleting messages (xmtp-groups.md §8). A deletion is an ordinary
// xmtp.org/deleteMessage:1.0 message naming its target; every member
// records it and keeps the target's row, and enriched views show the
// target as deleted. Only the target's sender or a super admin may delete,
// and only messages of deletable types.

// Errors of DeleteMessage, with libxmtp's texts (DeleteMessageError).
var (
	ErrMessageAlreadyDeleted = errors.New("client: message already deleted")
	ErrDeleteNotAuthorized   = errors.New("client: not authorized to delete this message")
	ErrMessageNotDeletable   = errors.New("client: cannot delete this message type")
)

// deletableTypes are the content type ids a sender or super admin may
// delete (libxmtp's ContentType::is_deletable).
var deletableTypes = []string{"text", "markdown", "reply", "attachment", "remoteStaticAttachment", "multiRemoteStaticAttachment",
	"transactionReference", "walletSendCalls"}

// isDeletable reports whether a message of this kind and content type id
// may be deleted: application messages of the deletable types.
func isDeletable(kind int16, typeID string) bool {
	return MessageKind(kind) == KindApplication && slices.Contains(deletableTypes, typeID)
}

// DeleteMessage deletes one of the group's messages for everyone, as
// libxmtp's delete_message: the target must be stored here and belong to
// this group (ErrMessageNotFound; another group's is ErrDeleteNotAuthorized),
// not be deleted already (ErrMessageAlreadyDeleted), have been sent by us
// unless we are a super admin (ErrDeleteNotAuthorized: an admin is not
// enough), and be a deletable application message (ErrMessageNotDeletable).
// It records the deletion here at once, then sends an
// xmtp.org/deleteMessage:1.0 message (see Send) and returns its id; when
// publishing fails the deletion stays queued and its id is returned with
// the error.
func (g *Group) DeleteMessage(ctx context.Context, id MessageID) (MessageID, error) {
	var delID MessageID
	err := g.c.withGroup(ctx, g.id, func(ctx context.Context, st *groupState) error {
		var err error
		delID, err = g.queueDeletion(ctx, st, id)
		return err
	})
	if err != nil {
		return delID, fmt.Errorf("delete message: %w", err)
	}
	if err := g.PublishMessages(ctx); err != nil {
		return delID, err
	}
	return delID, nil
}

// queueDeletion is DeleteMessage up to publishing, on the group's
// goroutine so that the checks see the state the deletion is queued in.
// It returns the deletion's id once it is queued, with any later error.
func (g *Group) queueDeletion(ctx context.Context, st *groupState, id MessageID) (MessageID, error) {
	if st.row.PausedForVersion != "" {
		// As Send (ensureNotPaused): refused before anything is stored.
		if !st.row.Active {
			return nil, ErrInactiveGroup
		}
		return nil, st.pausedErr()
	}
	target, err := g.c.db.Message(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrMessageNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	if !slices.Equal(target.GroupID, g.id) {
		return nil, ErrDeleteNotAuthorized
	}
	done, err := g.c.db.DeletionsOf(ctx, [][]byte{id})
	if err != nil {
		return nil, err
	}
	if len(done) > 0 {
		return nil, ErrMessageAlreadyDeleted
	}
	ext, err := parseGroupExtensions(st.mls.Extensions())
	if err != nil {
		return nil, err
	}
	isSender := target.SenderInboxID == string(g.c.inbox)
	isSuper := slices.Contains(ext.Mutable.GetSuperAdminList().GetInboxIds(), string(g.c.inbox))
	if !isSender && !isSuper {
		return nil, ErrDeleteNotAuthorized
	}
	if !isDeletable(target.Kind, target.TypeID) {
		return nil, ErrMessageNotDeletable
	}
	ec, err := DeleteMessageCodec{}.Encode(&DeleteMessage{MessageID: id.String()})
	if err != nil {
		return nil, err
	}
	delID, err := g.SendMessageOptimistic(ctx, ec, &SendOptions{NoPush: !DeleteMessageCodec{}.ShouldPush()})
	if err != nil {
		return nil, err
	}
	err = g.c.db.InsertMessageDeletion(ctx, storage.MessageDeletion{ID: delID, GroupID: g.id, DeletedMessageID: id,
		DeletedByInboxID: string(g.c.inbox), IsSuperAdminDeletion: !isSender && isSuper, DeletedAtNs: g.c.nowNs()})
	if err != nil {
		return delID, err
	}
	return delID, nil
}

// DeleteLocalMessage deletes the message with id from this client's
// database only (nothing is sent; libxmtp's deleteMessageById) and
// reports how many messages it deleted (0 or 1). A deletion message
// deleted this way no longer counts as a deletion.
func (c *Client) DeleteLocalMessage(ctx context.Context, id MessageID) (int, error) {
	n, err := c.db.DeleteMessage(ctx, id)
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

// processDeletion records a received deletion (libxmtp's
// process_delete_message). Malformed content, a bad id, a target in
// another group or of a type that cannot be deleted, and a sender who is
// neither the target's sender nor a super admin make it a no-op. A target
// not stored yet is recorded anyway, with the sender's super-admin status
// now; enrichment checks it again against the target. earlier are the
// messages the same group message produced before m.
func (c *Client) processDeletion(ctx context.Context, st *groupState, m *storage.ClientMessage, earlier []storage.ClientMessage,
	p *storage.GroupProgress) error {
	log := c.log.With("group_id", GroupID(st.row.GroupID).String(), "message_id", MessageID(m.ID).String())
	var ec content.EncodedContent
	if err := proto.Unmarshal(m.Content, &ec); err != nil {
		log.Warn("deletion ignored: malformed content", "err", err)
		return nil
	}
	v, err := DeleteMessageCodec{}.Decode(&ec)
	if err != nil {
		log.Warn("deletion ignored: malformed content", "err", err)
		return nil
	}
	targetID, err := hex.DecodeString(v.(*DeleteMessage).MessageID)
	if err != nil {
		log.Warn("deletion ignored: target id is not hex")
		return nil
	}
	target, err := c.findProcessed(ctx, targetID, earlier, p)
	if err != nil {
		return err
	}
	isSuper, err := isSuperAdminNow(st, m.SenderInboxID)
	if err != nil {
		return err
	}
	superDeletion := isSuper
	if target != nil {
		isSender := target.SenderInboxID == m.SenderInboxID
		switch {
		case !slices.Equal(target.GroupID, st.row.GroupID):
			log.Warn("deletion ignored: target in another group")
			return nil
		case !isDeletable(target.Kind, target.TypeID):
			log.Warn("deletion ignored: target cannot be deleted", "content_type", target.TypeID)
			return nil
		case !isSender && !isSuper:
			log.Warn("deletion ignored: sender may not delete the target", "sender_inbox_id", m.SenderInboxID)
			return nil
		}
		superDeletion = !isSender && isSuper
	}
	p.Deletions = append(p.Deletions, storage.MessageDeletion{ID: m.ID, GroupID: st.row.GroupID, DeletedMessageID: targetID,
		DeletedByInboxID: m.SenderInboxID, IsSuperAdminDeletion: superDeletion, DeletedAtNs: m.SentAtNs})
	log.Info("message deleted", "deleted_message_id", MessageID(targetID).String(), "super_admin", superDeletion, "out_of_order", target == nil)
	return nil
}

// findProcessed returns the message with id from those this sync produced
// so far (earlier, then the batch) or the database; nil when unknown.
func (c *Client) findProcessed(ctx context.Context, id []byte, earlier []storage.ClientMessage, p *storage.GroupProgress) (*storage.ClientMessage, error) {
	for _, list := range [][]storage.ClientMessage{earlier, p.Messages} {
		for i := range list {
			if slices.Equal(list[i].ID, id) {
				return &list[i], nil
			}
		}
	}
	m, err := c.db.Message(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	return m, err
}

// deletionValid is libxmtp's is_deletion_valid: d targets m, both are in
// group, m may be deleted, and d's sender sent m or was a super admin.
func deletionValid(d *storage.MessageDeletion, m *storage.ClientMessage, group [][]byte) bool {
	inGroup := func(id []byte) bool {
		return slices.ContainsFunc(group, func(g []byte) bool { return slices.Equal(g, id) })
	}
	if !slices.Equal(d.DeletedMessageID, m.ID) || !inGroup(d.GroupID) || !slices.Equal(d.GroupID, m.GroupID) {
		return false
	}
	if !isDeletable(m.Kind, m.TypeID) {
		return false
	}
	return d.DeletedByInboxID == m.SenderInboxID || d.IsSuperAdminDeletion
}
