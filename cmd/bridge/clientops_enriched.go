package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"mlsbridge/client"
	"mlsbridge/wire/content"
)

// The reaction, reply, enriched-view, deletion and leave ops of `bridge
// client`, with libxmtp-peer.mjs's fields and results.

func init() {
	registerClientOps(map[string]opFunc{
		"sendReaction": opSendReaction, "sendReply": opSendReply, "enriched": opEnriched,
		"deleteMessage": opDeleteMessage, "deleteLocalMessage": opDeleteLocalMessage, "leaveGroup": opLeaveGroup,
	})
}

// enrichedArgs are the fields of these ops that the shared command struct
// lacks.
type enrichedArgs struct {
	MessageID        string  `json:"messageId"`
	Emoji            *string `json:"emoji"`
	Action           *string `json:"action"`
	Schema           *string `json:"schema"`
	ReferenceInboxID *string `json:"referenceInboxId"`
	Force            bool    `json:"force"`
}

// Reaction actions and schemas by the peer's names (ReactionAction and
// ReactionSchema numbers as indexes).
var (
	reactionActionNames = []string{"unknown", "added", "removed"}
	reactionSchemaNames = []string{"unknown", "unicode", "shortcode", "custom"}
)

func nameAt(names []string, i int) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return "unknown"
}

// peerEnum maps a peer name to its index in names (skipping "unknown"),
// with the peer's error for other names.
func peerEnum(names []string, v *string, def, what string) (int, error) {
	name := def
	if v != nil {
		name = *v
	}
	for i, n := range names {
		if i > 0 && n == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown %s %q", what, name)
}

// enrichedTarget decodes the command's messageId and the group's client,
// group and extra fields.
func enrichedTarget(ctx context.Context, s *clientSession, cmd *command) (*sessionClient, *client.Group, *enrichedArgs, client.MessageID, error) {
	var a enrichedArgs
	if err := cmd.decode(&a); err != nil {
		return nil, nil, nil, nil, err
	}
	sc, g, err := s.peerGroup(ctx, cmd)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if a.MessageID == "" {
		return nil, nil, nil, nil, errors.New(`missing "messageId"`)
	}
	id, err := hex.DecodeString(a.MessageID)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("messageId %q: not a hex message id", a.MessageID)
	}
	return sc, g, &a, id, nil
}

// referenceInbox is the peer's default referenceInboxId: the target's
// sender from the local database, "" when unknown.
func referenceInbox(ctx context.Context, sc *sessionClient, a *enrichedArgs, id client.MessageID) string {
	if a.ReferenceInboxID != nil {
		return *a.ReferenceInboxID
	}
	m, err := sc.c.FindMessage(ctx, id)
	if err != nil {
		return ""
	}
	return string(m.SenderInboxID)
}

func opSendReaction(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, g, a, id, err := enrichedTarget(ctx, s, cmd)
	if err != nil {
		return nil, err
	}
	if a.Emoji == nil {
		return nil, errors.New(`missing "emoji"`)
	}
	action, err := peerEnum(reactionActionNames, a.Action, "added", "reaction action")
	if err != nil {
		return nil, err
	}
	schema, err := peerEnum(reactionSchemaNames, a.Schema, "unicode", "reaction schema")
	if err != nil {
		return nil, err
	}
	mid, err := g.SendReaction(ctx, &client.Reaction{Reference: a.MessageID, ReferenceInboxID: referenceInbox(ctx, sc, a, id),
		Action: client.ReactionAction(action), Content: *a.Emoji, Schema: client.ReactionSchema(schema)})
	if err != nil {
		return nil, err
	}
	return obj{{"messageId", mid.String()}}, nil
}

func opSendReply(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, g, a, id, err := enrichedTarget(ctx, s, cmd)
	if err != nil {
		return nil, err
	}
	text := ""
	if cmd.Text != nil {
		text = *cmd.Text
	}
	mid, err := g.SendReply(ctx, &client.Reply{Reference: a.MessageID, ReferenceInboxID: referenceInbox(ctx, sc, a, id),
		Content: client.EncodeText(text)})
	if err != nil {
		return nil, err
	}
	return obj{{"messageId", mid.String()}}, nil
}

