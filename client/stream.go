package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"mlsbridge/storage"
	"mlsbridge/wire/content"
	"mlsbridge/wire/mlsapi"
)

// ErrStreamClosed is returned by Stream.Next once the stream has ended
// (closed, or its client closed).
var ErrStreamClosed = errors.New("client: stream closed")

// streamBuffer bounds a stream's queue of values not yet taken by Next; a
// full queue blocks the stream (it never drops).
const streamBuffer = 64

// Reconnect backoff of the node subscriptions behind a stream.
const (
	minStreamBackoff = 50 * time.Millisecond
	maxStreamBackoff = 5 * time.Second
)

// Stream is a live sequence of messages or conversations, fed by node
// subscriptions that reconnect by themselves (from where they stopped, so
// a node restart loses and repeats nothing). Its goroutines belong to the
// stream: Close (or the end of the ctx that started it, or Client.Close)
// stops them. Next and Close are safe for concurrent use.
type Stream[T any] struct {
	ch     chan T
	cancel context.CancelFunc
	done   chan struct{}
}

// Next returns the next value, waiting for it. It returns ErrStreamClosed
// once the stream has ended and ctx's error if ctx ends first.
func (s *Stream[T]) Next(ctx context.Context) (T, error) {
	var zero T
	select {
	case v, ok := <-s.ch:
		if !ok {
			return zero, ErrStreamClosed
		}
		return v, nil
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// Close stops the stream and waits for its goroutines. Next then returns
// the values already queued, then ErrStreamClosed. Later calls return nil.
func (s *Stream[T]) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// startStream runs the workers of a new stream until ctx ends, Close is
// called or the client closes; each gets the stream context and a
// blocking, ctx-aware emit function. The client waits for them on Close.
func startStream[T any](ctx context.Context, c *Client, workers ...func(ctx context.Context, emit func(T) error)) (*Stream[T], error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	sctx, cancel := context.WithCancel(ctx)
	s := &Stream[T]{ch: make(chan T, streamBuffer), cancel: cancel, done: make(chan struct{})}
	emit := func(v T) error {
		select {
		case s.ch <- v:
			return nil
		default:
		}
		c.log.Debug("stream queue full; waiting for the reader")
		select {
		case s.ch <- v:
			return nil
		case <-sctx.Done():
			return sctx.Err()
		}
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					c.log.Error("stream worker panicked", "panic", fmt.Sprint(r))
					cancel()
				}
			}()
			w(sctx, emit)
		}()
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		select {
		case <-sctx.Done():
		case <-c.stop:
			cancel()
		}
		wg.Wait()
		close(s.ch)
		close(s.done)
	}()
	return s, nil
}

// Stream streams the group's messages from now on (those processed after
// its current cursor): application messages, our own once they come back,
// and membership-change records, each once, in the group's order. The
// messages of denied inboxes are left out unless an opts (at most one is
// read; its conversation filters do not apply) sets IncludeDeniedSenders.
func (g *Group) Stream(ctx context.Context, opts ...*StreamOptions) (*Stream[Message], error) {
	row, err := g.c.db.Group(ctx, g.id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrGroupNotFound
	} else if err != nil {
		return nil, err
	}
	f := &groupFollower{c: g.c, cursors: map[string]uint64{string(g.id): row.Cursor}}
	var o *StreamOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	f.consent = g.c.streamConsent(o, false)
	return startStream(ctx, g.c, f.run)
}

// StreamOptions filter the conversations of StreamAllMessages and
// StreamConversations. The zero value takes every conversation type with
// consent allowed or unknown.
type StreamOptions struct {
	// ConversationType keeps one type (0: groups and DMs; sync groups are
	// never streamed).
	ConversationType content.ConversationType
	// ConsentStates keeps, of the conversations existing when the stream
	// starts, those with one of these states (nil: allowed and unknown).
	// Conversations created or joined later are always included, as in
	// libxmtp. A conversation denied while the stream runs is hidden from
	// then on unless ConsentDenied is listed.
	ConsentStates []ConsentState
	// IncludeDeniedSenders keeps the messages of inboxes whose consent is
	// denied, which streams drop otherwise (libxmtp keeps them).
	IncludeDeniedSenders bool
}

func (o *StreamOptions) wants(t content.ConversationType) bool {
	if t == content.ConversationType_CONVERSATION_TYPE_SYNC || t == content.ConversationType_CONVERSATION_TYPE_ONESHOT {
		return false
	}
	return o.ConversationType == 0 || o.ConversationType == t
}

