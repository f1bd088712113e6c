package storage

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ClientCommitLogEntry is one row of a client's local commit log
// (xmtp-groups.md §10): what processing one commit of a group did to its
// encryption state. CommitSequenceID is the commit's node id (0 for a
// chain start such as a creation or welcome); CommitResult holds the wire
// CommitResult number (APPLIED 1, WRONG_EPOCH 2, UNDECRYPTABLE 3, INVALID
// 4). A failed commit leaves the state as it was, so its applied epoch and
// authenticator are the previous ones. ID orders a group's rows; 0 until
// stored.
type ClientCommitLogEntry struct {
	ID                        int64
	GroupID                   []byte
	CommitSequenceID          uint64
	LastEpochAuthenticator    []byte
	CommitResult              int16
	AppliedEpochNumber        uint64
	AppliedEpochAuthenticator []byte
	SenderInboxID             string
	SenderInstallation        []byte
	CommitType                string
	ErrorMessage              string
	CreatedNs                 int64
}

type clientCommitLogRow struct {
	ID                        int64 `gorm:"primaryKey;autoIncrement"`
	GroupID                   []byte
	CommitSequenceID          int64
	LastEpochAuthenticator    []byte
	CommitResult              int16
	AppliedEpochNumber        int64
	AppliedEpochAuthenticator []byte
	SenderInboxID             string
	SenderInstallation        []byte
	CommitType                string
	ErrorMessage              string
	CreatedNs                 int64
}

func (clientCommitLogRow) TableName() string { return "local_commit_log" }

func (r *clientCommitLogRow) model() ClientCommitLogEntry {
	return ClientCommitLogEntry{ID: r.ID, GroupID: r.GroupID, CommitSequenceID: uint64(r.CommitSequenceID),
		LastEpochAuthenticator: r.LastEpochAuthenticator, CommitResult: r.CommitResult, AppliedEpochNumber: uint64(r.AppliedEpochNumber),
		AppliedEpochAuthenticator: r.AppliedEpochAuthenticator, SenderInboxID: r.SenderInboxID, SenderInstallation: r.SenderInstallation,
		CommitType: r.CommitType, ErrorMessage: r.ErrorMessage, CreatedNs: r.CreatedNs}
}

// ClientRemoteCommitLogEntry is one verified entry of a group's remote
// commit log as this client downloaded it (xmtp-groups.md §10).
// LogSequenceID is the node's id of the entry; ID orders the stored rows.
type ClientRemoteCommitLogEntry struct {
	ID                        int64
	LogSequenceID             uint64
	GroupID                   []byte
	CommitSequenceID          uint64
	CommitResult              int16
	AppliedEpochNumber        uint64
	AppliedEpochAuthenticator []byte
}

type clientRemoteCommitLogRow struct {
	ID                        int64 `gorm:"primaryKey;autoIncrement"`
	LogSequenceID             int64
	GroupID                   []byte
	CommitSequenceID          int64
	CommitResult              int16
	AppliedEpochNumber        int64
	AppliedEpochAuthenticator []byte
}

func (clientRemoteCommitLogRow) TableName() string { return "remote_commit_log" }

func (r *clientRemoteCommitLogRow) model() ClientRemoteCommitLogEntry {
	return ClientRemoteCommitLogEntry{ID: r.ID, LogSequenceID: uint64(r.LogSequenceID), GroupID: r.GroupID,
		CommitSequenceID: uint64(r.CommitSequenceID), CommitResult: r.CommitResult, AppliedEpochNumber: uint64(r.AppliedEpochNumber),
		AppliedEpochAuthenticator: r.AppliedEpochAuthenticator}
}

// ClientForkState is what a client knows about a group possibly having
// forked (xmtp-groups.md §4.1, §10). The zero value is a group with no
// fork signal.
type ClientForkState struct {
	GroupID []byte
	// CommitLogPublicKey is the consensus signing key of the group's remote
	// commit log (the key of its first validly signed entry); nil until
	// seen.
	CommitLogPublicKey []byte
	// CommitLogForked is the commit-log verdict: 0 not known, 1 not
	// forked, 2 forked.
	CommitLogForked int16
	// MaybeForked is set when a message of a future epoch arrived;
	// ForkDetails says which.
	MaybeForked bool
	ForkDetails string
	UpdatedNs   int64
}

type clientForkRow struct {
	GroupID            []byte `gorm:"primaryKey"`
	CommitLogPublicKey []byte
	CommitLogForked    int16
	MaybeForked        bool
	ForkDetails        string
	UpdatedNs          int64
}

