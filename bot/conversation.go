package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"

	"mlsbridge/client"
	"mlsbridge/commands"
	"mlsbridge/identity"
	"mlsbridge/plugins"
)

// item is one entry of a conversation's queue.
type item struct {
	// msg is a message or group-update record the streams delivered.
	msg *client.Message
	// joined is set when the bot joined the conversation (again).
	joined bool
}

// convo is one conversation the bot knows: its goroutine owns every field
// below queue, and nothing else touches them (STYLE.md §6: one goroutine
// per group, behind a bounded queue).
type convo struct {
	b     *Bot
	id    client.GroupID
	key   string // id in lowercase hex
	log   *slog.Logger
	queue chan item
	// waiting counts the messages in queue (joins not counted).
	waiting atomic.Int32

	group    *client.Group
	state    convState
	active   bool               // plugins loaded: served and still a member
	reported []identity.InboxID // the members waiting to be removed, as last reported

	pos          position        // how far messages are handled (replay.go)
	replayed     map[string]bool // ids replayed this run and not yet seen live; nil until the replay ran
	halted       bool            // handling was cut short: nothing more is handled
	clientClosed bool            // an error showed the client closed
}

// run is the conversation's goroutine: it starts the conversation,
// replays what the client stored after the handled position, then handles
// its queue until the bot closes it, skipping what it handled already.
func (c *convo) run(ctx context.Context) {
	defer c.b.workers.Done()
	c.begin(ctx)
	for it := range c.queue {
		if it.msg != nil {
			c.waiting.Add(-1)
		}
		if c.halted {
			continue // cut short: a restart replays the rest
		}
		c.begin(ctx)
		if c.halted || (it.msg != nil && c.already(it.msg)) {
			continue
		}
		c.handle(ctx, it)
	}
	c.log.Debug("conversation goroutine done")
}

// guard runs fn with the handler timeout, recovering a panic, and logs its
// failure once.
func (c *convo) guard(ctx context.Context, where string, fn func(ctx context.Context) error) {
	_ = c.guardErr(ctx, where, fn)
}

// guardErr is guard returning fn's error.
func (c *convo) guardErr(ctx context.Context, where string, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.b.cfg.HandlerTimeout)
	defer cancel()
	err := protect(where, func() error { return fn(ctx) })
	c.logError(where, err)
	return err
}

