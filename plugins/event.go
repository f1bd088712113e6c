package plugins

import (
	"time"

	"mlsbridge/commands"
	"mlsbridge/policy"
)

// Event is something that happened in a group, delivered to every enabled
// plugin of the group by [Manager.Handle]. The concrete types are
// [Message], [MembersAdded], [MembersRemoved], [MetadataChanged],
// [LeaveRequested] and [Violation]; only this package defines events.
// Plugins switch on the type and ignore the ones they do not know.
type Event interface {
	isEvent()
}

// ContentType names a message's content type as "authority/type:major.minor",
// the text client.ContentTypeID's String gives, such as "xmtp.org/text:1.0".
// Plugins compare it; they do not parse it.
type ContentType string

// ContentTypeText is the content type of text messages, version 1.0.
const ContentTypeText ContentType = "xmtp.org/text:1.0"

// Message is a message someone sent to the group. The bot delivers every
// message but its own.
type Message struct {
	// ID is the message's id; empty when unknown (then it cannot be
	// deleted, reacted to or replied to).
	ID commands.MessageID
	// Sender is the member who sent it.
	Sender InboxID
	// SenderRole is the sender's role in the group when the message was
	// handled.
	SenderRole policy.Role
	// ContentType is the message's content type.
	ContentType ContentType
	// Text is the text of a text message (of any minor version), and
	// empty for every other content type. It is plaintext: never log it.
	Text string
	// DM reports whether the group is a DM (a one-to-one conversation).
	DM bool
	// Time is when the node received it; the zero Time when unknown.
	Time time.Time
}

// MembersAdded reports members added to the group. Members never includes
// the bot itself.
type MembersAdded struct {
	// Members are the added inboxes, each once.
	Members []InboxID
	// By is the member who committed the change; empty when unknown.
	By InboxID
	// Time is when the change took effect.
	Time time.Time
}

// MembersRemoved reports members removed from the group, or who left.
type MembersRemoved struct {
	// Members are the removed inboxes, each once.
	Members []InboxID
	// By is the member who committed the change; empty when unknown.
	By InboxID
	// Time is when the change took effect.
	Time time.Time
}

// MetadataChanged reports a change of the group's mutable metadata:
// attributes (name, description, ...) and the admin lists.
type MetadataChanged struct {
	// Change is what changed; never empty.
	Change policy.MetadataChange
	// By is the member who committed the change; empty when unknown.
	By InboxID
	// Time is when the change took effect.
	Time time.Time
}

// LeaveRequested reports the members who asked to leave the group and are
// waiting for an admin to remove them (xmtp-groups §7). The bot reports the
// whole pending list whenever it changes and when a group is loaded, so a
// member may be reported more than once and a restart loses no request.
type LeaveRequested struct {
	// Members are the inboxes waiting to be removed, each once.
	Members []InboxID
	// Time is when the bot saw the list.
	Time time.Time
}

// Violation reports that a plugin found a member breaking a group rule
// (see [Host.Report]). It is delivered to the group's other enabled
// plugins, such as moderation.strikes, after the reporting call returns.
type Violation struct {
	// Plugin is the reporting plugin; the manager sets it.
	Plugin ID
	// Member is who broke the rule.
	Member InboxID
	// Message is the offending message; empty when there is none.
	Message commands.MessageID
	// Rule names the broken rule in a few words a person understands,
	// such as "blocked word" or "link to a host that isn't allowed". It
	// must not quote the message.
	Rule string
	// Time is when the violation happened.
	Time time.Time
}

func (Message) isEvent()         {}
func (MembersAdded) isEvent()    {}
func (MembersRemoved) isEvent()  {}
func (MetadataChanged) isEvent() {}
func (LeaveRequested) isEvent()  {}
func (Violation) isEvent()       {}
