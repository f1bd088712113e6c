package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// BotDB is one bot installation's own SQLite database: the bot's decision
// on each conversation it was added to, how far it has handled each
// conversation's messages, and the per-group settings and key-value data
// of its plugins. It sits beside the installation's
// [ClientDB] (it may even share its file: every table starts with "bot_"
// and its numbered migrations are recorded in the bot_schema_versions
// table). It is safe for concurrent use.
type BotDB struct {
	d *DB
}

// botVersionsTable records the applied bot migrations (rows shaped like the
// node's schemaVersion).
const botVersionsTable = "bot_schema_versions"

// botMigrations lists every bot schema change in order. Never edit or
// renumber a released entry: append a new one.
var botMigrations = []migration{
	{1, "bot tables: conversations, plugin settings, plugin data", botMigrate1},
	{2, "bot handled positions", botMigrate2},
}

// BotSchemaVersion is the bot schema version this binary creates and
// expects.
func BotSchemaVersion() int { return botMigrations[len(botMigrations)-1].version }

// OpenBot opens (creating if missing) the SQLite file at path as a bot
// database and applies its pending migrations, with the connection
// settings of [OpenClient]. opts may be nil.
func OpenBot(ctx context.Context, path string, opts *Options) (*BotDB, error) {
	d, err := openSQLiteFile(ctx, path, opts, migrationSet{table: botVersionsTable, list: botMigrations, what: "bot database"})
	if err != nil {
		return nil, err
	}
	return &BotDB{d: d}, nil
}

// Close closes the database. Calls after the first return nil.
func (b *BotDB) Close() error {
	if b == nil {
		return nil
	}
	return b.d.Close()
}

func (b *BotDB) db(ctx context.Context) *gorm.DB { return b.d.gdb.WithContext(ctx) }

// Bot version 1 snapshots.

type bm1Conversation struct {
	GroupID   string `gorm:"primaryKey"`
	State     int16  `gorm:"not null"`
	DecidedBy string `gorm:"not null"`
	UpdatedNs int64  `gorm:"not null"`
}

func (bm1Conversation) TableName() string { return "bot_conversations" }

type bm1PluginSetting struct {
	GroupID   string `gorm:"primaryKey"`
	Plugin    string `gorm:"primaryKey"`
	Enabled   bool   `gorm:"not null"`
	Config    []byte
	UpdatedNs int64 `gorm:"not null"`
}

func (bm1PluginSetting) TableName() string { return "bot_plugin_settings" }

type bm1PluginData struct {
	GroupID   string `gorm:"primaryKey"`
	Plugin    string `gorm:"primaryKey"`
	Key       string `gorm:"primaryKey"`
	Value     []byte
	UpdatedNs int64 `gorm:"not null"`
}

func (bm1PluginData) TableName() string { return "bot_plugin_data" }

func botMigrate1(tx *gorm.DB) error {
	return tx.AutoMigrate(&bm1Conversation{}, &bm1PluginSetting{}, &bm1PluginData{})
}

// Bot version 2 snapshot.

type bm2Handled struct {
	GroupID    string `gorm:"primaryKey"`
	InsertedNs int64  `gorm:"not null"`
	MessageIDs string `gorm:"not null"`
	UpdatedNs  int64  `gorm:"not null"`
}

func (bm2Handled) TableName() string { return "bot_handled" }

func botMigrate2(tx *gorm.DB) error {
	return tx.AutoMigrate(&bm2Handled{})
}

// BotConversation is the bot's decision on one conversation: GroupID is
// the group id in lowercase hex; State holds the bot's stored numbers,
// which are permanent (the bot package names them); DecidedBy is the inbox
// id of the operator who decided, or empty when the bot's consent policy
// did.
type BotConversation struct {
	GroupID   string
	State     int16
	DecidedBy string
	UpdatedNs int64
}

type botConversationRow bm1Conversation

func (botConversationRow) TableName() string { return "bot_conversations" }

// BotConversation returns the stored decision on group id, or ErrNotFound.
func (b *BotDB) BotConversation(ctx context.Context, groupID string) (*BotConversation, error) {
	var row botConversationRow
	err := b.db(ctx).Where("group_id = ?", groupID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("storage: read bot conversation: %w", err)
	}
	c := BotConversation(row)
	return &c, nil
}

// SaveBotConversation stores c, replacing the decision on the same group.
func (b *BotDB) SaveBotConversation(ctx context.Context, c BotConversation) error {
	row := botConversationRow(c)
	if err := b.db(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
		return fmt.Errorf("storage: save bot conversation: %w", err)
	}
	return nil
}