// StreamAllMessages streams the messages of every conversation from now
// on (see Group.Stream), including conversations created or joined while
// it runs; it also processes the welcomes that arrive meanwhile. opts may
// be nil.
func (c *Client) StreamAllMessages(ctx context.Context, opts *StreamOptions) (*Stream[Message], error) {
	if opts == nil {
		opts = &StreamOptions{}
	}
	consent := opts.ConsentStates
	if consent == nil {
		consent = defaultConsent
	}
	q := storage.GroupQuery{ActiveOnly: true, ConsentStates: consentNumbers(consent)}
	if opts.ConversationType != 0 {
		q.ConversationTypes = []int32{int32(opts.ConversationType)}
	}
	rows, err := c.db.FindGroups(ctx, q)
	if err != nil {
		return nil, err
	}
	f := &groupFollower{c: c, cursors: map[string]uint64{}}
	for _, r := range rows {
		if opts.wants(content.ConversationType(r.ConversationType)) {
			f.cursors[string(r.GroupID)] = r.Cursor
		}
	}
	sub := c.events.subscribe()
	f.newGroups, f.filter, f.consent = sub.ch, opts.wants, c.streamConsent(opts, true)
	s, err := startStream(ctx, c, func(ctx context.Context, emit func(Message) error) {
		defer c.events.unsubscribe(sub)
		f.run(ctx, emit)
	}, func(ctx context.Context, _ func(Message) error) {
		c.followWelcomes(ctx)
	})
	if err != nil {
		c.events.unsubscribe(sub)
	}
	return s, err
}

// StreamConversations streams the conversations created here or joined
// from now on (each join, and each re-add after a removal, once), and
// processes the welcomes that arrive meanwhile. opts may be nil; its
// consent filter does not apply (new conversations are always included).
func (c *Client) StreamConversations(ctx context.Context, opts *StreamOptions) (*Stream[*Group], error) {
	if opts == nil {
		opts = &StreamOptions{}
	}
	sub := c.events.subscribe()
	s, err := startStream(ctx, c, func(ctx context.Context, emit func(*Group) error) {
		defer c.events.unsubscribe(sub)
		for {
			select {
			case <-ctx.Done():
				return
			case g := <-sub.ch:
				row, err := c.db.Group(ctx, g.id)
				if err != nil || !opts.wants(content.ConversationType(row.ConversationType)) {
					continue
				}
				if emit(g) != nil {
					return
				}
			}
		}
	}, func(ctx context.Context, _ func(*Group) error) {
		c.followWelcomes(ctx)
	})
	if err != nil {
		c.events.unsubscribe(sub)
	}
	return s, err
}

// groupFollower follows a set of groups on the node's group subscription.
// cursors holds, per group, the node id of the last message the stream
// handled: a reconnect resumes after it, so nothing is missed or repeated.
type groupFollower struct {
	c         *Client
	cursors   map[string]uint64
	newGroups <-chan *Group
	filter    func(content.ConversationType) bool
	// consent hides messages by consent (nil: hides nothing).
	consent *consentFilter
}

func (f *groupFollower) run(ctx context.Context, emit func(Message) error) {
	backoff := minStreamBackoff
	for ctx.Err() == nil {
		progressed, resubscribe, err := f.once(ctx, emit)
		if ctx.Err() != nil {
			return
		}
		if resubscribe {
			continue
		}
		if progressed {
			backoff = minStreamBackoff
		}
		f.c.log.Info("group subscription ended; reconnecting", "groups", len(f.cursors), "err", err, "backoff", backoff)
		if !sleepCtx(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, maxStreamBackoff)
	}
}

// once runs one subscription until it ends, fails, or a new group must be
// added (resubscribe).
func (f *groupFollower) once(ctx context.Context, emit func(Message) error) (progressed, resubscribe bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var added *Group
	var wg sync.WaitGroup
	if f.newGroups != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case g := <-f.newGroups:
				added = g
				cancel()
			case <-sctx.Done():
			}
		}()
	}
	progressed, err = f.receive(sctx, emit)
	cancel()
	wg.Wait()
	if added != nil && ctx.Err() == nil {
		f.add(ctx, added)
		return progressed, true, nil
	}
	return progressed, false, err
}

// add starts following a new group from its current cursor.
func (f *groupFollower) add(ctx context.Context, g *Group) {
	if _, ok := f.cursors[string(g.id)]; ok {
		return
	}
	row, err := f.c.db.Group(ctx, g.id)
	if err != nil {
		f.c.log.Warn("new conversation not streamed", "group_id", g.id.String(), "err", err)
		return
	}
	if f.filter == nil || f.filter(content.ConversationType(row.ConversationType)) {
		f.cursors[string(g.id)] = row.Cursor
	}
}

func (f *groupFollower) receive(ctx context.Context, emit func(Message) error) (bool, error) {
	if len(f.cursors) == 0 {
		<-ctx.Done()
		return false, ctx.Err()
	}
	req := &mlsapi.SubscribeGroupMessagesRequest{}
	for id, cur := range f.cursors {
		req.Filters = append(req.Filters, &mlsapi.SubscribeGroupMessagesRequest_Filter{GroupId: []byte(id), IdCursor: cur})
	}
	sub, err := f.c.mlsAPI.SubscribeGroupMessages(ctx, req)
	if err != nil {
		return false, fmt.Errorf("subscribe group messages: %w", err)
	}
	progressed := false
	for {
		m, err := sub.Recv()
		if err != nil {
			return progressed, fmt.Errorf("group subscription: %w", err)
		}
		v1 := m.GetV1()
		if v1 == nil {
			continue
		}
		gid := string(v1.GetGroupId())
		cur, ok := f.cursors[gid]
		if !ok || v1.GetId() <= cur {
			continue
		}
		msgs, err := f.c.streamEnvelope(ctx, v1)
		if errors.Is(err, ErrGroupNotFound) {
			delete(f.cursors, gid) // deleted meanwhile: followed no more after a reconnect
			continue
		}
		if err != nil {
			return progressed, err
		}
		f.cursors[gid] = v1.GetId()
		progressed = true
		var consent *consentView
		if len(msgs) > 0 {
			consent = f.consent.load(ctx) // once for the batch
		}
		for _, m := range msgs {
			if consent.hides(&m) {
				continue
			}
			if err := emit(m); err != nil {
				return progressed, err
			}
		}
	}
}

