package plugins

import (
	"context"
	"encoding/json"
	"time"

	"mlsbridge/commands"
)

// Actions is what the bot does in a group on a plugin's behalf. The bot
// implements it once for all groups and passes it in [Config]; the
// [Host] of each instance calls it with the instance's group. Methods may
// be called from any goroutine, concurrently for different groups, and
// each takes the ctx of the plugin call that asked.
//
// Reply is the required core. Each further action is an optional
// capability, a small interface embedding Actions found by type assertion
// ([Reactor], [MessageDeleter], [MemberRemover]); without it the [Host]
// method returns a *[commands.NotSupportedError].
//
// Errors that say why the group refused (a
// *[mlsbridge/policy.DeniedError] when the group's policies don't let the
// bot act) are returned to the plugin unchanged, so it can branch on them.
type Actions interface {
	// Reply sends text to group g; as a reply to message to when to is
	// not empty.
	Reply(ctx context.Context, g GroupID, to commands.MessageID, text string) error
}

// Reactor can react to messages.
type Reactor interface {
	Actions
	// React adds the emoji reaction to message to in group g.
	React(ctx context.Context, g GroupID, to commands.MessageID, emoji string) error
}

// MessageDeleter can delete messages (xmtp-groups §8).
type MessageDeleter interface {
	Actions
	// DeleteMessage deletes message id of group g for everyone.
	DeleteMessage(ctx context.Context, g GroupID, id commands.MessageID) error
}

// MemberRemover can remove members from a group.
type MemberRemover interface {
	Actions
	// RemoveMembers removes the members from group g in one commit. It
	// returns a *[mlsbridge/policy.DeniedError] when the group's policies
	// don't let the bot remove them.
	RemoveMembers(ctx context.Context, g GroupID, members []InboxID) error
}

// Setting is one plugin's state in one group, as a [SettingsStore] keeps
// it.
type Setting struct {
	// Plugin is the plugin's ID.
	Plugin ID
	// Enabled reports whether the plugin runs in the group.
	Enabled bool
	// Config is the plugin's config, raw JSON as the plugin decodes it:
	// a JSON object, or empty (or null) for the zero config, which means
	// each plugin's documented defaults.
	Config json.RawMessage
}

// SettingsStore persists plugin settings per group. The bot backs it with
// storage; [Manager] reads a group's settings once, when it loads the
// group, and writes one setting each time an admin changes it. Methods
// are called from any goroutine.
//
// A plugin with no setting in a group is disabled there, with the zero
// config. Settings of plugins that are not compiled in are kept, ignored
// and logged.
type SettingsStore interface {
	// PluginSettings returns every stored setting of group g, in any
	// order; none is not an error.
	PluginSettings(ctx context.Context, g GroupID) ([]Setting, error)
	// SavePluginSetting stores s for group g, replacing the setting of
	// the same plugin.
	SavePluginSetting(ctx context.Context, g GroupID, s Setting) error
}

// DataStore persists plugins' key-value data, scoped by group and plugin.
// It backs [KV]. Methods are called from any goroutine.
type DataStore interface {
	// PluginData returns the value of key; ok is false when there is
	// none.
	PluginData(ctx context.Context, g GroupID, plugin ID, key string) (value []byte, ok bool, err error)
	// SetPluginData stores value under key, replacing any old value.
	SetPluginData(ctx context.Context, g GroupID, plugin ID, key string, value []byte) error
	// DeletePluginData removes key; removing a missing key is not an
	// error.
	DeletePluginData(ctx context.Context, g GroupID, plugin ID, key string) error
}

// Clock is the manager's time source: plugins read it through
// [Host.Now] and schedule on it through [Host.Schedule]. Tests inject a
// manual clock; nil in [Config] means the system clock.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f on its own goroutine once d has passed, unless
	// stop is called first; stop reports whether it stopped the call.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// systemClock is the Clock of time.Now and time.AfterFunc.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
