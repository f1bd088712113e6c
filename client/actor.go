package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"mlsbridge/mls"
	"mlsbridge/storage"
)

// actorQueueSize bounds each group's queue of pending operations; a full
// queue blocks the caller (ctx-aware).
const actorQueueSize = 64

// groupState is a group as its owning goroutine holds it: the stored row
// and the live MLS state. Only that goroutine touches it.
type groupState struct {
	row *storage.ClientGroup
	mls *mls.Group
	// own maps the payload hash of our intents awaiting their echo to them
	// (we cannot decrypt our own messages, and our commits close intents).
	own map[string]ownPayload
	// disappear caches the disappearing settings of mls (see
	// groupState.disappearing).
	disappear disappearCache
	// broken is set when the in-memory state may differ from the stored
	// one (a failed save): the goroutine reloads it after the operation.
	broken bool
}

type groupOp struct {
	fn   func(ctx context.Context, st *groupState) error
	ctx  context.Context
	done chan error
}

// groupActor is the goroutine that owns one group's state (STYLE.md §6):
// operations run one at a time, in order.
type groupActor struct {
	id  []byte
	ops chan groupOp
	// quit is closed when the group is deleted; the goroutine then ends.
	quit chan struct{}
}

// withGroup runs fn on the goroutine owning group id, loading the group
// from the database first if needed, and returns fn's error. It blocks
// until fn has run; if ctx ends first it returns ctx's error (fn may
// still run, with that ctx).
func (c *Client) withGroup(ctx context.Context, id []byte, fn func(ctx context.Context, st *groupState) error) error {
	a, err := c.actor(id)
	if err != nil {
		return err
	}
	op := groupOp{fn: fn, ctx: ctx, done: make(chan error, 1)}
	select {
	case a.ops <- op:
	default:
		c.log.Warn("group queue full", "group_id", fmt.Sprintf("%x", id))
		select {
		case a.ops <- op:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.stop:
			return ErrClosed
		case <-a.quit:
			return ErrGroupNotFound
		}
	}
	select {
	case err := <-op.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-a.quit:
		select {
		case err := <-op.done:
			return err
		default:
			return ErrGroupNotFound
		}
	}
}

// actor returns the goroutine of group id, starting it if needed.
func (c *Client) actor(id []byte) (*groupActor, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if a, ok := c.actors[string(id)]; ok {
		return a, nil
	}
	a := &groupActor{id: append([]byte(nil), id...), ops: make(chan groupOp, actorQueueSize), quit: make(chan struct{})}
	c.actors[string(id)] = a
	c.wg.Add(1)
	go c.runActor(a)
	return a, nil
}

func (c *Client) runActor(a *groupActor) {
	defer c.wg.Done()
	log := c.log.With("group_id", fmt.Sprintf("%x", a.id))
	var st *groupState
	for {
		select {
		case <-c.stop:
			c.drain(a, ErrClosed)
			return
		case <-a.quit:
			c.drain(a, ErrGroupNotFound)
			return
		case op := <-a.ops:
			if st == nil {
				var err error
				if st, err = c.loadGroup(op.ctx, a.id); err != nil {
					st = nil
					op.done <- err
					continue
				}
			}
			op.done <- c.runOp(log, op, st)
			if st.broken {
				st = nil // reload from the database
			}
		}
	}
}

// runOp runs one operation, turning a panic into an error.
func (c *Client) runOp(log *slog.Logger, op groupOp, st *groupState) (err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("group operation panicked", "panic", fmt.Sprint(r))
			err = fmt.Errorf("%w: group operation panicked", ErrInternal)
			st.broken = true
		}
	}()
	return op.fn(op.ctx, st)
}

// drain fails the operations still queued when the goroutine ends.
func (c *Client) drain(a *groupActor, err error) {
	for {
		select {
		case op := <-a.ops:
			op.done <- err
		default:
			return
		}
	}
}

// loadGroup reads a group and the payloads of its intents awaiting their
// echo, with the content types of their messages.
func (c *Client) loadGroup(ctx context.Context, id []byte) (*groupState, error) {
	row, err := c.db.Group(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrGroupNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load group: %w", err)
	}
	g, err := mls.UnmarshalGroup(c.mlsConfig(), row.State)
	if err != nil {
		return nil, fmt.Errorf("%w: load group state: %w", ErrInternal, err)
	}
	st := &groupState{row: row, mls: g, own: map[string]ownPayload{}}
	intents, err := c.db.Intents(ctx, id, int16(IntentToPublish), int16(IntentPublished))
	if err != nil {
		return nil, err
	}
	var sent [][]byte
	for _, in := range intents {
		if in.Payload != nil && in.MessageID != nil {
			sent = append(sent, in.MessageID)
		}
	}
	types, err := c.db.MessageTypeIDs(ctx, sent, int16(KindApplication))
	if err != nil {
		return nil, fmt.Errorf("load group: %w", err)
	}
	for _, in := range intents {
		if in.Payload != nil {
			st.own[payloadKey(in.Payload)] = ownPayload{intentID: in.ID, kind: IntentKind(in.Kind), messageID: in.MessageID,
				typeID: types[string(in.MessageID)]}
		}
	}
	return st, nil
}
