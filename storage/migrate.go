package storage

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// schemaVersion records one applied migration. The table is the only one
// created outside the numbered list.
type schemaVersion struct {
	Version   int    `gorm:"primaryKey;autoIncrement:false"`
	Name      string `gorm:"not null"`
	AppliedNs int64  `gorm:"not null"`
}

func (schemaVersion) TableName() string { return "schema_versions" }

// migration is one numbered, reviewed schema change. Each migration owns
// snapshot structs of the tables as they were at that version, so a later
// change to a repository model never alters what an old migration does.
// AutoMigrate only adds tables, columns and indexes; it never drops or
// renames, so such steps must be written out explicitly.
type migration struct {
	version int
	name    string
	apply   func(tx *gorm.DB) error
}

// migrations lists every schema change in order. Never edit or renumber an
// entry once released: append a new one.
var migrations = []migration{
	{1, "node tables: group and welcome messages, key packages, identity log, address log, commit log", migrate1},
}

// SchemaVersion is the schema version this binary creates and expects.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

// migrate applies the node database's pending migrations.
func (d *DB) migrate(ctx context.Context) error {
	return d.runMigrations(ctx, migrationSet{table: schemaVersion{}.TableName(), list: migrations, what: "database"})
}

// migrationSet is one numbered migration list and the table recording which
// of its versions are applied (the node and client databases have one each).
type migrationSet struct {
	table string      // version table, rows shaped like schemaVersion
	list  []migration // in order, never edited once released
	what  string      // "database" or "client database", for messages
}

// runMigrations applies the pending migrations of set, each in its own
// transaction together with its version row.
func (d *DB) runMigrations(ctx context.Context, set migrationSet) error {
	db := d.gdb.WithContext(ctx)
	if err := db.Table(set.table).AutoMigrate(&schemaVersion{}); err != nil {
		return fmt.Errorf("storage: create %s: %w", set.table, err)
	}
	var current int
	if err := db.Table(set.table).Select("COALESCE(MAX(version), 0)").Scan(&current).Error; err != nil {
		return fmt.Errorf("storage: read %s schema version: %w", set.what, err)
	}
	latest := set.list[len(set.list)-1].version
	if current > latest {
		return fmt.Errorf("storage: %s schema version %d is newer than this binary's %d; use a newer bridge", set.what, current, latest)
	}
	for _, m := range set.list {
		if m.version <= current {
			continue
		}
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := m.apply(tx); err != nil {
				return err
			}
			return tx.Table(set.table).Create(&schemaVersion{Version: m.version, Name: m.name, AppliedNs: time.Now().UnixNano()}).Error
		})
		if err != nil {
			return fmt.Errorf("storage: %s migration %d (%s): %w", set.what, m.version, m.name, err)
		}
		d.log.Info(set.what+" migrated", "version", m.version, "migration", m.name)
	}
	return nil
}

// Version 1 snapshots. Ids are integer primary keys with AUTOINCREMENT on
// SQLite (never reused, even after a delete) and bigserial on PostgreSQL.

type m1GroupMessage struct {
	ID          int64  `gorm:"primaryKey;autoIncrement;index:idx_group_messages_topic,priority:2"`
	CreatedNs   int64  `gorm:"not null"`
	GroupID     []byte `gorm:"not null;index:idx_group_messages_topic,priority:1"`
	Data        []byte `gorm:"not null"`
	SenderHmac  []byte
	ShouldPush  bool   `gorm:"not null"`
	IsCommit    bool   `gorm:"not null"`
	ContentHash []byte `gorm:"not null;uniqueIndex:idx_group_messages_hash"`
}

func (m1GroupMessage) TableName() string { return "group_messages" }

type m1WelcomeMessage struct {
	ID               int64  `gorm:"primaryKey;autoIncrement;index:idx_welcome_messages_topic,priority:2"`
	CreatedNs        int64  `gorm:"not null"`
	InstallationKey  []byte `gorm:"not null;index:idx_welcome_messages_topic,priority:1"`
	Kind             int16  `gorm:"not null"`
	Data             []byte `gorm:"not null"`
	HpkePublicKey    []byte
	WrapperAlgorithm int32 `gorm:"not null"`
	WelcomeMetadata  []byte
	ContentHash      []byte `gorm:"not null;uniqueIndex:idx_welcome_messages_hash"`
}

func (m1WelcomeMessage) TableName() string { return "welcome_messages" }

type m1Installation struct {
	InstallationKey []byte         `gorm:"primaryKey"`
	KeyPackage      []byte         `gorm:"not null"`
	CreatedNs       int64          `gorm:"not null"`
	UpdatedNs       int64          `gorm:"not null"`
	History         []m1KeyPackage `gorm:"foreignKey:InstallationKey;references:InstallationKey;constraint:OnDelete:CASCADE"`
}

func (m1Installation) TableName() string { return "installations" }

type m1KeyPackage struct {
	ID              int64  `gorm:"primaryKey;autoIncrement"`
	InstallationKey []byte `gorm:"not null;uniqueIndex:idx_key_packages_unique,priority:1"`
	Hash            []byte `gorm:"not null;uniqueIndex:idx_key_packages_unique,priority:2"`
	KeyPackage      []byte `gorm:"not null"`
	CreatedNs       int64  `gorm:"not null"`
}

func (m1KeyPackage) TableName() string { return "key_packages" }

type m1IdentityUpdate struct {
	SequenceID        int64  `gorm:"primaryKey;autoIncrement;index:idx_identity_updates_inbox,priority:2"`
	InboxID           string `gorm:"not null;index:idx_identity_updates_inbox,priority:1"`
	ServerTimestampNs int64  `gorm:"not null"`
	Update            []byte `gorm:"not null"`
}

func (m1IdentityUpdate) TableName() string { return "identity_updates" }

type m1AddressLog struct {
	ID                    int64            `gorm:"primaryKey;autoIncrement"`
	Address               string           `gorm:"not null;index:idx_address_log_address"`
	InboxID               string           `gorm:"not null"`
	AssociationSequenceID int64            `gorm:"not null"`
	Association           m1IdentityUpdate `gorm:"foreignKey:AssociationSequenceID;references:SequenceID"`
	RevocationSequenceID  *int64
}

func (m1AddressLog) TableName() string { return "address_log" }

type m1CommitLog struct {
	ID        int64  `gorm:"primaryKey;autoIncrement;index:idx_commit_log_topic,priority:2"`
	CreatedNs int64  `gorm:"not null"`
	GroupID   []byte `gorm:"not null;index:idx_commit_log_topic,priority:1"`
	Entry     []byte `gorm:"not null"`
	Signature []byte `gorm:"not null"`
}

func (m1CommitLog) TableName() string { return "commit_log" }

func migrate1(tx *gorm.DB) error {
	return tx.AutoMigrate(&m1GroupMessage{}, &m1WelcomeMessage{}, &m1Installation{}, &m1KeyPackage{},
		&m1IdentityUpdate{}, &m1AddressLog{}, &m1CommitLog{})
}
