package bot

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"mlsbridge/client"
	"mlsbridge/commands"
	"mlsbridge/identity"
	"mlsbridge/plugins"
)

// Compile-time checks of the plugin host capabilities the bot offers.
var (
	_ plugins.Reactor        = pluginActions{}
	_ plugins.MessageDeleter = pluginActions{}
	_ plugins.MemberRemover  = pluginActions{}
)

// pluginActions is how plugins act: the plugin manager's [plugins.Actions]
// for every group. Its methods run on the calling plugin's goroutine (a
// conversation's, or a scheduled func's timer goroutine) and go straight to
// the client, which serializes each group's changes itself.
type pluginActions struct{ b *Bot }

// group returns the client's handle on g.
func (p pluginActions) group(ctx context.Context, g plugins.GroupID) (*client.Group, error) {
	id, err := hex.DecodeString(string(g))
	if err != nil {
		return nil, fmt.Errorf("bot: plugin group id %q: %w", g, err)
	}
	return p.b.client.Group(ctx, id)
}

// Reply sends text to group g as a plain text message, like the bot's
// command replies (every client shows text; to is not referenced).
func (p pluginActions) Reply(ctx context.Context, g plugins.GroupID, _ commands.MessageID, text string) error {
	grp, err := p.group(ctx, g)
	if err != nil {
		return err
	}
	if _, err := grp.SendText(ctx, text); err != nil {
		return fmt.Errorf("bot: plugin reply: %w", err)
	}
	p.b.metrics.messagesOut.Add(1)
	p.b.pluginAction(ctx, "reply")
	return nil
}

// React adds a reaction to message to of group g.
func (p pluginActions) React(ctx context.Context, g plugins.GroupID, to commands.MessageID, emoji string) error {
	grp, err := p.group(ctx, g)
	if err != nil {
		return err
	}
	return p.b.react(ctx, grp, to, emoji)
}

// DeleteMessage deletes message id of group g for everyone.
func (p pluginActions) DeleteMessage(ctx context.Context, g plugins.GroupID, id commands.MessageID) error {
	grp, err := p.group(ctx, g)
	if err != nil {
		return err
	}
	return p.b.deleteMessage(ctx, grp, id)
}

// RemoveMembers removes the members from group g in one commit.
func (p pluginActions) RemoveMembers(ctx context.Context, g plugins.GroupID, members []plugins.InboxID) error {
	grp, err := p.group(ctx, g)
	if err != nil {
		return err
	}
	ids := make([]identity.InboxID, len(members))
	for i, m := range members {
		ids[i] = identity.InboxID(m)
	}
	if _, err := grp.RemoveMembers(ctx, ids); err != nil {
		return err
	}
	p.b.pluginAction(ctx, "remove")
	return nil
}

// react sends a reaction through the client.
func (b *Bot) react(ctx context.Context, g *client.Group, to commands.MessageID, emoji string) error {
	id := hexMessageID(string(to))
	if id == nil {
		return fmt.Errorf("bot: react: bad message id %q", to)
	}
	var author string
	if m, err := b.client.FindMessage(ctx, id); err == nil {
		author = string(m.SenderInboxID)
	}
	_, err := g.SendReaction(ctx, &client.Reaction{Reference: string(to), ReferenceInboxID: author,
		Action: client.ReactionAdded, Content: emoji, Schema: client.SchemaUnicode})
	if err != nil {
		return fmt.Errorf("bot: react: %w", err)
	}
	b.pluginAction(ctx, "react")
	return nil
}

// deleteMessage deletes a message through the client. The
// client's refusals become replies that say why.
func (b *Bot) deleteMessage(ctx context.Context, g *client.Group, id commands.MessageID) error {
	mid := hexMessageID(string(id))
	if mid == nil {
		return fmt.Errorf("bot: delete: bad message id %q", id)
	}
	_, err := g.DeleteMessage(ctx, mid)
	switch {
	case err == nil:
		b.pluginAction(ctx, "delete")
		return nil
	case errors.Is(err, client.ErrDeleteNotAuthorized):
		return commands.NewUserError("I can't delete that message: only its sender or a super admin can, and I'm not a super admin here.", err)
	case errors.Is(err, client.ErrMessageNotDeletable):
		return commands.NewUserError("That kind of message can't be deleted.", err)
	case errors.Is(err, client.ErrMessageAlreadyDeleted):
		return commands.NewUserError("That message is already deleted.", err)
	case errors.Is(err, client.ErrMessageNotFound):
		return commands.NewUserError("I don't have that message.", err)
	}
	return fmt.Errorf("bot: delete message: %w", err)
}

// pluginEvent converts a bot event into the plugins' event, and false for
// events plugins do not get (the bot's own, joins, empty lists).
func (b *Bot) pluginEvent(ev *Event) (plugins.Event, bool) {
	if ev.FromSelf && ev.Type == EventMessage {
		return nil, false
	}
	switch ev.Type {
	case EventMessage:
		m := plugins.Message{ID: commands.MessageID(ev.MessageID()), Sender: plugins.InboxID(ev.Sender),
			SenderRole: ev.SenderRole, ContentType: plugins.ContentType(ev.ContentType.String()),
			DM: ev.Conversation.IsDM(), Time: ev.Time}
		if sameType(ev.ContentType, client.ContentTypeText) {
			m.Text = ev.Text
		}
		return m, true
	case EventMembersAdded:
		ms := b.pluginInboxes(ev.Members)
		return plugins.MembersAdded{Members: ms, By: plugins.InboxID(ev.Sender), Time: ev.Time}, len(ms) > 0
	case EventMembersRemoved:
		ms := b.pluginInboxes(ev.Members)
		return plugins.MembersRemoved{Members: ms, By: plugins.InboxID(ev.Sender), Time: ev.Time}, len(ms) > 0
	case EventMetadataChanged:
		return plugins.MetadataChanged{Change: ev.Metadata, By: plugins.InboxID(ev.Sender), Time: ev.Time}, true
	case EventLeaveRequested:
		return plugins.LeaveRequested{Members: b.pluginInboxes(ev.Members), Time: ev.Time}, true
	}
	return nil, false
}

// pluginInboxes converts ids, leaving out the bot's own inbox.
func (b *Bot) pluginInboxes(ids []identity.InboxID) []plugins.InboxID {
	var out []plugins.InboxID
	for _, id := range ids {
		if id != b.self {
			out = append(out, plugins.InboxID(id))
		}
	}
	return out
}
