package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"mlsbridge/client"
	"mlsbridge/storage"
)

// replayPage is how many stored messages one replay query reads at first;
// a page that holds nothing new is read again twice as large.
const replayPage = 100

// position is how far a conversation's messages are handled, by the
// client's insertion time (storage.BotHandled): every message stored
// before ns, and of those stored at ns exactly, the ids listed.
//
// Within one conversation the client stores received messages in the
// order the stream emits them, so this high-water mark misses nothing the
// stream delivers, with one exception: the bot's own messages are stored
// when sent and emitted when the node returns them, so one that comes back
// after later messages were handled sits below the mark. A crash before
// it was handled loses it; it is the bot's own message, which plugins and
// commands ignore.
type position struct {
	ns  int64
	ids []string
}

// covers reports whether m, stored at or after ns, is handled.
func (p position) covers(m *client.Message) bool {
	return m.InsertedNs == p.ns && slices.Contains(p.ids, m.ID.String())
}

// advanced returns p moved past m, and whether it moved.
func (p position) advanced(m *client.Message) (position, bool) {
	id := m.ID.String()
	switch {
	case m.InsertedNs > p.ns:
		return position{ns: m.InsertedNs, ids: []string{id}}, true
	case m.InsertedNs == p.ns && !slices.Contains(p.ids, id):
		return position{ns: p.ns, ids: append(slices.Clip(p.ids), id)}, true
	}
	return p, false
}

// loadPosition reads the conversation's stored position. A conversation
// with none that the bot had decided on comes from a bot version that kept
// no positions: its stored messages were handled then, so the position
// starts after the newest of them (and is stored).
func (c *convo) loadPosition(ctx context.Context) error {
	h, err := c.b.store.BotHandled(ctx, c.key)
	switch {
	case err == nil:
		c.pos = position{ns: h.InsertedNs, ids: h.MessageIDs}
		return nil
	case !errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("bot: load handled position: %w", err)
	}
	newest, err := c.group.FindMessages(ctx, &client.MessageQuery{SortByInserted: true, Direction: client.Descending,
		Limit: 1, IncludeDenied: true})
	if err != nil {
		return fmt.Errorf("bot: newest message: %w", err)
	}
	c.pos = position{}
	if len(newest) == 1 {
		c.pos, _ = c.pos.advanced(&newest[0])
	}
	c.log.Info("handled position starts after the stored messages", "inserted_ns", c.pos.ns)
	return c.savePosition(ctx)
}

// initPosition stores the position of a conversation the bot meets for
// the first time, unless one is stored: before its first message, so that
// what the client stored since joining gets handled, even after a crash.
func (c *convo) initPosition(ctx context.Context) error {
	_, err := c.b.store.BotHandled(ctx, c.key)
	if !errors.Is(err, storage.ErrNotFound) {
		if err != nil {
			return fmt.Errorf("bot: load handled position: %w", err)
		}
		return nil
	}
	c.pos = position{}
	return c.savePosition(ctx)
}

// savePosition stores the conversation's position.
func (c *convo) savePosition(ctx context.Context) error {
	err := c.b.store.SaveBotHandled(ctx, storage.BotHandled{GroupID: c.key, InsertedNs: c.pos.ns, MessageIDs: c.pos.ids,
		UpdatedNs: c.b.now().UnixNano()})
	if err != nil {
		return fmt.Errorf("bot: save handled position: %w", err)
	}
	return nil
}

// markHandled moves the position past m once its handling is complete,
// and stores it. A failed write is logged: the position in memory still
// moves, and a restart would handle m again.
func (c *convo) markHandled(ctx context.Context, m *client.Message) {
	p, moved := c.pos.advanced(m)
	if !moved {
		return
	}
	c.pos = p
	ctx, cancel := context.WithTimeout(ctx, c.b.cfg.HandlerTimeout)
	defer cancel()
	if err := c.savePosition(ctx); err != nil {
		c.log.Warn("handled position not stored", "message_id", m.ID.String(), "error", err)
	}
}

