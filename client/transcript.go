package client

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"mlsbridge/identity"
	"mlsbridge/policy"
	"mlsbridge/storage"
	"mlsbridge/wire/content"
	"mlsbridge/wire/mlsapi"
)

// ContentTypeGroupUpdated is xmtp.org/group_updated:1.0, the content of the
// membership-change records every member builds locally after a commit
// (xmtp-groups.md §5.5); it is never sent.
var ContentTypeGroupUpdated = ContentTypeID{AuthorityID: "xmtp.org", TypeID: "group_updated", VersionMajor: 1}

// groupUpdated returns the GroupUpdated record of a commit by committer
// that took the group from old to next, or nil when it changed no member
// and no metadata (key and installation-only updates; xmtp-groups.md
// §5.5). Inboxes are sorted; metadata changes come in key order.
func groupUpdated(committer identity.InboxID, old, next *GroupExtensions) *content.GroupUpdated {
	if old == next {
		return nil
	}
	gu := &content.GroupUpdated{InitiatedByInboxId: string(committer)}
	added, removed := membershipDiff(old, next)
	gu.AddedInboxes, gu.RemovedInboxes = transcriptInboxes(added), transcriptInboxes(removed)
	md := policy.DiffMetadata(policyMetadata(old.Mutable), policyMetadata(next.Mutable))
	for _, f := range md.Fields {
		gu.MetadataFieldChanges = append(gu.MetadataFieldChanges, &content.GroupUpdated_MetadataFieldChange{
			FieldName: string(f.Field), OldValue: f.Old, NewValue: f.New})
	}
	gu.AddedAdminInboxes, gu.RemovedAdminInboxes = transcriptInboxes(md.AdminsAdded), transcriptInboxes(md.AdminsRemoved)
	gu.AddedSuperAdminInboxes = transcriptInboxes(md.SuperAdminsAdded)
	gu.RemovedSuperAdminInboxes = transcriptInboxes(md.SuperAdminsRemoved)
	if len(gu.AddedInboxes)+len(gu.RemovedInboxes)+len(gu.MetadataFieldChanges)+len(gu.AddedAdminInboxes)+
		len(gu.RemovedAdminInboxes)+len(gu.AddedSuperAdminInboxes)+len(gu.RemovedSuperAdminInboxes) == 0 {
		return nil
	}
	return gu
}

func transcriptInboxes(ids []identity.InboxID) []*content.GroupUpdated_Inbox {
	var out []*content.GroupUpdated_Inbox
	for _, id := range ids {
		out = append(out, &content.GroupUpdated_Inbox{InboxId: string(id)})
	}
	return out
}

// transcriptMessage stores a GroupUpdated record as a membership-change
// message (xmtp-groups.md §5.2, §5.5): sent by the committer at the node
// time of v1 (nil for the welcome record, whose time is in key), its id
// computed from key and the encoded content like any message id.
func (c *Client) transcriptMessage(groupID []byte, gu *content.GroupUpdated, sender identity.InboxID, inst []byte,
	key string, v1 *mlsapi.GroupMessage_V1) (*storage.ClientMessage, error) {
	body, err := deterministic.Marshal(gu)
	if err != nil {
		return nil, fmt.Errorf("%w: encode group update: %w", ErrInternal, err)
	}
	t := ContentTypeGroupUpdated
	ec := &content.EncodedContent{Type: &content.ContentTypeId{AuthorityId: t.AuthorityID, TypeId: t.TypeID,
		VersionMajor: t.VersionMajor, VersionMinor: t.VersionMinor}, Content: body}
	encoded, err := deterministic.Marshal(ec)
	if err != nil {
		return nil, fmt.Errorf("%w: encode group update: %w", ErrInternal, err)
	}
	m := &storage.ClientMessage{ID: computeMessageID(groupID, key, encoded), GroupID: groupID, Kind: int16(KindMembershipChange),
		DeliveryStatus: int16(StatusPublished), SenderInboxID: string(sender), SenderInstallation: inst,
		AuthorityID: t.AuthorityID, TypeID: t.TypeID, VersionMajor: t.VersionMajor, VersionMinor: t.VersionMinor,
		Content: encoded, IdempotencyKey: key, InsertedNs: c.nowNs()}
	if v1 != nil {
		m.SentAtNs, m.Cursor = int64(v1.GetCreatedNs()), v1.GetId()
	}
	return m, nil
}

// GroupUpdated decodes a membership-change message's record.
func (m *Message) GroupUpdated() (*content.GroupUpdated, error) {
	ec, err := m.Content()
	if err != nil {
		return nil, err
	}
	t := ec.GetType()
	if t.GetAuthorityId() != ContentTypeGroupUpdated.AuthorityID || t.GetTypeId() != ContentTypeGroupUpdated.TypeID {
		return nil, fmt.Errorf("%w: content type %s/%s", ErrInvalidArgument, t.GetAuthorityId(), t.GetTypeId())
	}
	gu := new(content.GroupUpdated)
	if err := proto.Unmarshal(ec.GetContent(), gu); err != nil {
		return nil, fmt.Errorf("decode group update: %w", err)
	}
	return gu, nil
}