func opDeleteMessage(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, g, a, id, err := enrichedTarget(ctx, s, cmd)
	if err != nil {
		return nil, err
	}
	var mid client.MessageID
	if a.Force {
		// As the peer's force: send the deletion without the sender-side
		// checks (and without recording it here).
		ec, err := client.DeleteMessageCodec{}.Encode(&client.DeleteMessage{MessageID: a.MessageID})
		if err != nil {
			return nil, err
		}
		mid, err = g.Send(ctx, ec, &client.SendOptions{NoPush: true})
		if err != nil {
			return nil, err
		}
	} else if mid, err = deleteChecked(ctx, sc, g, a.MessageID, id); err != nil {
		return nil, err
	}
	return obj{{"messageId", mid.String()}, {"reference", a.MessageID}}, nil
}

// deleteChecked is client.DeleteMessage with the peer driver's refusals:
// its texts, and "not found" for another group's message (libxmtp's core
// says "not authorized" there).
func deleteChecked(ctx context.Context, sc *sessionClient, g *client.Group, hexID string, id client.MessageID) (client.MessageID, error) {
	if m, err := sc.c.FindMessage(ctx, id); errors.Is(err, client.ErrMessageNotFound) || (err == nil && m.GroupID.String() != g.ID().String()) {
		return nil, fmt.Errorf("deleteMessage: message %s not found in this group", hexID)
	}
	mid, err := g.DeleteMessage(ctx, id)
	switch {
	case errors.Is(err, client.ErrMessageAlreadyDeleted):
		return nil, errors.New("deleteMessage: message already deleted")
	case errors.Is(err, client.ErrDeleteNotAuthorized):
		return nil, errors.New("deleteMessage: not authorized (only the sender or a super admin may delete a message)")
	case errors.Is(err, client.ErrMessageNotDeletable):
		return nil, errors.New("deleteMessage: message is not deletable")
	}
	return mid, err
}

func opDeleteLocalMessage(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	var a enrichedArgs
	if err := cmd.decode(&a); err != nil {
		return nil, err
	}
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	if a.MessageID == "" {
		return nil, errors.New(`missing "messageId"`)
	}
	id, err := hex.DecodeString(a.MessageID)
	if err != nil {
		return nil, fmt.Errorf("messageId %q: not a hex message id", a.MessageID)
	}
	n, err := sc.c.DeleteLocalMessage(ctx, id)
	if err != nil {
		return nil, err
	}
	return obj{{"deleted", n}}, nil
}

func opLeaveGroup(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	_, g, err := s.peerGroup(ctx, cmd)
	if err != nil {
		return nil, err
	}
	if err := g.LeaveGroup(ctx); err != nil {
		return nil, err
	}
	info, err := g.Info(ctx)
	if err != nil {
		return nil, err
	}
	var state any
	if n, ok := membershipStates[info.MembershipState]; ok {
		state = n
	}
	return obj{{"membershipState", state}, {"isActive", info.Active}}, nil
}

// peerContentTypes maps the peer's content-type filter names to type ids
// ("custom", every type without a codec, cannot be expressed as a list).
var peerContentTypes = map[string]string{
	"text": "text", "markdown": "markdown", "reply": "reply", "reaction": "reaction", "readReceipt": "readReceipt",
	"attachment": "attachment", "remoteAttachment": "remoteStaticAttachment", "multiRemoteAttachment": "multiRemoteStaticAttachment",
	"transactionReference": "transactionReference", "walletSendCalls": "walletSendCalls", "actions": "actions", "intent": "intent",
	"leaveRequest": "leave_request", "groupUpdated": "group_updated", "groupMembershipChange": "group_membership_change",
}

// contentTypeFilters returns the type ids of the command's contentTypes
// and excludeContentTypes (nil when absent).
func contentTypeFilters(cmd *command) (types, excluded []string, err error) {
	if types, err = typeIDsOf(cmd.ContentTypes); err != nil {
		return nil, nil, err
	}
	excluded, err = typeIDsOf(cmd.ExcludeContentTypes)
	return types, excluded, err
}

func typeIDsOf(names []string) ([]string, error) {
	if names == nil {
		return nil, nil
	}
	out := []string{}
	for _, n := range names {
		id, ok := peerContentTypes[n]
		if !ok {
			return nil, fmt.Errorf("content type filter %q is not supported by the Go client", n)
		}
		out = append(out, id)
	}
	return out, nil
}

