package storage

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// GroupMessage is one stored MLS group message (spec §2.2, §4.1). ID is
// minted by the database from one counter shared by all groups: it only
// increases, never changes and is never reused, so clients may keep it as
// a cursor forever.
type GroupMessage struct {
	ID        uint64
	CreatedNs uint64
	// GroupID is the MLS group id the node parsed from Data.
	GroupID []byte
	// Data is the TLS-serialized MLSMessage as sent.
	Data       []byte
	SenderHMAC []byte
	ShouldPush bool
	// IsCommit is true when Data's content type is commit.
	IsCommit bool
}

type groupMessageRow struct {
	ID          int64 `gorm:"primaryKey;autoIncrement"`
	CreatedNs   int64
	GroupID     []byte
	Data        []byte
	SenderHmac  []byte
	ShouldPush  bool
	IsCommit    bool
	ContentHash []byte
}

func (groupMessageRow) TableName() string { return "group_messages" }

func (r *groupMessageRow) model() GroupMessage {
	return GroupMessage{ID: uint64(r.ID), CreatedNs: uint64(r.CreatedNs), GroupID: r.GroupID, Data: r.Data,
		SenderHMAC: r.SenderHmac, ShouldPush: r.ShouldPush, IsCommit: r.IsCommit}
}

// InsertGroupMessages stores msgs in order in one transaction, stamping
// each with createdNs, and returns the stored ones with their new ids. A
// message whose group id and data equal a stored one's is skipped
// silently (it is not in the result). On error nothing is stored. The ID
// and CreatedNs fields of msgs are ignored.
func (d *DB) InsertGroupMessages(ctx context.Context, createdNs uint64, msgs []GroupMessage) ([]GroupMessage, error) {
	var out []GroupMessage
	err := d.gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out = out[:0]
		for _, m := range msgs {
			row := groupMessageRow{CreatedNs: clampID(createdNs), GroupID: nonNil(m.GroupID), Data: nonNil(m.Data),
				SenderHmac: m.SenderHMAC, ShouldPush: m.ShouldPush, IsCommit: m.IsCommit,
				ContentHash: contentHash(m.GroupID, m.Data)}
			res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "content_hash"}}, DoNothing: true}).Create(&row)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				continue
			}
			if row.ID <= 0 {
				return fmt.Errorf("%w: inserted group message has no id", ErrInternal)
			}
			out = append(out, row.model())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: insert group messages: %w", err)
	}
	return out, nil
}

// QueryGroupMessages returns one page of the group's messages.
func (d *DB) QueryGroupMessages(ctx context.Context, groupID []byte, p Page) ([]GroupMessage, error) {
	var rows []groupMessageRow
	q := d.gdb.WithContext(ctx).Where("group_id = ?", groupID)
	if err := p.apply(q, "id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: query group messages: %w", err)
	}
	out := make([]GroupMessage, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}

// NewestGroupMessages returns, for each of groupIDs in order, the message
// with the highest id, or nil for a group without messages. With
// withContent false only ID, CreatedNs, GroupID and IsCommit are filled.
func (d *DB) NewestGroupMessages(ctx context.Context, groupIDs [][]byte, withContent bool) ([]*GroupMessage, error) {
	out := make([]*GroupMessage, len(groupIDs))
	if len(groupIDs) == 0 {
		return out, nil
	}
	db := d.gdb.WithContext(ctx)
	latest := db.Model(&groupMessageRow{}).Select("MAX(id)").Where("group_id IN ?", groupIDs).Group("group_id")
	q := db.Where("id IN (?)", latest)
	if !withContent {
		q = q.Select("id", "created_ns", "group_id", "is_commit")
	}
	var rows []groupMessageRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: newest group messages: %w", err)
	}
	byGroup := make(map[string]*GroupMessage, len(rows))
	for i := range rows {
		m := rows[i].model()
		byGroup[string(m.GroupID)] = &m
	}
	for i, g := range groupIDs {
		if m, ok := byGroup[string(g)]; ok {
			c := *m
			out[i] = &c
		}
	}
	return out, nil
}