// BotPluginSetting is one plugin's stored setting in one group: GroupID is
// the group id in lowercase hex, Plugin the plugin's namespaced id, Config
// its raw JSON config (nil for the plugin's defaults).
type BotPluginSetting struct {
	GroupID   string
	Plugin    string
	Enabled   bool
	Config    []byte
	UpdatedNs int64
}

type botPluginSettingRow bm1PluginSetting

func (botPluginSettingRow) TableName() string { return "bot_plugin_settings" }

// BotPluginSettings returns every stored plugin setting of group id,
// ordered by plugin.
func (b *BotDB) BotPluginSettings(ctx context.Context, groupID string) ([]BotPluginSetting, error) {
	var rows []botPluginSettingRow
	if err := b.db(ctx).Where("group_id = ?", groupID).Order("plugin").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: read bot plugin settings: %w", err)
	}
	out := make([]BotPluginSetting, len(rows))
	for i, r := range rows {
		out[i] = BotPluginSetting(r)
	}
	return out, nil
}

// SaveBotPluginSetting stores s, replacing the setting of the same group
// and plugin.
func (b *BotDB) SaveBotPluginSetting(ctx context.Context, s BotPluginSetting) error {
	row := botPluginSettingRow(s)
	if err := b.db(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
		return fmt.Errorf("storage: save bot plugin setting: %w", err)
	}
	return nil
}

type botPluginDataRow bm1PluginData

func (botPluginDataRow) TableName() string { return "bot_plugin_data" }

// BotPluginData returns the value stored under key for plugin in group id;
// ok is false when there is none.
func (b *BotDB) BotPluginData(ctx context.Context, groupID, plugin, key string) (value []byte, ok bool, err error) {
	var row botPluginDataRow
	err = b.db(ctx).Where("group_id = ? AND plugin = ? AND key = ?", groupID, plugin, key).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("storage: read bot plugin data: %w", err)
	}
	if row.Value == nil {
		row.Value = []byte{}
	}
	return row.Value, true, nil
}

// SetBotPluginData stores value under key for plugin in group id,
// replacing any old value; updatedNs is the time of the write.
func (b *BotDB) SetBotPluginData(ctx context.Context, groupID, plugin, key string, value []byte, updatedNs int64) error {
	row := botPluginDataRow{GroupID: groupID, Plugin: plugin, Key: key, Value: value, UpdatedNs: updatedNs}
	if row.Value == nil {
		row.Value = []byte{}
	}
	if err := b.db(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
		return fmt.Errorf("storage: set bot plugin data: %w", err)
	}
	return nil
}

// DeleteBotPluginData removes key of plugin in group id; removing a
// missing key is not an error.
func (b *BotDB) DeleteBotPluginData(ctx context.Context, groupID, plugin, key string) error {
	err := b.db(ctx).Where("group_id = ? AND plugin = ? AND key = ?", groupID, plugin, key).Delete(&botPluginDataRow{}).Error
	if err != nil {
		return fmt.Errorf("storage: delete bot plugin data: %w", err)
	}
	return nil
}

// BotHandled is how far the bot has handled one conversation's messages:
// every message the client stored (InsertedNs, the client's insertion
// time) before InsertedNs is handled, and of those stored at InsertedNs
// exactly, the ones whose ids (lowercase hex) MessageIDs lists. GroupID is
// the group id in lowercase hex; UpdatedNs the time of the write.
type BotHandled struct {
	GroupID    string
	InsertedNs int64
	MessageIDs []string
	UpdatedNs  int64
}

type botHandledRow bm2Handled

func (botHandledRow) TableName() string { return "bot_handled" }

// BotHandled returns the stored position of group id, or ErrNotFound.
func (b *BotDB) BotHandled(ctx context.Context, groupID string) (*BotHandled, error) {
	var row botHandledRow
	err := b.db(ctx).Where("group_id = ?", groupID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("storage: read bot handled position: %w", err)
	}
	h := &BotHandled{GroupID: row.GroupID, InsertedNs: row.InsertedNs, UpdatedNs: row.UpdatedNs}
	if row.MessageIDs != "" {
		h.MessageIDs = strings.Split(row.MessageIDs, ",")
	}
	return h, nil
}

// SaveBotHandled stores h, replacing the position of the same group. The
// message ids must not contain commas (they are hex).
func (b *BotDB) SaveBotHandled(ctx context.Context, h BotHandled) error {
	for _, id := range h.MessageIDs {
		if id == "" || strings.Contains(id, ",") {
			return fmt.Errorf("storage: save bot handled position: bad message id %q", id)
		}
	}
	row := botHandledRow{GroupID: h.GroupID, InsertedNs: h.InsertedNs, MessageIDs: strings.Join(h.MessageIDs, ","), UpdatedNs: h.UpdatedNs}
	if err := b.db(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
		return fmt.Errorf("storage: save bot handled position: %w", err)
	}
	return nil
}
