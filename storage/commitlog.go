package storage

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// CommitLogEntry is one stored fork-detection commit-log entry (spec
// §2.8), kept unverified. ID (the entry's sequence_id on the wire) comes
// from one counter shared by all groups and never changes.
type CommitLogEntry struct {
	ID        uint64
	CreatedNs uint64
	GroupID   []byte
	// Entry is the serialized PlaintextCommitLogEntry as sent.
	Entry []byte
	// Signature is the protobuf encoding of the RecoverableEd25519Signature.
	Signature []byte
}

type commitLogRow struct {
	ID        int64 `gorm:"primaryKey;autoIncrement"`
	CreatedNs int64
	GroupID   []byte
	Entry     []byte
	Signature []byte
}

func (commitLogRow) TableName() string { return "commit_log" }

func (r *commitLogRow) model() CommitLogEntry {
	return CommitLogEntry{ID: uint64(r.ID), CreatedNs: uint64(r.CreatedNs), GroupID: r.GroupID, Entry: r.Entry, Signature: r.Signature}
}

// InsertCommitLogEntries stores entries in order in one transaction and
// returns them with their new ids.
func (d *DB) InsertCommitLogEntries(ctx context.Context, createdNs uint64, entries []CommitLogEntry) ([]CommitLogEntry, error) {
	out := make([]CommitLogEntry, 0, len(entries))
	err := d.gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out = out[:0]
		for _, e := range entries {
			row := commitLogRow{CreatedNs: clampID(createdNs), GroupID: nonNil(e.GroupID), Entry: nonNil(e.Entry), Signature: nonNil(e.Signature)}
			if err := tx.Create(&row).Error; err != nil {
				return err
			}
			out = append(out, row.model())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: insert commit log entries: %w", err)
	}
	return out, nil
}

// QueryCommitLog returns one page of the group's commit log.
func (d *DB) QueryCommitLog(ctx context.Context, groupID []byte, p Page) ([]CommitLogEntry, error) {
	var rows []commitLogRow
	q := d.gdb.WithContext(ctx).Where("group_id = ?", groupID)
	if err := p.apply(q, "id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: query commit log: %w", err)
	}
	out := make([]CommitLogEntry, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}
