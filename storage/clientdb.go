package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// ErrNotFound is returned by client repository reads that find no row.
var ErrNotFound = errors.New("storage: not found")

// ClientDB is one client installation's own SQLite database: its identity
// keys, key packages, groups (MLS state blob plus indexed columns and the
// processed cursor), messages and topic cursors. It is separate from the
// node's [DB], with its own numbered migrations recorded in the
// client_schema_versions table. It is safe for concurrent use.
//
// The database holds private keys and MLS epoch secrets in the clear:
// protect the file (BUG(client): no at-rest encryption yet; libxmtp uses
// SQLCipher).
type ClientDB struct {
	d *DB
}

// clientSchemaVersion records one applied client migration.
// clientVersionsTable records the applied client migrations (rows shaped
// like the node's schemaVersion).
const clientVersionsTable = "client_schema_versions"

// clientMigrations lists every client schema change in order. Never edit
// or renumber a released entry: append a new one.
var clientMigrations = []migration{
	{1, "client tables: identity, key packages, groups, messages, cursors", clientMigrate1},
	{2, "client intents, consent, installation checks, message cursor index", clientMigrate2},
	{3, "message references, pending removals, message deletions, pending leave flag", clientMigrate3},
	{4, "local and remote commit logs, group fork state", clientMigrate4},
	{5, "message expiry times for disappearing messages", clientMigrate5},
	{6, "group pause for a minimum protocol version", clientMigrate6},
}

// OpenClient opens (creating if missing) the SQLite file at path as a
// client database and applies its pending migrations. It uses the same
// connection settings as [Open] (WAL, busy timeout, foreign keys,
// immediate write transactions). opts may be nil.
func OpenClient(ctx context.Context, path string, opts *Options) (*ClientDB, error) {
	d, err := openSQLiteFile(ctx, path, opts, migrationSet{table: clientVersionsTable, list: clientMigrations, what: "client database"})
	if err != nil {
		return nil, err
	}
	return &ClientDB{d: d}, nil
}

