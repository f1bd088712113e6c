// Package plugins is the compile-time plugin registry, the narrow host API
// that plugins receive, and the [Manager] that hosts plugin instances per
// group. The built-in moderation plugins live in subfolders and register
// themselves in init; import mlsbridge/plugins/standard for all of them.
//
// # Registry
//
// A plugin package calls [Register] from init with an [Info]: a namespaced
// [ID] such as "moderation.wordfilter" and a side-effect-free constructor.
// A bad or repeated ID panics at init (programmer error, as in caddy).
// [List] returns every registered plugin.
//
// # Instances and lifecycle
//
// The [Manager] builds one instance of each enabled plugin per group. An
// instance is built by calling Info.New, decoding the group's raw JSON
// config into the returned value (strictly: an unknown key is an error),
// then calling the optional hooks found by type assertion: [Provisioner]
// (derive state, apply defaults), [Validator] (check the config), [Starter]
// (begin, with its [Host]) and, when it goes away, [Stopper]. Every
// [Plugin] handles events ([Message], [MembersAdded], [MembersRemoved],
// [MetadataChanged], [LeaveRequested], [Violation]) and may add chat
// commands ([CommandProvider]).
//
// Calls into one instance never overlap: events, scheduled funcs and
// command handlers of one instance are serialized, so a plugin needs no
// locks of its own. A panic in any plugin call is recovered at the
// boundary and logged; an error or panic in one plugin never stops the
// others from seeing the event.
//
// # Host
//
// A plugin acts only through its [*Host]: reply, react, delete a message,
// remove members, schedule a func, report a violation, scoped key-value
// storage, the clock and a logger carrying "plugin" and "group_id". The
// host reaches the bot through the small [Actions] interface the bot
// implements; plugins never see the bot.
//
// # Settings
//
// Per-group enablement and config are [Setting] values persisted through a
// [SettingsStore] that the bot backs with storage; plugin data goes through
// a [DataStore]. Config arrives raw, keyed by plugin ID, and the plugin's
// own types decode and validate it.
//
// plugins imports commands, policy and the standard library (STYLE.md §1
// also allows client types; none are needed). It must not import bot or
// anything above it, and it knows nothing of XMTP's wire formats: the bot
// converts IDs and content at its edge ([GroupID], [InboxID],
// [ContentType]).
package plugins
