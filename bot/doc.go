// Package bot is the bot runtime: it runs one XMTP installation
// (a *client.Client) as a chat bot, on top of client, commands, plugins
// and storage.
//
// # Lifecycle and goroutines
//
// [New] builds a [Bot] from a [Config]; [Bot.Use] and [Bot.Handle]
// register middleware and handlers; [Bot.Start] opens the client's streams
// (StreamAllMessages and StreamConversations) and [Bot.Stop] shuts down
// gracefully within its ctx. Two reader goroutines route what the streams
// deliver to one goroutine per conversation, behind a bounded queue (a full
// queue makes the stream wait; nothing is dropped). Each conversation's
// goroutine owns its state and handles its events one at a time. The bot
// owns and waits for every goroutine it starts; the plugin manager owns
// the plugins' scheduled funcs and waits for them in Stop.
//
// # Events
//
// A conversation's goroutine turns messages into [Event] values: an
// application message of any content type (text and text replies decoded),
// members added and removed, admin and metadata changes (from the
// GroupUpdated records the client builds after each commit), the bot
// joining, and leave requests (xmtp-groups §7: the whole list of members
// waiting to be removed, from the client's pending-removal list, whenever
// someone joins it and when the conversation is loaded). Each event goes,
// in order, to the plugins (as plugins
// events), to the command dispatcher (text messages starting with the
// command prefix) and to the handlers, each behind its own panic recovery.
// [Handler], [Middleware], [Filter] and the filters ([FromSelf],
// [WithContentType], [InDM], [InGroup], [SenderRoleAtLeast], [OfType])
// build handler chains; [Event.Reply] answers.
//
// # Consent
//
// When the bot is added to a conversation it applies [ConsentConfig]:
// serve everything, serve what listed inboxes started, or wait for an
// operator's !accept. The decision is stored (storage.BotDB) and mirrored
// in the client's consent records. !block and !unblock set a member's
// consent; the bot ignores the messages of blocked members.
//
// # Commands and plugins
//
// Commands go through a commands.Dispatcher whose tree holds the
// configured commands (the built-ins by default), the plugins' commands and
// the consent commands; the issuer's role comes from the group's admin
// lists, and group-policy checks from its permissions. The actions run
// against the client; the governance ones (admins, metadata, permissions,
// disappearing messages, deletion, reactions, pending removals) call
// *client.Group's methods. Replies are plain text
// messages. Plugins are hosted by a plugins.Manager whose settings and
// data the bot persists in its Store.
//
// # Durability
//
// The bot handles each message at least once and, short of a crash in
// the middle of an event, exactly once. After an event's handlers
// complete, the conversation's goroutine stores how far it has handled
// the conversation (the client's insertion time of the message and the
// ids stored at that time, storage.BotHandled). The client stores every
// message before its stream emits it, so on Start each conversation first
// replays the messages the client stored after that position (those that
// arrived while the bot was away, and those a killed process had queued
// or was handling), in order, then follows the live stream, skipping what
// the replay handled. An event cut short by the end of Stop's ctx or by a
// closed client is not marked, and its conversation handles nothing more,
// so a restart replays it and what follows. A conversation met for the
// first time is replayed from its join (the record of the bot's own
// joining excepted). Plugin settings and data live in the Store; plugins
// that schedule work keep their deadlines there and schedule them again
// when their group loads (moderation.strikes), or are told the pending
// state again (the leave requests, on every load).
//
// bot imports client, commands, plugins, storage, policy and identity
// (STYLE.md §1); it must not import wire, node or anything above it.
package bot