// openSQLiteFile opens (creating if missing) the SQLite file at path with
// the connection settings of [Open] (WAL, busy timeout, foreign keys,
// immediate write transactions) and applies set's pending migrations; set
// names the database in errors and logs. opts may be nil.
func openSQLiteFile(ctx context.Context, path string, opts *Options, set migrationSet) (*DB, error) {
	if opts == nil {
		opts = &Options{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if strings.TrimSpace(path) == "" || IsPostgresDSN(path) {
		return nil, fmt.Errorf("storage: open %s: %q is not a SQLite file path", set.what, path)
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = 10 * time.Second
	}
	gdb, err := gorm.Open(sqlite.Open(sqliteDSN(path, busy)), &gorm.Config{
		SkipDefaultTransaction: true,
		Logger:                 newGormLogger(log),
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", set.what, err)
	}
	d := &DB{gdb: gdb, dialect: DialectSQLite, log: log}
	if err := d.checkSQLitePragmas(ctx); err != nil {
		_ = d.Close()
		return nil, err
	}
	if err := d.runMigrations(ctx, set); err != nil {
		_ = d.Close()
		return nil, err
	}
	log.Info(set.what + " open")
	return d, nil
}

// Close closes the database. Calls after the first return nil.
func (c *ClientDB) Close() error {
	if c == nil {
		return nil
	}
	return c.d.Close()
}

func (c *ClientDB) db(ctx context.Context) *gorm.DB { return c.d.gdb.WithContext(ctx) }

// Client version 1 snapshots.

type cm1Identity struct {
	ID              int    `gorm:"primaryKey;autoIncrement:false"`
	InboxID         string `gorm:"not null"`
	Address         string `gorm:"not null"`
	Nonce           int64  `gorm:"not null"`
	InstallationKey []byte `gorm:"not null"`
	HmacRootKey     []byte `gorm:"not null"`
	Registered      bool   `gorm:"not null"`
	CreatedNs       int64  `gorm:"not null"`
}

func (cm1Identity) TableName() string { return "identity" }

type cm1KeyPackage struct {
	ID                   int64  `gorm:"primaryKey;autoIncrement"`
	InitPublicKey        []byte `gorm:"not null;uniqueIndex:idx_key_packages_init"`
	KeyPackage           []byte `gorm:"not null"`
	InitPrivateKey       []byte `gorm:"not null"`
	EncryptionPrivateKey []byte `gorm:"not null"`
	CreatedNs            int64  `gorm:"not null"`
	UploadedNs           int64  `gorm:"not null"`
	DeleteAtNs           int64  `gorm:"not null;index:idx_key_packages_delete"`
}

func (cm1KeyPackage) TableName() string { return "key_packages" }

type cm1Group struct {
	GroupID          []byte `gorm:"primaryKey"`
	CreatedNs        int64  `gorm:"not null"`
	ConversationType int32  `gorm:"not null;index:idx_groups_kind"`
	CreatorInboxID   string `gorm:"not null"`
	AddedByInboxID   string `gorm:"not null"`
	DmID             string `gorm:"not null;index:idx_groups_dm"`
	MembershipState  int16  `gorm:"not null"`
	Active           bool   `gorm:"not null"`
	Epoch            int64  `gorm:"not null"`
	State            []byte `gorm:"not null"`
	Cursor           int64  `gorm:"not null"`
	WelcomeID        int64  `gorm:"not null"`
	LastMessageNs    int64  `gorm:"not null;index:idx_groups_last"`
	UpdatedNs        int64  `gorm:"not null"`
}

func (cm1Group) TableName() string { return "groups" }

type cm1Message struct {
	ID                 []byte `gorm:"primaryKey"`
	GroupID            []byte `gorm:"not null;index:idx_messages_group,priority:1"`
	SentAtNs           int64  `gorm:"not null;index:idx_messages_group,priority:2"`
	Kind               int16  `gorm:"not null"`
	DeliveryStatus     int16  `gorm:"not null;index:idx_messages_status"`
	SenderInboxID      string `gorm:"not null"`
	SenderInstallation []byte
	AuthorityID        string `gorm:"not null"`
	TypeID             string `gorm:"not null"`
	VersionMajor       int32  `gorm:"not null"`
	VersionMinor       int32  `gorm:"not null"`
	Content            []byte `gorm:"not null"`
	IdempotencyKey     string `gorm:"not null"`
	Cursor             int64  `gorm:"not null"`
	Payload            []byte
	InsertedNs         int64 `gorm:"not null"`
}

func (cm1Message) TableName() string { return "messages" }

type cm1Cursor struct {
	Topic  string `gorm:"primaryKey"`
	Cursor int64  `gorm:"not null"`
}

func (cm1Cursor) TableName() string { return "cursors" }

func clientMigrate1(tx *gorm.DB) error {
	return tx.AutoMigrate(&cm1Identity{}, &cm1KeyPackage{}, &cm1Group{}, &cm1Message{}, &cm1Cursor{})
}

// Client version 2 snapshots.

type cm2Intent struct {
	ID             int64  `gorm:"primaryKey;autoIncrement"`
	GroupID        []byte `gorm:"not null;index:idx_intents_group,priority:1"`
	Kind           int16  `gorm:"not null"`
	State          int16  `gorm:"not null;index:idx_intents_group,priority:2"`
	MessageID      []byte
	Payload        []byte
	PublishedEpoch int64 `gorm:"not null"`
	PostCommit     []byte
	Cursor         int64  `gorm:"not null"`
	ShouldPush     bool   `gorm:"not null"`
	Attempts       int32  `gorm:"not null"`
	LastError      string `gorm:"not null"`
	CreatedNs      int64  `gorm:"not null"`
	UpdatedNs      int64  `gorm:"not null"`
}

func (cm2Intent) TableName() string { return "intents" }

type cm2Consent struct {
	EntityType    int16  `gorm:"primaryKey;autoIncrement:false"`
	Entity        string `gorm:"primaryKey"`
	State         int16  `gorm:"not null"`
	ConsentedAtNs int64  `gorm:"not null"`
}

func (cm2Consent) TableName() string { return "consent_records" }

// clientMigrate2 adds the intent queue and consent records, the time a
// group's installations were last checked, and an index for finding a
// group's messages by node cursor. Version 1 kept the MLS payload of our
// messages not yet seen back in the messages table (delivery status 1 while
// the node had not accepted them, 2 after); they become send intents (state
// 1 or 2) and their messages unpublished until their echo comes back.
func clientMigrate2(tx *gorm.DB) error {
	if err := tx.AutoMigrate(&cm2Intent{}, &cm2Consent{}); err != nil {
		return err
	}
	for _, stmt := range []string{
		"ALTER TABLE groups ADD COLUMN installations_checked_ns INTEGER NOT NULL DEFAULT 0",
		"CREATE INDEX IF NOT EXISTS idx_messages_cursor ON messages(group_id, cursor)",
		"CREATE INDEX IF NOT EXISTS idx_groups_welcome ON groups(welcome_id)",
		`INSERT INTO intents (group_id, kind, state, message_id, payload, published_epoch, cursor, should_push, attempts, last_error,
			created_ns, updated_ns)
			SELECT group_id, 1, CASE delivery_status WHEN 1 THEN 1 ELSE 2 END, id, payload, 0, 0, true, 0, '', inserted_ns, inserted_ns
			FROM messages WHERE payload IS NOT NULL`,
		"UPDATE messages SET payload = NULL, delivery_status = 1 WHERE payload IS NOT NULL",
	} {
		if err := tx.Exec(stmt).Error; err != nil {
			return err
		}
	}
	return nil
}
