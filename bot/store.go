package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"mlsbridge/plugins"
	"mlsbridge/storage"
)

// Store persists what the bot decides and what its plugins keep: a
// *storage.BotDB. Methods are called from any goroutine.
type Store interface {
	BotConversation(ctx context.Context, groupID string) (*storage.BotConversation, error)
	SaveBotConversation(ctx context.Context, c storage.BotConversation) error
	BotHandled(ctx context.Context, groupID string) (*storage.BotHandled, error)
	SaveBotHandled(ctx context.Context, h storage.BotHandled) error
	BotPluginSettings(ctx context.Context, groupID string) ([]storage.BotPluginSetting, error)
	SaveBotPluginSetting(ctx context.Context, s storage.BotPluginSetting) error
	BotPluginData(ctx context.Context, groupID, plugin, key string) ([]byte, bool, error)
	SetBotPluginData(ctx context.Context, groupID, plugin, key string, value []byte, updatedNs int64) error
	DeleteBotPluginData(ctx context.Context, groupID, plugin, key string) error
}

// Compile-time check that storage's bot database is a Store.
var _ Store = (*storage.BotDB)(nil)

// convState is the bot's decision on a conversation. The stored numbers
// are permanent.
type convState int16

const (
	// stateUndecided: no decision stored yet (never stored).
	stateUndecided convState = 0
	// stateAccepted: the bot serves the conversation.
	stateAccepted convState = 1
	// stateRejected: the bot ignores the conversation.
	stateRejected convState = 2
	// statePending: the bot waits for an operator's !accept.
	statePending convState = 3
)

func (s convState) String() string {
	switch s {
	case stateAccepted:
		return "accepted"
	case stateRejected:
		return "rejected"
	case statePending:
		return "pending"
	}
	return "undecided"
}

// loadState returns the stored decision on the group (hex id), or
// stateUndecided.
func (b *Bot) loadState(ctx context.Context, gid string) (convState, error) {
	c, err := b.store.BotConversation(ctx, gid)
	if errors.Is(err, storage.ErrNotFound) {
		return stateUndecided, nil
	}
	if err != nil {
		return stateUndecided, fmt.Errorf("bot: load conversation state: %w", err)
	}
	return convState(c.State), nil
}

// saveState stores the decision on the group (hex id); by is the operator
// who decided, empty for the consent policy.
func (b *Bot) saveState(ctx context.Context, gid string, s convState, by string) error {
	err := b.store.SaveBotConversation(ctx, storage.BotConversation{GroupID: gid, State: int16(s), DecidedBy: by, UpdatedNs: b.now().UnixNano()})
	if err != nil {
		return fmt.Errorf("bot: save conversation state: %w", err)
	}
	return nil
}

// pluginStore adapts the Store to the plugin manager's settings and data
// stores.
type pluginStore struct {
	s   Store
	now func() time.Time
}

// Compile-time checks.
var (
	_ plugins.SettingsStore = pluginStore{}
	_ plugins.DataStore     = pluginStore{}
)

// PluginSettings implements plugins.SettingsStore.
func (p pluginStore) PluginSettings(ctx context.Context, g plugins.GroupID) ([]plugins.Setting, error) {
	rows, err := p.s.BotPluginSettings(ctx, string(g))
	if err != nil {
		return nil, err
	}
	out := make([]plugins.Setting, len(rows))
	for i, r := range rows {
		out[i] = plugins.Setting{Plugin: plugins.ID(r.Plugin), Enabled: r.Enabled, Config: json.RawMessage(r.Config)}
	}
	return out, nil
}

// SavePluginSetting implements plugins.SettingsStore.
func (p pluginStore) SavePluginSetting(ctx context.Context, g plugins.GroupID, s plugins.Setting) error {
	return p.s.SaveBotPluginSetting(ctx, storage.BotPluginSetting{GroupID: string(g), Plugin: string(s.Plugin),
		Enabled: s.Enabled, Config: []byte(s.Config), UpdatedNs: p.now().UnixNano()})
}

// PluginData implements plugins.DataStore.
func (p pluginStore) PluginData(ctx context.Context, g plugins.GroupID, plugin plugins.ID, key string) ([]byte, bool, error) {
	return p.s.BotPluginData(ctx, string(g), string(plugin), key)
}

// SetPluginData implements plugins.DataStore.
func (p pluginStore) SetPluginData(ctx context.Context, g plugins.GroupID, plugin plugins.ID, key string, value []byte) error {
	return p.s.SetBotPluginData(ctx, string(g), string(plugin), key, value, p.now().UnixNano())
}

// DeletePluginData implements plugins.DataStore.
func (p pluginStore) DeletePluginData(ctx context.Context, g plugins.GroupID, plugin plugins.ID, key string) error {
	return p.s.DeleteBotPluginData(ctx, string(g), string(plugin), key)
}