func opEnriched(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	_, g, err := s.syncedGroup(ctx, cmd, true)
	if err != nil {
		return nil, err
	}
	q, err := messageQuery(cmd)
	if err != nil {
		return nil, err
	}
	ms, err := g.FindEnrichedMessages(ctx, q)
	if err != nil {
		return nil, err
	}
	out := []obj{}
	for i := range ms {
		if cmd.All || ms[i].Kind == client.KindApplication {
			out = append(out, enrichedJSON(&ms[i], 0))
		}
	}
	return obj{{"messages", out}}, nil
}

// enrichedType is the node bindings' DecodedMessageContentType name with a
// lowercase first letter, as the peer prints it.
func enrichedType(m *client.EnrichedMessage) string {
	switch m.Content.(type) {
	case string:
		return "text"
	case client.Markdown:
		return "markdown"
	case *client.EnrichedReply:
		return "reply"
	case *client.Reaction:
		return "reaction"
	case client.ReadReceipt:
		return "readReceipt"
	case *client.LeaveRequest:
		return "leaveRequest"
	case *client.DeletedMessage:
		return "deletedMessage"
	case *content.GroupUpdated:
		return "groupUpdated"
	default:
		return "custom"
	}
}

// enrichedJSON is a message as the peer's enrichedJSON prints it; depth 1
// (the message a reply answers) leaves out reactions and replies.
func enrichedJSON(m *client.EnrichedMessage, depth int) obj {
	base := messageOf(&m.Message)
	o := obj{{"id", base.ID}, {"group", base.Group}, {"sender", base.Sender}, {"sentAtNs", base.SentAtNs}, {"kind", base.Kind},
		{"deliveryStatus", base.DeliveryStatus}, {"contentType", m.ContentType.String()}, {"type", enrichedType(m)},
		{"deleted", m.Deleted()}, {"expiresAtNs", expiresAtNs(m.ExpireAtNs)}}
	if text, ok := m.Text(); ok {
		if _, reply := m.Content.(*client.EnrichedReply); !reply {
			o = append(o, kv{"text", text})
		}
	}
	if m.Fallback != "" {
		o = append(o, kv{"fallback", m.Fallback})
	}
	switch v := m.Content.(type) {
	case *client.DeletedMessage:
		if v.DeletedBy == client.DeletedByAdmin {
			o = append(o, kv{"deletedBy", "admin"}, kv{"deletedByInbox", string(v.AdminInboxID)})
		} else {
			o = append(o, kv{"deletedBy", "sender"}, kv{"deletedByInbox", string(m.SenderInboxID)})
		}
	case *client.Reaction:
		o = append(o, reactionFields(v)...)
	case *client.EnrichedReply:
		o = append(o, kv{"reference", v.Reference})
		if text, ok := m.Text(); ok {
			o = append(o, kv{"text", text})
		}
		var irt any
		if v.InReplyTo != nil && depth < 1 {
			var t any
			if s, ok := v.InReplyTo.Content.(string); ok {
				t = s
			}
			irt = obj{{"id", v.InReplyTo.ID.String()}, {"sender", string(v.InReplyTo.SenderInboxID)}, {"text", t},
				{"deleted", v.InReplyTo.Deleted()}}
		}
		o = append(o, kv{"inReplyTo", irt})
	case *content.GroupUpdated:
		o = append(o, kv{"groupUpdated", groupUpdatedJSON(v)})
	}
	if depth < 1 {
		rs := []obj{}
		for i := range m.Reactions {
			r := &m.Reactions[i]
			e := obj{{"id", r.ID.String()}, {"sender", string(r.SenderInboxID)}}
			if rv, ok := r.Content.(*client.Reaction); ok {
				e = append(e, kv{"action", nameAt(reactionActionNames, int(rv.Action))}, kv{"content", rv.Content},
					kv{"schema", nameAt(reactionSchemaNames, int(rv.Schema))})
			} else {
				e = append(e, kv{"action", "unknown"}, kv{"content", nil}, kv{"schema", "unknown"})
			}
			rs = append(rs, e)
		}
		o = append(o, kv{"reactions", rs}, kv{"numReplies", m.NumReplies})
	}
	return o
}

