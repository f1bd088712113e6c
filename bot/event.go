package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"mlsbridge/client"
	"mlsbridge/identity"
	"mlsbridge/policy"
)

// EventType says what an [Event] reports.
type EventType uint8

// Event types.
const (
	// EventMessage is an application message of any content type.
	EventMessage EventType = iota + 1
	// EventJoined: the bot starts serving a conversation (it was added and
	// the consent policy or an operator accepted it, or it was added
	// again).
	EventJoined
	// EventMembersAdded: members were added (Event.Members).
	EventMembersAdded
	// EventMembersRemoved: members were removed or left (Event.Members).
	EventMembersRemoved
	// EventMetadataChanged: attributes or admin lists changed
	// (Event.Metadata).
	EventMetadataChanged
	// EventLeaveRequested: the list of members who asked to leave and wait
	// to be removed changed, or was loaded (Event.Members holds all of
	// them; xmtp-groups §7).
	EventLeaveRequested
)

// String returns the type's snake_case name, as logs show it.
func (t EventType) String() string {
	switch t {
	case EventMessage:
		return "message"
	case EventJoined:
		return "joined"
	case EventMembersAdded:
		return "members_added"
	case EventMembersRemoved:
		return "members_removed"
	case EventMetadataChanged:
		return "metadata_changed"
	case EventLeaveRequested:
		return "leave_requested"
	}
	return fmt.Sprintf("EventType(%d)", uint8(t))
}

// sameType reports whether a and b name the same content type and major
// version (minor versions are compatible).
func sameType(a, b client.ContentTypeID) bool {
	return a.AuthorityID == b.AuthorityID && a.TypeID == b.TypeID && a.VersionMajor == b.VersionMajor
}

// Event is one thing that happened in a conversation the bot serves, as
// handlers receive it. Handlers must not modify it: the bot passes the same
// value to every handler.
type Event struct {
	Type EventType
	// Conversation is where it happened, with the group's state when the
	// event was handled.
	Conversation *Conversation
	// Time is when it happened: the node's time of the message or commit;
	// the plugins' clock (Config.PluginClock) for EventJoined and
	// EventLeaveRequested.
	Time time.Time
	// Sender is who sent the message or committed the change; for
	// EventJoined, who added the bot. Empty when unknown.
	Sender identity.InboxID
	// SenderRole is Sender's role from the group's admin lists when the
	// event was handled.
	SenderRole policy.Role
	// FromSelf reports an event the bot's own inbox caused (from any of
	// its installations).
	FromSelf bool
	// Message is the message (EventMessage) or the group-update record
	// (the change events) the event came from; nil otherwise.
	Message *client.Message
	// ContentType is Message's content type; zero when there is no
	// message.
	ContentType client.ContentTypeID
	// Text is the text of a text or markdown message, or of a reply whose
	// content is one; empty otherwise. It is plaintext: never log it.
	Text string
	// ReplyTo is the lowercase hex id of the message this one replies to;
	// empty when it is not a reply.
	ReplyTo string
	// Members are the inboxes added or removed (EventMembersAdded,
	// EventMembersRemoved) or waiting to be removed (EventLeaveRequested),
	// sorted.
	Members []identity.InboxID
	// Metadata is what changed (EventMetadataChanged).
	Metadata policy.MetadataChange
}

// Reply sends text to the event's conversation (as a plain text message)
// and returns its id.
func (e *Event) Reply(ctx context.Context, text string) (client.MessageID, error) {
	return e.Conversation.Send(ctx, text)
}

// MessageID returns the lowercase hex id of the event's message; empty
// when there is none.
func (e *Event) MessageID() string {
	if e.Message == nil {
		return ""
	}
	return e.Message.ID.String()
}

// Conversation is a group or DM the bot serves, as one event saw it.
type Conversation struct {
	b     *Bot
	group *client.Group
	info  *client.GroupInfo
}

// ID returns the conversation's group id.
func (c *Conversation) ID() client.GroupID { return c.info.ID }

// Group returns the client's handle on the conversation.
func (c *Conversation) Group() *client.Group { return c.group }

// Info returns the group's state when the event was handled. The caller
// must not modify it.
func (c *Conversation) Info() *client.GroupInfo { return c.info }

// IsDM reports whether the conversation is a DM.
func (c *Conversation) IsDM() bool { return len(c.info.DMMembers) == 2 }

// Role returns id's role from the group's admin lists.
func (c *Conversation) Role(id identity.InboxID) policy.Role {
	return roleOf(c.info, id)
}

// Send sends text to the conversation and returns its id. It blocks until
// the node has the message.
func (c *Conversation) Send(ctx context.Context, text string) (client.MessageID, error) {
	id, err := c.group.SendText(ctx, text)
	if err != nil {
		return nil, fmt.Errorf("bot: send: %w", err)
	}
	c.b.metrics.messagesOut.Add(1)
	c.b.log.Debug("message sent", "group_id", c.info.ID.String())
	return id, nil
}

