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

func (r *groupMessageRow) rowID() int64 { return r.ID }

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
	rows := make([]*groupMessageRow, len(msgs))
	for i, m := range msgs {
		rows[i] = &groupMessageRow{CreatedNs: clampID(createdNs), GroupID: nonNil(m.GroupID), Data: nonNil(m.Data),
			SenderHmac: m.SenderHMAC, ShouldPush: m.ShouldPush, IsCommit: m.IsCommit,
			ContentHash: contentHash(m.GroupID, m.Data)}
	}
	return insertDeduped(ctx, d, rows, "group message")
}

// QueryGroupMessages returns one page of the group's messages.
func (d *DB) QueryGroupMessages(ctx context.Context, groupID []byte, p Page) ([]GroupMessage, error) {
	return queryPage[groupMessageRow, GroupMessage](d.gdb.WithContext(ctx).Where("group_id = ?", groupID), p, "group message")
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

// dedupedRow is a stored row whose inserts are deduplicated by its
// content_hash column; model converts it to its exported form.
type dedupedRow[M any] interface {
	rowID() int64
	model() M
}

// insertDeduped inserts rows in one transaction, skipping each whose
// content_hash is already stored, and returns the inserted ones with their
// ids; what names the row type in errors ("group message").
func insertDeduped[M any, R dedupedRow[M]](ctx context.Context, d *DB, rows []R, what string) ([]M, error) {
	var out []M
	err := d.gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out = out[:0]
		for _, row := range rows {
			res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "content_hash"}}, DoNothing: true}).Create(row)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				continue
			}
			if row.rowID() <= 0 {
				return fmt.Errorf("%w: inserted %s has no id", ErrInternal, what)
			}
			out = append(out, row.model())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: insert %ss: %w", what, err)
	}
	return out, nil
}

// queryPage runs q for one page ordered by id and converts the rows; what
// names the row type in errors.
func queryPage[R any, M any, PR interface {
	*R
	model() M
}](q *gorm.DB, p Page, what string) ([]M, error) {
	var rows []R
	if err := p.apply(q, "id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: query %ss: %w", what, err)
	}
	out := make([]M, len(rows))
	for i := range rows {
		out[i] = PR(&rows[i]).model()
	}
	return out, nil
}
