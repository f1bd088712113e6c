package client

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"mlsbridge/mls"
	"mlsbridge/storage"
	"mlsbridge/wire/content"
	"mlsbridge/wire/mlsapi"
)

// pageSize is libxmtp's query page size (MAX_PAGE_SIZE).
const pageSize = 100

// MessageError reports a group message that was dropped: undecryptable,
// malformed, or a commit that breaks a rule. Sync logs it and moves past
// the message.
type MessageError struct {
	Cursor uint64
	Reason string
	Err    error
}

func (e *MessageError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("client: group message %d: %s: %v", e.Cursor, e.Reason, e.Err)
	}
	return fmt.Sprintf("client: group message %d: %s", e.Cursor, e.Reason)
}

func (e *MessageError) Unwrap() error { return e.Err }

// Sync fetches the group's new messages from the node and processes them in
// order: commits are validated and merged, application messages decrypted
// and stored. Each page's new MLS state, cursor and messages are written in
// one transaction.
func (g *Group) Sync(ctx context.Context) error {
	err := g.c.withGroup(ctx, g.id, func(ctx context.Context, st *groupState) error {
		return g.c.syncGroupState(ctx, st, nil)
	})
	if err != nil {
		return fmt.Errorf("sync group: %w", err)
	}
	return nil
}

// commitWatch sees every group message a sync processes: its node id, its
// bytes, and whether it was a commit we merged.
type commitWatch func(id uint64, data []byte, merged bool)

// syncGroupState pages through the group's messages after its cursor.
func (c *Client) syncGroupState(ctx context.Context, st *groupState, watch commitWatch) error {
	for {
		resp, err := c.mlsAPI.QueryGroupMessages(ctx, &mlsapi.QueryGroupMessagesRequest{GroupId: st.row.GroupID,
			PagingInfo: &mlsapi.PagingInfo{Direction: mlsapi.SortDirection_SORT_DIRECTION_ASCENDING, Limit: pageSize, IdCursor: st.row.Cursor}})
		if err != nil {
			return fmt.Errorf("query group messages: %w", err)
		}
		msgs := resp.GetMessages()
		if len(msgs) == 0 {
			return nil
		}
		var stored []storage.ClientMessage
		for _, m := range msgs {
			v1 := m.GetV1()
			if v1 == nil || v1.GetId() <= st.row.Cursor {
				continue
			}
			out, stop := c.processGroupMessage(st, v1, watch)
			if stop {
				break
			}
			stored = append(stored, out...)
			st.row.Cursor = v1.GetId()
		}
		if err := c.saveState(ctx, st, stored); err != nil {
			return err
		}
		if !st.mls.Active() || len(msgs) < pageSize {
			return nil
		}
	}
}

// processGroupMessage handles one group message. It returns the messages
// to store, and stop when processing must halt before this message (we
// are no longer a member: the cursor stays so a re-add can resume).
func (c *Client) processGroupMessage(st *groupState, v1 *mlsapi.GroupMessage_V1, watch commitWatch) ([]storage.ClientMessage, bool) {
	data := v1.GetData()
	log := c.log.With("group_id", GroupID(st.row.GroupID).String(), "cursor", v1.GetId())
	if id, ok := st.own[payloadKey(data)]; ok {
		delete(st.own, payloadKey(data))
		return []storage.ClientMessage{{ID: id, GroupID: st.row.GroupID, DeliveryStatus: int16(StatusPublished),
			SentAtNs: int64(v1.GetCreatedNs()), Cursor: v1.GetId(), Content: []byte{}}}, false
	}
	if !st.mls.Active() {
		return nil, true
	}
	out, merged, err := c.processMLS(st, v1)
	if watch != nil {
		watch(v1.GetId(), data, merged)
	}
	if errors.Is(err, mls.ErrNotMember) {
		return nil, true
	}
	if err != nil {
		log.Warn("group message dropped", "err", err)
		return nil, false
	}
	return out, false
}