// streamEnvelope processes a streamed group message on the group's
// goroutine, unless a sync got to it first, and returns the messages it
// produced (from the database, so a message processed by a sync is
// returned too).
func (c *Client) streamEnvelope(ctx context.Context, v1 *mlsapi.GroupMessage_V1) ([]Message, error) {
	var rows []storage.ClientMessage
	err := c.withGroup(ctx, v1.GetGroupId(), func(ctx context.Context, st *groupState) error {
		if v1.GetId() > st.row.Cursor {
			if _, err := c.processEnvelopes(ctx, st, []*mlsapi.GroupMessage_V1{v1}, nil); err != nil {
				return err
			}
		}
		var err error
		rows, err = c.db.MessagesAtCursor(ctx, st.row.GroupID, v1.GetId())
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Message, len(rows))
	for i := range rows {
		out[i] = messageFromRow(&rows[i])
	}
	return out, nil
}

// followWelcomes processes the welcomes of our installation as the node
// streams them, from the welcome cursor, until ctx ends; joined groups are
// announced to the streams. It reconnects by itself.
func (c *Client) followWelcomes(ctx context.Context) {
	backoff := minStreamBackoff
	for ctx.Err() == nil {
		progressed, err := c.receiveWelcomes(ctx)
		if ctx.Err() != nil {
			return
		}
		if progressed {
			backoff = minStreamBackoff
		}
		c.log.Info("welcome subscription ended; reconnecting", "err", err, "backoff", backoff)
		if !sleepCtx(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, maxStreamBackoff)
	}
}

func (c *Client) receiveWelcomes(ctx context.Context) (bool, error) {
	cursor, err := c.db.Cursor(ctx, welcomeCursorTopic)
	if err != nil {
		return false, err
	}
	sub, err := c.mlsAPI.SubscribeWelcomeMessages(ctx, &mlsapi.SubscribeWelcomeMessagesRequest{
		Filters: []*mlsapi.SubscribeWelcomeMessagesRequest_Filter{{InstallationKey: c.inst.ID().Bytes(), IdCursor: cursor}}})
	if err != nil {
		return false, fmt.Errorf("subscribe welcomes: %w", err)
	}
	progressed := false
	for {
		w, err := sub.Recv()
		if err != nil {
			return progressed, fmt.Errorf("welcome subscription: %w", err)
		}
		progressed = true
		joined, err := c.streamWelcome(ctx, w)
		if err != nil {
			return progressed, err
		}
		if joined {
			if err := c.RotateKeyPackage(ctx); err != nil {
				c.log.Warn("key package rotation after welcome failed", "err", err)
			}
		}
	}
}

// streamWelcome handles one streamed welcome unless a sync already did.
func (c *Client) streamWelcome(ctx context.Context, w *mlsapi.WelcomeMessage) (bool, error) {
	c.welcomeMu.Lock()
	defer c.welcomeMu.Unlock()
	cursor, err := c.db.Cursor(ctx, welcomeCursorTopic)
	if err != nil || welcomeID(w) <= cursor {
		return false, err
	}
	g, err := c.handleWelcome(ctx, w)
	return g != nil, err
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// groupEvents announces new conversations (created here, joined, joined
// again) to the streams that want them.
type groupEvents struct {
	mu   sync.Mutex
	subs map[*eventSub]struct{}
}

type eventSub struct {
	ch   chan *Group
	done chan struct{}
	once sync.Once
}

func (e *groupEvents) subscribe() *eventSub {
	s := &eventSub{ch: make(chan *Group, streamBuffer), done: make(chan struct{})}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.subs == nil {
		e.subs = map[*eventSub]struct{}{}
	}
	e.subs[s] = struct{}{}
	return s
}

func (e *groupEvents) unsubscribe(s *eventSub) {
	e.mu.Lock()
	delete(e.subs, s)
	e.mu.Unlock()
	s.once.Do(func() { close(s.done) })
}

// announce hands g to every subscriber, waiting while a subscriber's
// queue is full (until it unsubscribes).
func (e *groupEvents) announce(g *Group) {
	e.mu.Lock()
	subs := make([]*eventSub, 0, len(e.subs))
	for s := range e.subs {
		subs = append(subs, s)
	}
	e.mu.Unlock()
	for _, s := range subs {
		select {
		case s.ch <- g:
		case <-s.done:
		}
	}
}