func reactionFields(r *client.Reaction) obj {
	return obj{{"reference", r.Reference}, {"referenceInboxId", r.ReferenceInboxID},
		{"action", nameAt(reactionActionNames, int(r.Action))}, {"content", r.Content},
		{"schema", nameAt(reactionSchemaNames, int(r.Schema))}}
}

func groupUpdatedJSON(gu *content.GroupUpdated) obj {
	ids := func(l []*content.GroupUpdated_Inbox) []string {
		out := []string{}
		for _, in := range l {
			out = append(out, in.GetInboxId())
		}
		return out
	}
	changes := []obj{}
	for _, c := range gu.GetMetadataFieldChanges() {
		var oldV, newV any
		if c.OldValue != nil {
			oldV = c.GetOldValue()
		}
		if c.NewValue != nil {
			newV = c.GetNewValue()
		}
		changes = append(changes, obj{{"field", c.GetFieldName()}, {"oldValue", oldV}, {"newValue", newV}})
	}
	return obj{{"initiatedBy", gu.GetInitiatedByInboxId()}, {"added", ids(gu.GetAddedInboxes())},
		{"removed", ids(gu.GetRemovedInboxes())}, {"left", ids(gu.GetLeftInboxes())},
		{"addedAdmins", ids(gu.GetAddedAdminInboxes())}, {"removedAdmins", ids(gu.GetRemovedAdminInboxes())},
		{"addedSuperAdmins", ids(gu.GetAddedSuperAdminInboxes())}, {"removedSuperAdmins", ids(gu.GetRemovedSuperAdminInboxes())},
		{"metadataChanges", changes}}
}

// decodedMessageFields adds to a "messages" entry the fields the peer
// decodes for reactions, replies and deletions (its decodedFields: exactly
// these four types, minor version 0), decoded by the client's codecs.
func decodedMessageFields(o *messageJSON, ec *content.EncodedContent) {
	str := func(s string) *string { return &s }
	t := client.ContentTypeID{AuthorityID: ec.GetType().GetAuthorityId(), TypeID: ec.GetType().GetTypeId(),
		VersionMajor: ec.GetType().GetVersionMajor(), VersionMinor: ec.GetType().GetVersionMinor()}
	switch t {
	case client.ContentTypeReaction, client.ContentTypeLegacyReaction, client.ContentTypeReply, client.ContentTypeDeleteMessage:
	default:
		return
	}
	v, err := client.StandardCodecs().Decode(ec)
	if err != nil {
		o.DecodeError = str(err.Error())
		return
	}
	switch d := v.(type) {
	case *client.Reaction:
		o.Reference, o.ReferenceInboxID = str(d.Reference), str(d.ReferenceInboxID)
		o.Action, o.ReactionContent = str(nameAt(reactionActionNames, int(d.Action))), str(d.Content)
		o.Schema = str(nameAt(reactionSchemaNames, int(d.Schema)))
	case *client.Reply:
		o.Reference, o.ReferenceInboxID = str(d.Reference), str(d.ReferenceInboxID)
		if d.Content.GetType() != nil {
			it := d.Content.GetType()
			o.ReplyContentType = str(it.GetAuthorityId() + "/" + it.GetTypeId() + ":" + strconv.FormatUint(uint64(it.GetVersionMajor()), 10) +
				"." + strconv.FormatUint(uint64(it.GetVersionMinor()), 10))
			if it.GetAuthorityId() == "xmtp.org" && (it.GetTypeId() == "text" || it.GetTypeId() == "markdown") && it.GetVersionMajor() == 1 &&
				it.GetVersionMinor() == 0 {
				o.Text = str(string(d.Content.GetContent()))
			}
		} else if ct, ok := ec.GetParameters()["contentType"]; ok {
			o.ReplyContentType = str(ct)
		}
	case *client.DeleteMessage:
		o.Reference = str(d.MessageID)
	}
}

// expiresAtNs is a message's expiry as the peer prints it: a decimal
// string, or null when the message never expires.
func expiresAtNs(ns int64) any {
	if ns == 0 {
		return nil
	}
	return strconv.FormatInt(ns, 10)
}