// policyState returns the group as the policy engine and the command
// dispatcher read it.
func (c *Conversation) policyState() policy.GroupState {
	return groupState(c.info)
}

func groupState(info *client.GroupInfo) policy.GroupState {
	st := policy.GroupState{Type: policy.ConversationType(info.ConversationType), Policies: info.Permissions,
		Metadata: policy.Metadata{Attributes: map[policy.MetadataField]string{},
			Admins: slices.Clone(info.Admins), SuperAdmins: slices.Clone(info.SuperAdmins)}}
	if len(info.DMMembers) == 2 {
		st.DM = &policy.DMMembers{One: info.DMMembers[0], Two: info.DMMembers[1]}
	}
	for k, v := range info.Attributes {
		st.Metadata.Attributes[policy.MetadataField(k)] = v
	}
	for id := range info.Membership {
		st.Members = append(st.Members, id)
	}
	slices.Sort(st.Members)
	return st
}

func roleOf(info *client.GroupInfo, id identity.InboxID) policy.Role {
	switch {
	case slices.Contains(info.SuperAdmins, id):
		return policy.RoleSuperAdmin
	case slices.Contains(info.Admins, id):
		return policy.RoleAdmin
	}
	return policy.RoleMember
}

// isMember reports whether id is a member of the group.
func isMember(info *client.GroupInfo, id identity.InboxID) bool {
	_, ok := info.Membership[id]
	return ok
}

// messageEvent returns the event of an application message.
func (b *Bot) messageEvent(conv *Conversation, m *client.Message) *Event {
	ev := &Event{Type: EventMessage, Conversation: conv, Time: time.Unix(0, m.SentAtNs), Sender: m.SenderInboxID,
		SenderRole: conv.Role(m.SenderInboxID), FromSelf: m.SenderInboxID == b.self, Message: m, ContentType: m.ContentType}
	v, err := b.client.Codecs().DecodeMessage(m)
	if err != nil {
		return ev
	}
	if r, ok := v.(*client.Reply); ok {
		ev.ReplyTo = strings.ToLower(r.Reference)
		if !isHexID(ev.ReplyTo) {
			ev.ReplyTo = ""
		}
		if v, err = b.client.Codecs().Decode(r.Content); err != nil {
			return ev
		}
	}
	ev.Text = textOf(v)
	return ev
}

// textOf returns the text of decoded text or markdown content; empty for
// anything else.
func textOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case client.Markdown:
		return string(t)
	}
	return ""
}

// updateEvents returns the events of a group-update record, in the order
// members added, members removed, metadata changed; none when it cannot be
// decoded or changes nothing the bot reports.
func (b *Bot) updateEvents(conv *Conversation, m *client.Message) ([]*Event, error) {
	gu, err := m.GroupUpdated()
	if err != nil {
		return nil, err
	}
	by := identity.InboxID(gu.GetInitiatedByInboxId())
	base := Event{Conversation: conv, Time: time.Unix(0, m.SentAtNs), Sender: by, SenderRole: conv.Role(by),
		FromSelf: by == b.self, Message: m, ContentType: m.ContentType}
	var out []*Event
	add := func(t EventType, members []identity.InboxID, md policy.MetadataChange) {
		ev := base
		ev.Type, ev.Members, ev.Metadata = t, members, md
		out = append(out, &ev)
	}
	if ids := updateInboxes(gu.GetAddedInboxes()); len(ids) > 0 {
		add(EventMembersAdded, ids, policy.MetadataChange{})
	}
	if ids := updateInboxes(slices.Concat(gu.GetRemovedInboxes(), gu.GetLeftInboxes())); len(ids) > 0 {
		add(EventMembersRemoved, ids, policy.MetadataChange{})
	}
	md := policy.MetadataChange{AdminsAdded: updateInboxes(gu.GetAddedAdminInboxes()),
		AdminsRemoved:      updateInboxes(gu.GetRemovedAdminInboxes()),
		SuperAdminsAdded:   updateInboxes(gu.GetAddedSuperAdminInboxes()),
		SuperAdminsRemoved: updateInboxes(gu.GetRemovedSuperAdminInboxes())}
	for _, f := range gu.GetMetadataFieldChanges() {
		md.Fields = append(md.Fields, policy.FieldChange{Field: policy.MetadataField(f.GetFieldName()), Old: f.OldValue, New: f.NewValue})
	}
	if !md.IsEmpty() {
		add(EventMetadataChanged, nil, md)
	}
	return out, nil
}

// inboxHolder is what the GroupUpdated record's inbox entries have.
type inboxHolder interface{ GetInboxId() string }

// updateInboxes returns the inbox ids of a GroupUpdated list, sorted and
// each once; nil when empty.
func updateInboxes[T inboxHolder](list []T) []identity.InboxID {
	var out []identity.InboxID
	for _, x := range list {
		if id := identity.InboxID(x.GetInboxId()); id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// isHexID reports whether s is a 32-byte message id in lowercase hex.
func isHexID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