// begin starts the conversation (once it could load it) and replays what
// the client stored after the handled position, before the live events.
func (c *convo) begin(ctx context.Context) {
	if c.state == stateUndecided {
		c.guard(ctx, "start", c.start)
	}
	if c.state == stateUndecided || c.replayed != nil || c.halted {
		return
	}
	c.replay(ctx)
}

// replay handles, in the order the client stored them, the conversation's
// messages stored after its handled position: those that arrived while
// the bot was away or that the previous run received and did not finish
// handling (a crash). Each handled id is remembered in c.replayed, so the
// live stream, which may deliver some of them too, does not repeat them.
func (c *convo) replay(ctx context.Context) {
	if c.guardErr(ctx, "load position", c.loadPosition) != nil {
		return // tried again with the next event
	}
	c.replayed = map[string]bool{}
	seen := map[string]bool{}
	after, limit, n := c.pos.ns, replayPage, 0
	for ctx.Err() == nil && !c.halted {
		var page []client.Message
		err := c.guardErr(ctx, "replay", func(ctx context.Context) (err error) {
			page, err = c.group.FindMessages(ctx, &client.MessageQuery{InsertedAfterNs: max(after-1, 0), SortByInserted: true,
				DeliveryStatus: client.StatusPublished, Limit: limit})
			return err
		})
		if err != nil {
			return
		}
		fresh := 0
		for i := range page {
			m := &page[i]
			id := m.ID.String()
			if seen[id] {
				continue
			}
			seen[id], after = true, max(after, m.InsertedNs)
			fresh++
			if !bytes.Equal(m.GroupID, c.id) || c.pos.covers(m) || m.InsertedNs < c.pos.ns || c.isOwnWelcome(m) {
				continue
			}
			c.replayed[id] = true
			n++
			c.handle(ctx, item{msg: m})
			if c.halted {
				break
			}
		}
		switch {
		case len(page) < limit:
			if n > 0 {
				c.log.Info("replayed stored messages", "messages", n)
			}
			return
		case fresh == 0:
			limit *= 2 // a page of one insertion time, all seen: read more of it
		}
	}
}

// isOwnWelcome reports whether m is the record of the bot's own joining
// (stored with the welcome), which the live stream never delivers either.
func (c *convo) isOwnWelcome(m *client.Message) bool {
	if m.Kind != client.KindMembershipChange {
		return false
	}
	gu, err := m.GroupUpdated()
	if err != nil {
		return false
	}
	for _, in := range gu.GetAddedInboxes() {
		if in.GetInboxId() == string(c.b.self) {
			return true
		}
	}
	return false
}

// already reports whether a message the live stream delivered was handled
// before: replayed in this run, or handled by an earlier one.
func (c *convo) already(m *client.Message) bool {
	id := m.ID.String()
	if c.replayed[id] {
		delete(c.replayed, id) // the stream delivers each message once
		return true
	}
	return c.pos.covers(m)
}

// handle handles one queue item, then, when it was a message and its
// handling was complete, moves the position past it. Handling is cut short
// when Stop ran out of time (the bot's work ctx ended) or the client was
// closed: then the position stays, and the conversation handles nothing
// more (halted), so a restart replays the rest in order.
func (c *convo) handle(ctx context.Context, it item) {
	c.guard(ctx, "event", func(ctx context.Context) error { return c.process(ctx, it) })
	if c.b.work.Err() != nil || c.clientClosed {
		c.halted = true
		c.log.Info("conversation handling cut short; a restart resumes it")
		return
	}
	if it.msg != nil && c.replayed != nil {
		c.markHandled(ctx, it.msg)
	}
}

// noteError records that err shows the client closed.
func (c *convo) noteError(err error) {
	if errors.Is(err, client.ErrClosed) {
		c.clientClosed = true
	}
}
