package commands

import (
	"context"
	"time"

	"mlsbridge/policy"
)

// MessageID names a message of the group: the lowercase hex message id the
// client computes (xmtp-groups §5.2). The client mints it; commands only
// carries it, never parses it.
type MessageID string

// Message is what the caller (the bot) knows about a chat message it hands
// to [Dispatcher.Dispatch].
type Message struct {
	// Text is the message text as sent.
	Text string
	// ID is the message's own id; empty when unknown.
	ID MessageID
	// Sender is the member who sent it. Only Sender.Inbox is read: the
	// dispatcher takes the role from Group.Metadata, as the policy engine
	// does, so role requirements and policy checks agree.
	Sender policy.Participant
	// Group is the group's state when the message is handled: members,
	// admin lists and policies. Role requirements and group-policy checks
	// read it. The zero value is a group in which everyone is a member and
	// every policy denies.
	Group policy.GroupState
	// ReplyTo is the message this one replies to; nil when it is not a
	// reply.
	ReplyTo *Reference
}

// Reference is a message another message refers to.
type Reference struct {
	ID MessageID
	// Author is who sent the referenced message (Inbox only; Role unused).
	// Empty when unknown (the message has not arrived yet).
	Author policy.Participant
}

// Actions is what a handler uses to act in the group a command came from.
// The caller implements it, bound to that group and message, and passes it
// to [Dispatcher.Dispatch]; its methods are called from the dispatching
// goroutine only, and each takes the dispatch ctx first.
//
// Actions itself is the required core. Each further action is an optional
// capability: a small interface embedding Actions, found by type assertion
// ([Reactor], [MemberEditor], [AdminEditor], [SuperAdminEditor],
// [MetadataEditor], [PolicyEditor], [DisappearingEditor], [PendingRemover],
// [MessageDeleter], [Blocker], [PluginManager]). A built-in whose capability
// is missing replies that it is not supported.
//
// An error an action returns is shown in chat only through its UserMessage
// ([UserMessager]); a *[policy.DeniedError] (the bot's own change refused by
// the group's policies) is explained with its rule. Anything else is
// replied as an internal error and returned for the log.
type Actions interface {
	// Reply sends text to the group, as a reply to the command's message
	// where the implementation can.
	Reply(ctx context.Context, text string) error
}

// Reactor can react to messages.
type Reactor interface {
	Actions
	// React adds the emoji reaction to the message.
	React(ctx context.Context, to MessageID, emoji string) error
}

// MemberEditor can add and remove members. Addresses must be resolved to
// inboxes by the implementation.
type MemberEditor interface {
	Actions
	// AddMembers adds the members in one commit.
	AddMembers(ctx context.Context, members []Member) error
	// RemoveMembers removes the members in one commit.
	RemoveMembers(ctx context.Context, members []Member) error
}

// AdminEditor can add and remove admins.
type AdminEditor interface {
	Actions
	// AddAdmin puts m on the admin list.
	AddAdmin(ctx context.Context, m Member) error
	// RemoveAdmin takes m off the admin list.
	RemoveAdmin(ctx context.Context, m Member) error
}

// SuperAdminEditor can add and remove super admins.
type SuperAdminEditor interface {
	Actions
	// AddSuperAdmin puts m on the super-admin list.
	AddSuperAdmin(ctx context.Context, m Member) error
	// RemoveSuperAdmin takes m off the super-admin list.
	RemoveSuperAdmin(ctx context.Context, m Member) error
}

// MetadataEditor can change the group's mutable metadata.
type MetadataEditor interface {
	Actions
	// SetMetadata sets one attribute, such as [policy.FieldGroupName];
	// an empty value clears it.
	SetMetadata(ctx context.Context, field policy.MetadataField, value string) error
}

// PolicyEditor can change the group's permission policies.
type PolicyEditor interface {
	Actions
	// SetPermissionPolicy replaces one policy, as
	// [policy.UpdatePermissionPolicy] describes; field is set only with
	// [policy.UpdateMetadataField].
	SetPermissionPolicy(ctx context.Context, t policy.PermissionUpdateType, b policy.BasePolicy, field policy.MetadataField) error
}

// DisappearingEditor can set the group's disappearing-message setting.
type DisappearingEditor interface {
	Actions
	// SetDisappearing makes messages disappear after d; zero turns it off.
	SetDisappearing(ctx context.Context, d time.Duration) error
}

// PendingRemover handles the members who asked to leave (xmtp-groups §7).
type PendingRemover interface {
	Actions
	// PendingRemovals lists the members waiting to be removed.
	PendingRemovals(ctx context.Context) ([]Member, error)
	// RemovePendingRemovals removes them in one commit and reports how many
	// were removed.
	RemovePendingRemovals(ctx context.Context) (int, error)
}

// MessageDeleter can delete messages (xmtp-groups §8).
type MessageDeleter interface {
	Actions
	// DeleteMessage deletes the message for everyone (a DeleteMessage
	// content); the client enforces who may.
	DeleteMessage(ctx context.Context, id MessageID) error
}

// Blocker can block and unblock members: the bot ignores a blocked member's
// messages and commands (consent Denied, xmtp-groups §11).
type Blocker interface {
	Actions
	// Block sets m's consent to Denied.
	Block(ctx context.Context, m Member) error
	// Unblock sets m's consent back to Allowed.
	Unblock(ctx context.Context, m Member) error
}

// PluginInfo describes one plugin for "plugins list".
type PluginInfo struct {
	// ID is the plugin's namespaced id, as the plugin registry names it.
	ID string
	// Enabled reports whether the plugin is enabled in this group.
	Enabled bool
	// Summary is a one-line description; may be empty.
	Summary string
}

// PluginManager can list plugins and enable, disable and configure them in
// the group.
type PluginManager interface {
	Actions
	// Plugins lists the installed plugins with their state in this group.
	Plugins(ctx context.Context) ([]PluginInfo, error)
	// SetPluginEnabled turns the plugin on or off in this group.
	SetPluginEnabled(ctx context.Context, id string, enabled bool) error
	// PluginConfig returns the plugin's configuration in this group as
	// text for a person.
	PluginConfig(ctx context.Context, id string) (string, error)
	// SetPluginConfig sets one configuration key; the plugin decodes and
	// validates value and rejects a bad one with a [UserMessager] error.
	SetPluginConfig(ctx context.Context, id, key, value string) error
}

// capability returns inv.Actions as T, or a *NotSupportedError saying the
// bot cannot do action.
func capability[T Actions](inv *Invocation, action string) (T, error) {
	c, ok := inv.Actions.(T)
	if !ok {
		return c, &NotSupportedError{Action: action}
	}
	return c, nil
}