func (c *convo) logError(where string, err error) {
	c.noteError(err)
	var pe *PanicError
	switch {
	case err == nil:
	case errors.As(err, &pe):
		c.log.Error("handler panicked", "where", pe.Where, "panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
	case errors.Is(err, context.Canceled) && c.b.work.Err() != nil:
		c.log.Debug("handling cut short by shutdown", "where", where)
	default:
		c.log.Warn("conversation handling failed", "where", where, "error", err)
	}
}

// start loads the conversation and the bot's decision on it, deciding when
// there is none.
func (c *convo) start(ctx context.Context) error {
	g, err := c.b.client.Group(ctx, c.id)
	if err != nil {
		return fmt.Errorf("bot: load conversation: %w", err)
	}
	st, err := c.b.loadState(ctx, c.key)
	if err != nil {
		return err
	}
	c.group = g
	if st == stateUndecided {
		if err := c.initPosition(ctx); err != nil {
			return err
		}
		return c.decide(ctx)
	}
	c.state = st
	if st == stateAccepted {
		return c.activate(ctx, false)
	}
	return nil
}

// process handles one queue item.
func (c *convo) process(ctx context.Context, it item) error {
	if c.state == stateUndecided {
		return nil // not started: begin tries again, and replays this message then
	}
	if it.joined && c.state == stateAccepted && !c.active {
		return c.activate(ctx, true)
	}
	if it.msg == nil {
		return nil
	}
	switch {
	case c.state == stateAccepted && !c.active:
		// Activation failed earlier (or the bot was removed): try again.
		if err := c.activate(ctx, false); err != nil || !c.active {
			return err
		}
	case c.state != stateAccepted && c.state != statePending:
		return nil
	}
	info, err := c.group.Info(ctx)
	if err != nil {
		return fmt.Errorf("bot: group info: %w", err)
	}
	conv := &Conversation{b: c.b, group: c.group, info: info}
	if it.msg.Kind == client.KindMembershipChange {
		return c.onUpdate(ctx, conv, it.msg)
	}
	return c.onMessage(ctx, conv, it.msg)
}

// onMessage handles an application message.
func (c *convo) onMessage(ctx context.Context, conv *Conversation, m *client.Message) error {
	ev := c.b.messageEvent(conv, m)
	if !ev.FromSelf {
		c.b.metrics.messagesIn.Add(1)
	}
	if c.state == statePending {
		if !c.b.cfg.DisableCommands {
			c.dispatch(ctx, c.b.pendingDispatcher, ev)
		}
		return nil
	}
	blocked, err := c.blocked(ctx, ev)
	if err != nil {
		return err
	}
	if !blocked {
		c.deliver(ctx, ev)
	}
	if sameType(m.ContentType, client.ContentTypeLeaveRequest) && !ev.FromSelf {
		c.log.Info("member asked to leave", "inbox_id", string(ev.Sender))
		c.refreshPending(ctx, conv)
	}
	return nil
}

// blocked reports whether the bot ignores the sender (consent denied:
// !block).
func (c *convo) blocked(ctx context.Context, ev *Event) (bool, error) {
	if ev.FromSelf || ev.Sender == "" {
		return false, nil
	}
	s, err := c.b.client.ConsentState(ctx, client.ConsentInbox, string(ev.Sender))
	if err != nil {
		return false, fmt.Errorf("bot: sender consent: %w", err)
	}
	if s == client.ConsentDenied {
		c.log.Debug("message of a blocked member ignored", "inbox_id", string(ev.Sender))
		return true, nil
	}
	return false, nil
}

// onUpdate handles a group-update record: membership, admins, metadata.
func (c *convo) onUpdate(ctx context.Context, conv *Conversation, m *client.Message) error {
	if c.state != stateAccepted {
		return nil
	}
	evs, err := c.b.updateEvents(conv, m)
	if err != nil {
		c.log.Warn("group update record not readable", "message_id", m.ID.String(), "error", err)
		return nil
	}
	for _, ev := range evs {
		if ev.Type == EventMembersAdded || ev.Type == EventMembersRemoved {
			c.log.Info("membership changed", "event", ev.Type.String(), "count", len(ev.Members), "by", string(ev.Sender))
		}
		if c.active {
			c.deliver(ctx, ev)
		}
		if ev.Type == EventMembersRemoved && slices.Contains(ev.Members, c.b.self) {
			c.log.Info("bot removed from conversation", "by", string(ev.Sender))
			c.deactivate(ctx)
		}
	}
	if c.active {
		c.refreshPending(ctx, conv)
	}
	return nil
}

// deliver hands ev to the plugins, the command dispatcher (messages) and
// the handlers, each behind its own panic recovery, so one failing does
// not keep the others from the event.
func (c *convo) deliver(ctx context.Context, ev *Event) {
	c.b.metrics.events.Add(1)
	if pe, ok := c.b.pluginEvent(ev); ok {
		err := protect("plugins", func() error { return c.b.plugins.Handle(ctx, plugins.GroupID(c.key), pe) })
		c.logError("plugins", err)
	}
	if ev.Type == EventMessage && !c.b.cfg.DisableCommands {
		err := protect("commands", func() error { c.dispatch(ctx, c.b.dispatcher, ev); return nil })
		c.logError("commands", err)
	}
	if c.b.handler != nil {
		c.logError("handler", c.b.handler.HandleEvent(ctx, ev))
	}
}

// refreshPending reads the members waiting to be removed and, when one
// was not reported yet, reports the whole list (EventLeaveRequested).
func (c *convo) refreshPending(ctx context.Context, conv *Conversation) {
	ids, err := c.pendingMembers(ctx, conv.info)
	if err != nil {
		c.log.Warn("pending removals not read", "error", err)
		return
	}
	grew := slices.ContainsFunc(ids, func(id identity.InboxID) bool { return !slices.Contains(c.reported, id) })
	c.reported = ids
	if grew {
		c.deliver(ctx, &Event{Type: EventLeaveRequested, Conversation: conv, Time: c.b.eventNow(), Members: ids})
	}
}

// pendingMembers returns the inboxes whose leave requests the client
// recorded and that still are members, sorted (xmtp-groups §7).
func (c *convo) pendingMembers(ctx context.Context, info *client.GroupInfo) ([]identity.InboxID, error) {
	all, err := c.group.PendingRemovals(ctx)
	if err != nil {
		return nil, fmt.Errorf("bot: pending removals: %w", err)
	}
	var out []identity.InboxID
	for _, id := range all {
		if isMember(info, id) && id != c.b.self && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}

// activate starts serving the conversation: loads its plugins and its
// leave requests, and announces EventJoined when announce is set.
func (c *convo) activate(ctx context.Context, announce bool) error {
	info, err := c.group.Info(ctx)
	if err != nil {
		return fmt.Errorf("bot: group info: %w", err)
	}
	if !info.Active {
		c.log.Debug("conversation no longer has the bot")
		return nil
	}
	if err := c.b.plugins.LoadGroup(ctx, plugins.GroupID(c.key)); err != nil {
		return fmt.Errorf("bot: load plugins: %w", err)
	}
	if !c.active {
		c.b.served(1)
	}
	c.active = true
	c.reported = nil
	conv := &Conversation{b: c.b, group: c.group, info: info}
	if announce {
		by := info.AddedByInboxID
		c.deliver(ctx, &Event{Type: EventJoined, Conversation: conv, Time: c.b.eventNow(), Sender: by,
			SenderRole: conv.Role(by), FromSelf: by == c.b.self})
	}
	c.refreshPending(ctx, conv)
	return nil
}

// deactivate stops serving the conversation: its plugins stop.
func (c *convo) deactivate(ctx context.Context) {
	if !c.active {
		return
	}
	c.active = false
	c.b.served(-1)
	if err := c.b.plugins.UnloadGroup(ctx, plugins.GroupID(c.key)); err != nil {
		c.log.Warn("plugins not unloaded", "error", err)
	}
}

// decide applies the consent policy to a conversation the bot has no
// decision on, stores the decision and acts on it.
func (c *convo) decide(ctx context.Context) error {
	info, err := c.group.Info(ctx)
	if err != nil {
		return fmt.Errorf("bot: group info: %w", err)
	}
	by := info.AddedByInboxID
	peer, isDM := info.DMPeer(c.b.self)
	if isDM {
		by = peer
	}
	cc := c.b.cfg.Consent
	var s convState
	switch {
	case by == c.b.self, cc.Mode == ConsentAllowAll, cc.trusts(by):
		s = stateAccepted
	case cc.Mode == ConsentAllowListed, isDM:
		s = stateRejected
	default:
		s = statePending
	}
	if err := c.b.saveState(ctx, c.key, s, ""); err != nil {
		return err
	}
	c.state = s
	c.log.Info("conversation decided", "state", s.String(), "added_by", string(by), "dm", isDM)
	switch s {
	case stateAccepted:
		c.setConsent(ctx, client.ConsentAllowed)
		return c.activate(ctx, true)
	case stateRejected:
		c.setConsent(ctx, client.ConsentDenied)
	case statePending:
		if n := cc.PendingNotice; n != "-" {
			if _, err := c.group.SendText(ctx, n); err != nil {
				return fmt.Errorf("bot: pending notice: %w", err)
			}
			c.b.metrics.messagesOut.Add(1)
		}
	}
	return nil
}

// setConsent records the client's consent for the conversation, logging a
// failure (the bot's own decision is what counts).
func (c *convo) setConsent(ctx context.Context, s client.ConsentState) {
	if err := c.group.UpdateConsentState(ctx, s); err != nil {
		c.log.Warn("conversation consent not recorded", "consent", s.String(), "error", err)
	}
}

// decideByOperator carries out !accept or !reject.
func (c *convo) decideByOperator(ctx context.Context, ev *Event, s convState, inv *commands.Invocation) error {
	if s == c.state {
		return inv.Reply(ctx, "This conversation is already "+s.String()+".")
	}
	if err := c.b.saveState(ctx, c.key, s, string(ev.Sender)); err != nil {
		return err
	}
	c.state = s
	c.log.Info("conversation decided by an operator", "state", s.String(), "operator", string(ev.Sender))
	if s == stateRejected {
		err := inv.Reply(ctx, "Rejected: I'll ignore this conversation from now on.")
		c.setConsent(ctx, client.ConsentDenied)
		c.deactivate(ctx)
		return err
	}
	c.setConsent(ctx, client.ConsentAllowed)
	if err := inv.Reply(ctx, "Accepted: I'm serving this conversation now. Type "+inv.Prefix()+"help for my commands."); err != nil {
		return err
	}
	return c.activate(ctx, true)
}
