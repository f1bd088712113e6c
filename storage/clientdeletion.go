package storage

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// MessageDeletion records that a deleteMessage message asked for another
// message to be deleted (xmtp-groups.md §8). ID is the deletion message's
// id; the deleted message keeps its row (deletion is soft) and may not be
// stored yet (the deletion arrived first). IsSuperAdminDeletion says the
// deleter was a super admin, and not the sender, when it was recorded.
type MessageDeletion struct {
	ID                   []byte
	GroupID              []byte
	DeletedMessageID     []byte
	DeletedByInboxID     string
	IsSuperAdminDeletion bool
	DeletedAtNs          int64
}

type messageDeletionRow struct {
	ID                   []byte `gorm:"primaryKey"`
	GroupID              []byte
	DeletedMessageID     []byte
	DeletedByInboxID     string
	IsSuperAdminDeletion bool
	DeletedAtNs          int64
}

func (messageDeletionRow) TableName() string { return "message_deletions" }

func deletionRow(d *MessageDeletion) messageDeletionRow {
	return messageDeletionRow{ID: d.ID, GroupID: d.GroupID, DeletedMessageID: d.DeletedMessageID, DeletedByInboxID: d.DeletedByInboxID,
		IsSuperAdminDeletion: d.IsSuperAdminDeletion, DeletedAtNs: d.DeletedAtNs}
}

func (r *messageDeletionRow) model() MessageDeletion {
	return MessageDeletion{ID: r.ID, GroupID: r.GroupID, DeletedMessageID: r.DeletedMessageID, DeletedByInboxID: r.DeletedByInboxID,
		IsSuperAdminDeletion: r.IsSuperAdminDeletion, DeletedAtNs: r.DeletedAtNs}
}

func insertDeletions(tx *gorm.DB, ds []MessageDeletion) error {
	for i := range ds {
		row := deletionRow(&ds[i])
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
			return err
		}
	}
	return nil
}

// InsertMessageDeletion records d; a deletion id recorded already keeps its
// row.
func (c *ClientDB) InsertMessageDeletion(ctx context.Context, d MessageDeletion) error {
	if err := insertDeletions(c.db(ctx), []MessageDeletion{d}); err != nil {
		return fmt.Errorf("storage: insert message deletion: %w", err)
	}
	return nil
}

// DeletionsOf returns the deletion records that target any of ids, oldest
// first.
func (c *ClientDB) DeletionsOf(ctx context.Context, ids [][]byte) ([]MessageDeletion, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []messageDeletionRow
	if err := c.db(ctx).Where("deleted_message_id IN ?", ids).Order("deleted_at_ns ASC").Order("rowid ASC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: query message deletions: %w", err)
	}
	out := make([]MessageDeletion, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}

// MessagesReferencing returns the messages of groupIDs whose reference id
// is one of ids and whose content type id is one of typeIDs (any when
// nil), oldest first (by sent time, then insertion).
func (c *ClientDB) MessagesReferencing(ctx context.Context, groupIDs, ids [][]byte, typeIDs []string) ([]ClientMessage, error) {
	if len(ids) == 0 || len(groupIDs) == 0 {
		return nil, nil
	}
	db := c.db(ctx).Where("group_id IN ?", groupIDs).Where("reference_id IN ?", ids)
	if typeIDs != nil {
		db = db.Where("type_id IN ?", typeIDs)
	}
	var rows []clientMessageRow
	if err := db.Order("sent_at_ns ASC").Order("inserted_ns ASC").Order("rowid ASC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: query referencing messages: %w", err)
	}
	out := make([]ClientMessage, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}

// MessagesByID returns the stored messages among ids (in no particular
// order; ids not stored are skipped).
func (c *ClientDB) MessagesByID(ctx context.Context, ids [][]byte) ([]ClientMessage, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []clientMessageRow
	if err := c.db(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: query messages by id: %w", err)
	}
	out := make([]ClientMessage, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}

// DeleteMessage deletes the message with id from this database only,
// together with the deletion record it is (if it is a deletion message),
// and reports how many messages it deleted (0 or 1).
func (c *ClientDB) DeleteMessage(ctx context.Context, id []byte) (int64, error) {
	var n int64
	err := c.db(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("id = ?", id).Delete(&clientMessageRow{})
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		return tx.Where("id = ?", id).Delete(&messageDeletionRow{}).Error
	})
	if err != nil {
		return 0, fmt.Errorf("storage: delete message: %w", err)
	}
	return n, nil
}

// saveRelations writes the leave-request and deletion parts of a group's
// progress inside SaveGroupProgress's transaction.
func saveRelations(tx *gorm.DB, p *GroupProgress) error {
	if len(p.PendingRemoveDone) > 0 {
		if err := tx.Where("group_id = ? AND inbox_id IN ?", p.GroupID, p.PendingRemoveDone).Delete(&pendingRemoveRow{}).Error; err != nil {
			return err
		}
	}
	if err := insertPendingRemoves(tx, p.PendingRemoves); err != nil {
		return err
	}
	if err := insertDeletions(tx, p.Deletions); err != nil {
		return err
	}
	upd := map[string]any{}
	if p.MembershipState != 0 {
		upd["membership_state"] = p.MembershipState
	}
	if p.PendingLeaveRequest != nil {
		upd["has_pending_leave_request"] = *p.PendingLeaveRequest
	}
	if len(upd) == 0 {
		return nil
	}
	return tx.Model(&clientGroupRow{}).Where("group_id = ?", p.GroupID).Updates(upd).Error
}

// Client version 3 snapshots.

type cm3PendingRemove struct {
	GroupID   []byte `gorm:"primaryKey"`
	InboxID   string `gorm:"primaryKey"`
	MessageID []byte `gorm:"not null"`
}

func (cm3PendingRemove) TableName() string { return "pending_remove" }

type cm3MessageDeletion struct {
	ID                   []byte `gorm:"primaryKey"`
	GroupID              []byte `gorm:"not null;index:idx_message_deletions_group"`
	DeletedMessageID     []byte `gorm:"not null;index:idx_message_deletions_target"`
	DeletedByInboxID     string `gorm:"not null"`
	IsSuperAdminDeletion bool   `gorm:"not null"`
	DeletedAtNs          int64  `gorm:"not null"`
}

func (cm3MessageDeletion) TableName() string { return "message_deletions" }

// clientMigrate3 adds what leave requests, deletions, reactions and
// replies need (xmtp-groups.md §7, §8): a message's reference id (the
// message a reply, reaction or deletion points to) with an index, the
// pending-removal list, the deletion records and a group's
// has-pending-leave-request flag. Messages stored before keep a NULL
// reference id.
func clientMigrate3(tx *gorm.DB) error {
	if err := tx.AutoMigrate(&cm3PendingRemove{}, &cm3MessageDeletion{}); err != nil {
		return err
	}
	for _, stmt := range []string{
		"ALTER TABLE messages ADD COLUMN reference_id BLOB",
		"CREATE INDEX IF NOT EXISTS idx_messages_reference ON messages(group_id, reference_id)",
		"ALTER TABLE groups ADD COLUMN has_pending_leave_request BOOLEAN NOT NULL DEFAULT false",
	} {
		if err := tx.Exec(stmt).Error; err != nil {
			return err
		}
	}
	return nil
}