func (clientForkRow) TableName() string { return "group_forks" }

// Client version 4 snapshots.

type cm4LocalCommitLog struct {
	ID                        int64  `gorm:"primaryKey;autoIncrement"`
	GroupID                   []byte `gorm:"not null;index:idx_local_commit_log_group"`
	CommitSequenceID          int64  `gorm:"not null"`
	LastEpochAuthenticator    []byte `gorm:"not null"`
	CommitResult              int16  `gorm:"not null"`
	AppliedEpochNumber        int64  `gorm:"not null"`
	AppliedEpochAuthenticator []byte `gorm:"not null"`
	SenderInboxID             string `gorm:"not null"`
	SenderInstallation        []byte
	CommitType                string `gorm:"not null"`
	ErrorMessage              string `gorm:"not null"`
	CreatedNs                 int64  `gorm:"not null"`
}

func (cm4LocalCommitLog) TableName() string { return "local_commit_log" }

type cm4RemoteCommitLog struct {
	ID                        int64  `gorm:"primaryKey;autoIncrement"`
	LogSequenceID             int64  `gorm:"not null"`
	GroupID                   []byte `gorm:"not null;index:idx_remote_commit_log_group"`
	CommitSequenceID          int64  `gorm:"not null"`
	CommitResult              int16  `gorm:"not null"`
	AppliedEpochNumber        int64  `gorm:"not null"`
	AppliedEpochAuthenticator []byte `gorm:"not null"`
}

func (cm4RemoteCommitLog) TableName() string { return "remote_commit_log" }

type cm4GroupFork struct {
	GroupID            []byte `gorm:"primaryKey"`
	CommitLogPublicKey []byte
	CommitLogForked    int16  `gorm:"not null"`
	MaybeForked        bool   `gorm:"not null"`
	ForkDetails        string `gorm:"not null"`
	UpdatedNs          int64  `gorm:"not null"`
}

func (cm4GroupFork) TableName() string { return "group_forks" }

// clientMigrate4 adds the local and remote commit logs and the per-group
// fork state used for fork detection.
func clientMigrate4(tx *gorm.DB) error {
	return tx.AutoMigrate(&cm4LocalCommitLog{}, &cm4RemoteCommitLog{}, &cm4GroupFork{})
}

// insertLocalCommitLog stores rows of the local commit log (part of a
// group's progress transaction).
func insertLocalCommitLog(tx *gorm.DB, entries []ClientCommitLogEntry) error {
	for _, e := range entries {
		row := clientCommitLogRow{GroupID: e.GroupID, CommitSequenceID: clampID(e.CommitSequenceID),
			LastEpochAuthenticator: nonNil(e.LastEpochAuthenticator), CommitResult: e.CommitResult,
			AppliedEpochNumber: clampID(e.AppliedEpochNumber), AppliedEpochAuthenticator: nonNil(e.AppliedEpochAuthenticator),
			SenderInboxID: e.SenderInboxID, SenderInstallation: e.SenderInstallation, CommitType: e.CommitType,
			ErrorMessage: e.ErrorMessage, CreatedNs: e.CreatedNs}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
	}
	return nil
}

// saveForkProgress writes the fork-related part of a group's progress:
// its new local commit-log rows and, when set, the maybe-forked flag.
func saveForkProgress(tx *gorm.DB, p GroupProgress) error {
	if err := insertLocalCommitLog(tx, p.CommitLog); err != nil {
		return err
	}
	if p.MaybeForked == "" {
		return nil
	}
	row := clientForkRow{GroupID: p.GroupID, MaybeForked: true, ForkDetails: p.MaybeForked, UpdatedNs: p.UpdatedNs}
	return tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "group_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"maybe_forked", "fork_details", "updated_ns"}),
	}).Create(&row).Error
}

// InsertLocalCommitLog stores rows of the local commit log in one
// transaction (a chain start outside a group's progress).
func (c *ClientDB) InsertLocalCommitLog(ctx context.Context, entries ...ClientCommitLogEntry) error {
	if err := c.db(ctx).Transaction(func(tx *gorm.DB) error { return insertLocalCommitLog(tx, entries) }); err != nil {
		return fmt.Errorf("storage: insert local commit log: %w", err)
	}
	return nil
}

// LocalCommitLog returns the group's local commit-log rows with ID greater
// than afterID, by ID (newest first when descending).
func (c *ClientDB) LocalCommitLog(ctx context.Context, groupID []byte, afterID int64, descending bool) ([]ClientCommitLogEntry, error) {
	return commitLogAfter[clientCommitLogRow, ClientCommitLogEntry](c.db(ctx), "local", groupID, afterID, descending)
}