// processMLS decrypts and applies one message.
func (c *Client) processMLS(st *groupState, v1 *mlsapi.GroupMessage_V1) ([]storage.ClientMessage, bool, error) {
	id := v1.GetId()
	msg, err := mls.ParseMLSMessage(v1.GetData())
	if err != nil {
		return nil, false, &MessageError{Cursor: id, Reason: "malformed MLS message", Err: err}
	}
	if msg.WireFormat != mls.WireFormatPrivateMessage {
		return nil, false, &MessageError{Cursor: id, Reason: fmt.Sprintf("unsupported wire format %v", msg.WireFormat)}
	}
	pm, err := st.mls.Process(msg)
	if err != nil {
		if errors.Is(err, mls.ErrNotMember) {
			return nil, false, err
		}
		return nil, false, &MessageError{Cursor: id, Reason: "cannot process", Err: err}
	}
	switch pm.ContentType {
	case mls.ContentTypeCommit:
		if err := c.checkCommit(st, pm.Commit); err != nil {
			return nil, false, &MessageError{Cursor: id, Reason: "commit rejected", Err: err}
		}
		if err := st.mls.MergeStagedCommit(pm.Commit); err != nil {
			return nil, false, &MessageError{Cursor: id, Reason: "merge commit", Err: err}
		}
		if pm.Commit.SelfRemoved {
			st.row.Active = false
			c.log.Info("removed from group", "group_id", GroupID(st.row.GroupID).String())
		}
		return nil, true, nil
	case mls.ContentTypeApplication:
		m, err := c.applicationMessage(st, pm, v1)
		if err != nil {
			return nil, false, &MessageError{Cursor: id, Reason: "application message", Err: err}
		}
		if m == nil {
			return nil, false, nil
		}
		return []storage.ClientMessage{*m}, false, nil
	default:
		// Proposals by reference are queued by mls; libxmtp's legacy groups
		// do not send them.
		return nil, false, nil
	}
}

// checkCommit applies the XMTP checks this client makes before merging a
// commit: a GroupContextExtensions change must leave valid XMTP extensions,
// keep the immutable metadata, and never lower a member's sequence id.
// Policy and identity-diff validation (xmtp-groups.md §4 steps 10–14) are
// not done yet.
//
// TODO(issue 4): full ValidatedCommit with policy/ and association state.
func (c *Client) checkCommit(st *groupState, sc *mls.StagedCommit) error {
	if !sc.ExtensionsChanged {
		return nil
	}
	old, err := parseGroupExtensions(st.mls.Extensions())
	if err != nil {
		return err
	}
	next, err := parseGroupExtensions(sc.GroupContextExtensions)
	if err != nil {
		return err
	}
	if !proto.Equal(old.Metadata, next.Metadata) {
		return &GroupContextError{Extension: ExtensionImmutableMetadata, Reason: "changed"}
	}
	oldM := old.Membership.GetMembers()
	for in, seq := range next.Membership.GetMembers() {
		if prev, ok := oldM[in]; ok && seq < prev {
			return &GroupContextError{Extension: ExtensionGroupMembership, Reason: fmt.Sprintf("sequence id of %s decreased", in)}
		}
	}
	return nil
}

// applicationMessage decodes an application message: PlaintextEnvelope
// V1 (V2 is ignored, as libxmtp does), its EncodedContent, the sender from
// its leaf credential, and the libxmtp message id.
func (c *Client) applicationMessage(st *groupState, pm *mls.ProcessedMessage, v1 *mlsapi.GroupMessage_V1) (*storage.ClientMessage, error) {
	var env content.PlaintextEnvelope
	if err := proto.Unmarshal(pm.ApplicationData, &env); err != nil {
		return nil, fmt.Errorf("malformed envelope: %w", err)
	}
	if env.GetV2() != nil {
		return nil, nil
	}
	ev1 := env.GetV1()
	if ev1 == nil {
		return nil, errors.New("invalid payload")
	}
	var ec content.EncodedContent
	if err := proto.Unmarshal(ev1.GetContent(), &ec); err != nil {
		return nil, fmt.Errorf("malformed content: %w", err)
	}
	m := &storage.ClientMessage{ID: computeMessageID(st.row.GroupID, ev1.GetIdempotencyKey(), ev1.GetContent()),
		GroupID: st.row.GroupID, SentAtNs: int64(v1.GetCreatedNs()), Kind: int16(KindApplication),
		DeliveryStatus: int16(StatusPublished), Content: ev1.GetContent(), IdempotencyKey: ev1.GetIdempotencyKey(),
		Cursor: v1.GetId(), InsertedNs: c.nowNs()}
	t := ec.GetType()
	m.AuthorityID, m.TypeID, m.VersionMajor, m.VersionMinor = t.GetAuthorityId(), t.GetTypeId(), t.GetVersionMajor(), t.GetVersionMinor()
	if pm.Sender.Type == mls.SenderTypeMember {
		if leaf, ok := st.mls.Member(pm.Sender.LeafIndex); ok {
			if inbox, err := inboxOfLeaf(&leaf.LeafNode); err == nil {
				m.SenderInboxID = string(inbox)
			}
			m.SenderInstallation = leaf.LeafNode.SignatureKey
		}
	}
	return m, nil
}
