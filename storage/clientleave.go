package storage

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// PendingRemove is one leave request a client has processed
// (xmtp-groups.md §7): InboxID asked, with message MessageID, to be removed
// from group GroupID. A group lists an inbox at most once; the first
// request is kept.
type PendingRemove struct {
	GroupID   []byte
	InboxID   string
	MessageID []byte
}

type pendingRemoveRow struct {
	GroupID   []byte `gorm:"primaryKey"`
	InboxID   string `gorm:"primaryKey"`
	MessageID []byte
}

func (pendingRemoveRow) TableName() string { return "pending_remove" }

func insertPendingRemoves(tx *gorm.DB, ps []PendingRemove) error {
	for _, p := range ps {
		row := pendingRemoveRow{GroupID: p.GroupID, InboxID: p.InboxID, MessageID: nonNil(p.MessageID)}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
			return err
		}
	}
	return nil
}

// PendingRemoves returns the inboxes with a pending leave request in group
// groupID, in the order they were recorded.
func (c *ClientDB) PendingRemoves(ctx context.Context, groupID []byte) ([]PendingRemove, error) {
	var rows []pendingRemoveRow
	if err := c.db(ctx).Where("group_id = ?", groupID).Order("rowid ASC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: query pending removals: %w", err)
	}
	out := make([]PendingRemove, len(rows))
	for i, r := range rows {
		out[i] = PendingRemove{GroupID: r.GroupID, InboxID: r.InboxID, MessageID: r.MessageID}
	}
	return out, nil
}

// DeletePendingRemoves drops inboxes from group groupID's pending-removal
// list.
func (c *ClientDB) DeletePendingRemoves(ctx context.Context, groupID []byte, inboxes []string) error {
	if len(inboxes) == 0 {
		return nil
	}
	if err := c.db(ctx).Where("group_id = ? AND inbox_id IN ?", groupID, inboxes).Delete(&pendingRemoveRow{}).Error; err != nil {
		return fmt.Errorf("storage: delete pending removals: %w", err)
	}
	return nil
}

// SetGroupPendingLeaveRequest sets or clears the flag marking a group
// where we, as a super admin, have leave requests to act on.
func (c *ClientDB) SetGroupPendingLeaveRequest(ctx context.Context, groupID []byte, pending bool) error {
	return c.updateGroup(ctx, groupID, map[string]any{"has_pending_leave_request": pending})
}

// GroupPendingLeaveRequest reports the flag SetGroupPendingLeaveRequest
// sets (ErrNotFound for an unknown group).
func (c *ClientDB) GroupPendingLeaveRequest(ctx context.Context, groupID []byte) (bool, error) {
	var flags []bool
	err := c.db(ctx).Model(&clientGroupRow{}).Where("group_id = ?", groupID).Limit(1).Pluck("has_pending_leave_request", &flags).Error
	if err != nil {
		return false, fmt.Errorf("storage: read pending leave flag: %w", err)
	}
	if len(flags) == 0 {
		return false, ErrNotFound
	}
	return flags[0], nil
}

// GroupsWithPendingLeaveRequest returns the ids of the groups whose
// has-pending-leave-request flag is set, oldest first.
func (c *ClientDB) GroupsWithPendingLeaveRequest(ctx context.Context) ([][]byte, error) {
	var ids [][]byte
	err := c.db(ctx).Model(&clientGroupRow{}).Where("has_pending_leave_request").Order("created_ns ASC").Pluck("group_id", &ids).Error
	if err != nil {
		return nil, fmt.Errorf("storage: groups with pending leave requests: %w", err)
	}
	return ids, nil
}