// LatestLocalCommitLog returns the group's newest local commit-log row, or
// ErrNotFound.
func (c *ClientDB) LatestLocalCommitLog(ctx context.Context, groupID []byte) (*ClientCommitLogEntry, error) {
	return latestCommitLog[clientCommitLogRow, ClientCommitLogEntry](c.db(ctx), "local", groupID)
}

// InsertRemoteCommitLog stores verified remote commit-log entries and
// raises the cursor of cursorTopic to cursor, in one transaction.
func (c *ClientDB) InsertRemoteCommitLog(ctx context.Context, entries []ClientRemoteCommitLogEntry, cursorTopic string, cursor uint64) error {
	err := c.db(ctx).Transaction(func(tx *gorm.DB) error {
		for _, e := range entries {
			row := clientRemoteCommitLogRow{LogSequenceID: clampID(e.LogSequenceID), GroupID: e.GroupID,
				CommitSequenceID: clampID(e.CommitSequenceID), CommitResult: e.CommitResult,
				AppliedEpochNumber: clampID(e.AppliedEpochNumber), AppliedEpochAuthenticator: nonNil(e.AppliedEpochAuthenticator)}
			if err := tx.Create(&row).Error; err != nil {
				return err
			}
		}
		return setCursor(tx, cursorTopic, cursor)
	})
	if err != nil {
		return fmt.Errorf("storage: insert remote commit log: %w", err)
	}
	return nil
}

// RemoteCommitLog returns the group's stored remote commit-log entries
// with ID greater than afterID, by ID (newest first when descending).
func (c *ClientDB) RemoteCommitLog(ctx context.Context, groupID []byte, afterID int64, descending bool) ([]ClientRemoteCommitLogEntry, error) {
	return commitLogAfter[clientRemoteCommitLogRow, ClientRemoteCommitLogEntry](c.db(ctx), "remote", groupID, afterID, descending)
}

// LatestRemoteCommitLog returns the group's newest stored remote
// commit-log entry, or ErrNotFound.
func (c *ClientDB) LatestRemoteCommitLog(ctx context.Context, groupID []byte) (*ClientRemoteCommitLogEntry, error) {
	return latestCommitLog[clientRemoteCommitLogRow, ClientRemoteCommitLogEntry](c.db(ctx), "remote", groupID)
}

// clientLogRow is a pointer to a row R of a commit-log table, which
// converts to its model M.
type clientLogRow[R, M any] interface {
	*R
	model() M
}

// commitLogAfter reads a group's rows of the commit log ("local" or
// "remote") whose table holds R, with ID greater than afterID, by ID
// (newest first when descending).
func commitLogAfter[R, M any, P clientLogRow[R, M]](db *gorm.DB, which string, groupID []byte, afterID int64, descending bool) ([]M, error) {
	var rows []R
	if err := db.Where("group_id = ? AND id > ?", groupID, afterID).Order(idOrder(descending)).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: read %s commit log: %w", which, err)
	}
	out := make([]M, len(rows))
	for i := range rows {
		out[i] = P(&rows[i]).model()
	}
	return out, nil
}

// latestCommitLog reads a group's newest row of the commit log ("local" or
// "remote") whose table holds R, or ErrNotFound.
func latestCommitLog[R, M any, P clientLogRow[R, M]](db *gorm.DB, which string, groupID []byte) (*M, error) {
	var rows []R
	if err := db.Where("group_id = ?", groupID).Order("id DESC").Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: read %s commit log: %w", which, err)
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	e := P(&rows[0]).model()
	return &e, nil
}

func idOrder(descending bool) string {
	if descending {
		return "id DESC"
	}
	return "id ASC"
}

// ForkState returns the group's fork state (the zero value with GroupID
// set when nothing was recorded).
func (c *ClientDB) ForkState(ctx context.Context, groupID []byte) (*ClientForkState, error) {
	var rows []clientForkRow
	if err := c.db(ctx).Where("group_id = ?", groupID).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: read fork state: %w", err)
	}
	if len(rows) == 0 {
		return &ClientForkState{GroupID: groupID}, nil
	}
	s := ClientForkState(rows[0])
	return &s, nil
}

// PutForkState stores a group's fork state, replacing the previous one.
func (c *ClientDB) PutForkState(ctx context.Context, s ClientForkState) error {
	row := clientForkRow(s)
	if err := c.db(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
		return fmt.Errorf("storage: put fork state: %w", err)
	}
	return nil
}
