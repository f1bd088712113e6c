package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"mlsbridge/identity"
	"mlsbridge/storage"
	"mlsbridge/wire/content"
)

// Leaving a group (xmtp-groups.md §7). A member cannot remove itself: it
// sends a leave request, every member records the sender in its local
// pending-removal list, and a super admin's client removes the pending
// inboxes with an ordinary removal commit. The commit's membership-change
// record then lists them as left_inboxes rather than removed_inboxes.

// Errors of LeaveGroup, with libxmtp's texts (GroupLeaveValidationError).
var (
	ErrLeaveNotMember    = errors.New("client: only a member of the group can send a leave request or retract a leave request")
	ErrLeaveSingleMember = errors.New("client: cannot leave a group that has only one member")
	ErrLeaveDM           = errors.New("client: cannot leave a DM conversation")
	ErrLeaveSuperAdmin   = errors.New("client: super-admin cannot leave a group; must be demoted first")
)

// LeaveGroup asks the group's super admins to remove us, as libxmtp's
// leave_group: it checks, in this order, that we are a member
// (ErrLeaveNotMember), that the group has more than one member
// (ErrLeaveSingleMember), that it is not a DM (ErrLeaveDM) and that we are
// not a super admin (ErrLeaveSuperAdmin: demote yourself first); then,
// unless we already asked, it sends an xmtp.org/leave_request:1.0 message
// (Send: published and synced). When the request comes back our membership
// state becomes MembershipPendingRemove; we stay an active member until a
// super admin's removal commit arrives.
func (g *Group) LeaveGroup(ctx context.Context) error {
	var refused error
	queued := false
	err := g.c.withGroup(ctx, g.id, func(ctx context.Context, st *groupState) error {
		info, err := g.c.groupInfo(st)
		if err != nil {
			return err
		}
		if refused = checkLeave(info, g.c.inbox); refused != nil {
			return nil
		}
		pending, err := g.c.db.PendingRemoves(ctx, g.id)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(pending, func(p storage.PendingRemove) bool { return p.InboxID == string(g.c.inbox) }) {
			return nil
		}
		// As Send: a paused group refuses before anything is stored.
		if !st.row.Active {
			return ErrInactiveGroup
		}
		if err := st.pausedErr(); err != nil {
			return err
		}
		ec, err := LeaveRequestCodec{}.Encode(&LeaveRequest{})
		if err != nil {
			return err
		}
		if _, err := g.SendMessageOptimistic(ctx, ec, &SendOptions{NoPush: !LeaveRequestCodec{}.ShouldPush()}); err != nil {
			return err
		}
		queued = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("leave group: %w", err)
	}
	if refused != nil || !queued {
		return refused
	}
	if err := g.PublishMessages(ctx); err != nil {
		return fmt.Errorf("leave group: %w", err)
	}
	return nil
}

// checkLeave applies leave_group's checks, in libxmtp's order.
func checkLeave(info *GroupInfo, self identity.InboxID) error {
	if _, ok := info.Membership[self]; !ok || !info.Active {
		return ErrLeaveNotMember
	}
	if len(info.Membership) == 1 {
		return ErrLeaveSingleMember
	}
	if info.ConversationType == content.ConversationType_CONVERSATION_TYPE_DM {
		return ErrLeaveDM
	}
	if slices.Contains(info.SuperAdmins, self) {
		return ErrLeaveSuperAdmin
	}
	return nil
}

// PendingRemovals returns the inboxes whose leave requests this client has
// seen in the group and that have not left yet, in the order they were
// recorded (no network I/O).
func (g *Group) PendingRemovals(ctx context.Context) ([]identity.InboxID, error) {
	rows, err := g.c.db.PendingRemoves(ctx, g.id)
	if err != nil {
		return nil, err
	}
	out := make([]identity.InboxID, len(rows))
	for i, r := range rows {
		out[i] = identity.InboxID(r.InboxID)
	}
	return out, nil
}

// HasPendingLeaveRequest reports whether we, as a super admin, have leave
// requests to act on in the group (libxmtp's has_pending_leave_request).
func (g *Group) HasPendingLeaveRequest(ctx context.Context) (bool, error) {
	ok, err := g.c.db.GroupPendingLeaveRequest(ctx, g.id)
	if errors.Is(err, storage.ErrNotFound) {
		return false, ErrGroupNotFound
	}
	return ok, err
}

// RemoveMembersPendingRemoval removes, in one ordinary removal commit (see
// RemoveMembers), every inbox of the pending-removal list that is still a
// member. As in libxmtp only a super admin acts: for anyone else, or with
// an empty list, it does nothing and returns an empty result.
func (g *Group) RemoveMembersPendingRemoval(ctx context.Context) (*AddResult, error) {
	pending, err := g.PendingRemovals(ctx)
	if err != nil || len(pending) == 0 {
		return &AddResult{}, err
	}
	var res *AddResult
	err = g.c.withGroup(ctx, g.id, func(ctx context.Context, st *groupState) error {
		ext, err := parseGroupExtensions(st.mls.Extensions())
		if err != nil {
			return err
		}
		if !slices.Contains(ext.Mutable.GetSuperAdminList().GetInboxIds(), string(g.c.inbox)) {
			g.c.log.Debug("not a super admin; pending removals left to others", "group_id", g.id.String())
			res = &AddResult{}
			return nil
		}
		var remove []identity.InboxID
		for _, in := range pending {
			if _, ok := ext.Membership.GetMembers()[string(in)]; ok {
				remove = append(remove, in)
			}
		}
		if len(remove) == 0 {
			g.c.log.Warn("no pending removal is a member", "group_id", g.id.String(), "pending", len(pending))
			res = &AddResult{}
			return nil
		}
		for _, in := range remove {
			if !in.Valid() {
				return fmt.Errorf("remove members: %w: inbox id %q", ErrInvalidArgument, in)
			}
		}
		if res, err = g.c.changeMembership(ctx, st, nil, remove); err != nil {
			return fmt.Errorf("remove members: %w", err)
		}
		g.c.log.Info("pending members removed", "group_id", g.id.String(), "removed", len(remove))
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("remove pending members: %w", err)
	}
	return res, nil
}

// CleanupPendingRemovalList drops from the pending-removal list the inboxes
// that are no longer members and clears the group's pending-leave flag
// once the list is empty. It runs on the group's goroutine: a sync that
// records a new leave request (and sets the flag) cannot fall between
// reading the list and clearing the flag.
func (g *Group) CleanupPendingRemovalList(ctx context.Context) error {
	err := g.c.withGroup(ctx, g.id, func(ctx context.Context, st *groupState) error {
		pending, err := g.c.db.PendingRemoves(ctx, g.id)
		if err != nil {
			return err
		}
		if len(pending) > 0 {
			ext, err := parseGroupExtensions(st.mls.Extensions())
			if err != nil {
				return fmt.Errorf("%w: our own group: %w", ErrInternal, err)
			}
			members := ext.Membership.GetMembers()
			var gone []string
			for _, p := range pending {
				if _, ok := members[p.InboxID]; !ok {
					gone = append(gone, p.InboxID)
				}
			}
			if err := g.c.db.DeletePendingRemoves(ctx, g.id, gone); err != nil {
				return err
			}
			if len(gone) < len(pending) {
				return nil
			}
		}
		return g.c.db.SetGroupPendingLeaveRequest(ctx, g.id, false)
	})
	if err != nil {
		return fmt.Errorf("clean up pending removals: %w", err)
	}
	return nil
}

// ProcessPendingLeaveRequests does, for every group flagged as having leave
// requests for us to act on, what libxmtp's pending-self-remove worker
// does: RemoveMembersPendingRemoval, then CleanupPendingRemovalList. Call
// it periodically (libxmtp runs it every second); a group that fails does
// not stop the others, and the failures are returned joined.
func (c *Client) ProcessPendingLeaveRequests(ctx context.Context) error {
	ids, err := c.db.GroupsWithPendingLeaveRequest(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		g := &Group{c: c, id: id}
		if _, err := g.RemoveMembersPendingRemoval(ctx); err != nil {
			errs = append(errs, fmt.Errorf("group %s: %w", g.id, err))
			continue
		}
		if err := g.CleanupPendingRemovalList(ctx); err != nil {
			errs = append(errs, fmt.Errorf("group %s: %w", g.id, err))
		}
	}
	return errors.Join(errs...)
}

// pendingSet is the group's pending-removal list as of the message being
// processed: the stored list with the batch's changes (p) applied.
func (c *Client) pendingSet(ctx context.Context, st *groupState, p *storage.GroupProgress) (map[string]bool, error) {
	rows, err := c.db.PendingRemoves(ctx, st.row.GroupID)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, r := range rows {
		if !slices.Contains(p.PendingRemoveDone, r.InboxID) {
			set[r.InboxID] = true
		}
	}
	for _, r := range p.PendingRemoves {
		set[r.InboxID] = true
	}
	return set, nil
}

// isSuperAdminNow reports whether inbox is a super admin in the group's
// current epoch.
func isSuperAdminNow(st *groupState, inbox string) (bool, error) {
	ext, err := parseGroupExtensions(st.mls.Extensions())
	if err != nil {
		return false, fmt.Errorf("%w: our own group: %w", ErrInternal, err)
	}
	return slices.Contains(ext.Mutable.GetSuperAdminList().GetInboxIds(), inbox), nil
}

// processLeaveRequest records a leave request, ours or another member's
// (libxmtp's process_leave_request_message): our own puts us in
// MembershipPendingRemove; the sender joins the pending-removal list; and
// if we are a super admin not ourselves pending, the group is flagged for
// us to act on.
func (c *Client) processLeaveRequest(ctx context.Context, st *groupState, m *storage.ClientMessage, p *storage.GroupProgress) error {
	if m.SenderInboxID == string(c.inbox) {
		st.row.MembershipState = int16(MembershipPendingRemove)
		p.MembershipState = int16(MembershipPendingRemove)
	}
	p.PendingRemoveDone = slices.DeleteFunc(p.PendingRemoveDone, func(s string) bool { return s == m.SenderInboxID })
	p.PendingRemoves = append(p.PendingRemoves, storage.PendingRemove{GroupID: st.row.GroupID, InboxID: m.SenderInboxID, MessageID: m.ID})
	c.log.Info("leave request recorded", "group_id", GroupID(st.row.GroupID).String(), "inbox_id", m.SenderInboxID)
	return c.flagPendingLeave(ctx, st, p)
}

// flagPendingLeave sets the group's pending-leave flag when we are a super
// admin, the list is not empty and we are not on it.
func (c *Client) flagPendingLeave(ctx context.Context, st *groupState, p *storage.GroupProgress) error {
	super, err := isSuperAdminNow(st, string(c.inbox))
	if err != nil || !super {
		return err
	}
	set, err := c.pendingSet(ctx, st, p)
	if err != nil {
		return err
	}
	if len(set) > 0 && !set[string(c.inbox)] {
		flag := true
		p.PendingLeaveRequest = &flag
	}
	return nil
}

// processTranscript applies a merged commit's membership-change record to
// the pending-removal list (libxmtp's save_transcript_message,
// clean_pending_remove_list and handle_super_admin_status_change): removed
// inboxes that were pending move to left_inboxes (the record's id is
// computed again from its new bytes), every removed inbox leaves the list,
// and our promotion to super admin (with others pending) sets the group's
// pending-leave flag while our demotion clears it.
func (c *Client) processTranscript(ctx context.Context, st *groupState, m *storage.ClientMessage, p *storage.GroupProgress) error {
	msg := messageFromRow(m)
	gu, err := msg.GroupUpdated()
	if err != nil {
		return fmt.Errorf("%w: our own membership-change record: %w", ErrInternal, err)
	}
	if len(gu.GetRemovedInboxes()) > 0 {
		if err := c.splitLeft(ctx, st, m, gu, p); err != nil {
			return err
		}
	}
	self := string(c.inbox)
	switch {
	case inboxListed(gu.GetAddedSuperAdminInboxes(), self):
		return c.flagPendingLeave(ctx, st, p)
	case inboxListed(gu.GetRemovedSuperAdminInboxes(), self):
		flag := false
		p.PendingLeaveRequest = &flag
	}
	return nil
}

// splitLeft moves the removed inboxes that were pending to left_inboxes,
// rewrites the record, and drops every removed inbox from the list.
func (c *Client) splitLeft(ctx context.Context, st *groupState, m *storage.ClientMessage, gu *content.GroupUpdated, p *storage.GroupProgress) error {
	set, err := c.pendingSet(ctx, st, p)
	if err != nil {
		return err
	}
	var removed, left []*content.GroupUpdated_Inbox
	for _, in := range gu.GetRemovedInboxes() {
		id := in.GetInboxId()
		if set[id] {
			left = append(left, in)
		} else {
			removed = append(removed, in)
		}
		p.PendingRemoves = slices.DeleteFunc(p.PendingRemoves, func(r storage.PendingRemove) bool { return r.InboxID == id })
		if !slices.Contains(p.PendingRemoveDone, id) {
			p.PendingRemoveDone = append(p.PendingRemoveDone, id)
		}
	}
	if len(left) == 0 {
		return nil
	}
	gu.RemovedInboxes, gu.LeftInboxes = removed, append(gu.LeftInboxes, left...)
	ec, err := GroupUpdatedCodec{}.Encode(gu)
	if err != nil {
		return err
	}
	encoded, err := deterministic.Marshal(ec)
	if err != nil {
		return fmt.Errorf("%w: encode group update: %w", ErrInternal, err)
	}
	m.Content, m.ID = encoded, computeMessageID(st.row.GroupID, m.IdempotencyKey, encoded)
	return nil
}

func inboxListed(list []*content.GroupUpdated_Inbox, id string) bool {
	return slices.ContainsFunc(list, func(in *content.GroupUpdated_Inbox) bool { return in.GetInboxId() == id })
}

// messageEffects applies what the messages a group message produced (out,
// in order, not yet stored) change besides being stored: leave requests,
// deletions and membership changes update the pending-removal list, the
// deletion records and the group's flags in p, saved with them. It may
// rewrite a membership-change record (see processTranscript). Invalid
// deletions are ignored; an error is a failure of our own storage.
func (c *Client) messageEffects(ctx context.Context, st *groupState, out []storage.ClientMessage, p *storage.GroupProgress) ([]storage.ClientMessage, error) {
	for i := range out {
		m := &out[i]
		var err error
		switch {
		case MessageKind(m.Kind) == KindMembershipChange && m.TypeID == ContentTypeGroupUpdated.TypeID:
			err = c.processTranscript(ctx, st, m, p)
		case MessageKind(m.Kind) != KindApplication:
		case m.TypeID == ContentTypeLeaveRequest.TypeID:
			err = c.processLeaveRequest(ctx, st, m, p)
		case m.TypeID == ContentTypeDeleteMessage.TypeID:
			err = c.processDeletion(ctx, st, m, out[:i], p)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ownMessageEffects is messageEffects for a message of ours that came back:
// our own leave request is processed like anyone's (libxmtp's
// process_own_leave_request_message). Our deletions were recorded when we
// sent them, but in a transaction of their own after the message was
// queued: recording one again here (a no-op when it is there) keeps a
// crash between the two from losing it. The message is read back only for
// those two content types (own.typeID); other echoes have no effect.
func (c *Client) ownMessageEffects(ctx context.Context, st *groupState, own ownPayload, p *storage.GroupProgress) error {
	if own.messageID == nil {
		return nil
	}
	switch own.typeID {
	case ContentTypeLeaveRequest.TypeID, ContentTypeDeleteMessage.TypeID:
	default:
		return nil
	}
	m, err := c.db.Message(ctx, own.messageID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if MessageKind(m.Kind) != KindApplication {
		return nil
	}
	switch m.TypeID {
	case ContentTypeLeaveRequest.TypeID:
		return c.processLeaveRequest(ctx, st, m, p)
	case ContentTypeDeleteMessage.TypeID:
		return c.processDeletion(ctx, st, m, nil, p)
	}
	return nil
}

// startLeaveWorker starts, when every > 0, the goroutine that calls
// ProcessPendingLeaveRequests every interval until the client closes
// (libxmtp's pending-self-remove worker).
func (c *Client) startLeaveWorker(every time.Duration) {
	if every <= 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		select {
		case <-c.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	go func() {
		defer c.wg.Done()
		defer cancel()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				c.processLeaveRequestsOnce(ctx)
			}
		}
	}()
}

// processLeaveRequestsOnce is one round of the leave worker; it logs what
// fails (a panic included) and goes on.
func (c *Client) processLeaveRequestsOnce(ctx context.Context) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("leave worker panicked", "panic", fmt.Sprint(r))
		}
	}()
	if err := c.ProcessPendingLeaveRequests(ctx); err != nil && ctx.Err() == nil {
		c.log.Warn("pending leave requests not processed", "err", err)
	}
}
