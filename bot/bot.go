package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"mlsbridge/client"
	"mlsbridge/commands"
	"mlsbridge/identity"
	"mlsbridge/plugins"
)

// Errors of the bot's lifecycle.
var (
	// ErrStarted is returned by Start on a bot already started, and by
	// Use and Handle after Start.
	ErrStarted = errors.New("bot: already started")
	// ErrStopped is returned by Start after Stop.
	ErrStopped = errors.New("bot: stopped")
)

// Bot runs one XMTP installation as a chat bot: it follows the client's
// streams, gives each conversation a goroutine with a bounded queue, applies
// the consent policy, dispatches chat commands, hosts plugins and calls the
// registered handlers. Build it with [New], register handlers, then
// [Bot.Start] and, at the end, [Bot.Stop]. Its methods are safe for
// concurrent use.
type Bot struct {
	cfg     Config
	client  *client.Client
	store   Store
	self    identity.InboxID
	log     *slog.Logger
	plugins *plugins.Manager

	dispatcher        *commands.Dispatcher
	pendingDispatcher *commands.Dispatcher
	metrics           metrics

	mu       sync.Mutex // guards the fields below
	started  bool
	stopped  bool
	mws      []Middleware
	handlers []Handler
	handler  Handler // the handlers chained, set by Start; read-only after
	convos   map[string]*convo

	life    context.Context // the streams' lifetime: cancelled by Stop
	cancel  context.CancelFunc
	work    context.Context // the handlers' lifetime: cancelled when Stop runs out of time
	abort   context.CancelFunc
	readers sync.WaitGroup // stream readers
	workers sync.WaitGroup // conversation goroutines
	done    chan struct{}  // closed when every goroutine has returned
}

// metrics counts what the bot does, for Stats.
type metrics struct {
	messagesIn, messagesOut         counter // also reported to Config.Metrics (metrics.go)
	events, commands, pluginActions atomic.Int64
}

// New returns a Bot for cfg, not started. It fails with an error wrapping
// [ErrConfig] listing every problem of cfg, or when the command tree or the
// plugin list is invalid.
func New(cfg Config) (*Bot, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Bot{cfg: cfg, client: cfg.Client, store: cfg.Store, self: cfg.Client.InboxID(),
		log: cfg.Logger.With("component", "bot"), convos: map[string]*convo{}, done: make(chan struct{})}
	b.attachMetrics()
	b.plugins, err = plugins.NewManager(plugins.Config{Actions: pluginActions{b}, Settings: pluginStore{s: cfg.Store, now: cfg.Now},
		Data: pluginStore{s: cfg.Store, now: cfg.Now}, Logger: cfg.Logger.With("component", "plugins"),
		Clock: cfg.PluginClock, Plugins: cfg.Plugins, CallTimeout: cfg.PluginCallTimeout})
	if err != nil {
		return nil, fmt.Errorf("bot: %w", err)
	}
	if err := b.newDispatchers(); err != nil {
		return nil, err
	}
	return b, nil
}

// InboxID returns the bot's inbox id.
func (b *Bot) InboxID() identity.InboxID { return b.self }

// Plugins returns the bot's plugin manager, to change settings from
// outside chat (an admin API, tests).
func (b *Bot) Plugins() *plugins.Manager { return b.plugins }

func (b *Bot) now() time.Time { return b.cfg.Now() }

// eventNow is the Time of the events the bot stamps itself: the plugins'
// clock, so a plugin compares it with Host.Now on one clock.
func (b *Bot) eventNow() time.Time { return b.cfg.PluginClock.Now() }

// Use adds middleware around every handler registered with Handle (not
// around the bot's own plugins and commands). The first middleware added
// is the outermost. It fails after Start.
func (b *Bot) Use(mws ...Middleware) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return ErrStarted
	}
	b.mws = append(b.mws, mws...)
	return nil
}

// Handle registers a handler of every event of the conversations the bot
// serves, after the plugins and commands have seen it, wrapped in mws
// (innermost) and in the middleware of Use (outermost). Handlers run in
// the order registered, each behind its own panic recovery. It fails after
// Start.
func (b *Bot) Handle(h Handler, mws ...Middleware) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return ErrStarted
	}
	b.handlers = append(b.handlers, Chain(h, mws...))
	return nil
}

// Stats are counters of what the bot did since it started.
type Stats struct {
	// Conversations is the number of conversations with a goroutine.
	Conversations int
	// MessagesIn counts the application messages received from others;
	// MessagesOut the text messages the bot sent (replies, notices, plugin
	// messages).
	MessagesIn, MessagesOut int64
	// Events counts the events handed to plugins, commands and handlers.
	Events int64
	// Commands counts the command messages dispatched.
	Commands int64
	// PluginActions counts the replies, reactions, deletions and removals
	// plugins made.
	PluginActions int64
}

// Stats returns the bot's counters.
func (b *Bot) Stats() Stats {
	b.mu.Lock()
	n := len(b.convos)
	b.mu.Unlock()
	return Stats{Conversations: n, MessagesIn: b.metrics.messagesIn.Load(), MessagesOut: b.metrics.messagesOut.Load(),
		Events: b.metrics.events.Load(), Commands: b.metrics.commands.Load(), PluginActions: b.metrics.pluginActions.Load()}
}

// Start starts the bot: it opens the client's streams, starts the plugin
// manager, and gives every active conversation its goroutine (which loads
// its plugins and applies the consent policy to conversations joined while
// the bot was away). Each conversation first replays the messages the
// client stored after the position it had handled (see the package doc:
// Durability), then takes the live stream. ctx bounds the
// streams as Stop does; Stop must be called in any case. Start returns
// once the streams are open; a failed Start leaves the bot stopped.
func (b *Bot) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.stopped:
		return ErrStopped
	case b.started:
		return ErrStarted
	}
	b.life, b.cancel = context.WithCancel(ctx)
	b.work, b.abort = context.WithCancel(context.WithoutCancel(ctx))
	if err := b.start(ctx); err != nil {
		b.stopped = true
		b.cancel()
		b.abort()
		_ = b.plugins.Stop(context.WithoutCancel(ctx))
		return err
	}
	b.started = true
	return nil
}

// start does Start's work, with b.mu held.
func (b *Bot) start(ctx context.Context) error {
	b.handler = b.chainHandlers()
	if err := b.plugins.Start(b.work); err != nil {
		return fmt.Errorf("bot: start plugins: %w", err)
	}
	convs, err := b.client.StreamConversations(b.life, nil)
	if err != nil {
		return fmt.Errorf("bot: stream conversations: %w", err)
	}
	msgs, err := b.client.StreamAllMessages(b.life, nil)
	if err != nil {
		_ = convs.Close()
		return fmt.Errorf("bot: stream messages: %w", err)
	}
	groups, err := b.client.FindGroups(ctx, &client.GroupQuery{ActiveOnly: true})
	if err != nil {
		_, _ = convs.Close(), msgs.Close()
		return fmt.Errorf("bot: list conversations: %w", err)
	}
	for _, g := range groups {
		b.convoLocked(g.ID())
	}
	b.readers.Add(2)
	go b.readConversations(convs)
	go b.readMessages(msgs)
	b.log.Info("bot started", "inbox_id", string(b.self), "conversations", len(groups),
		"consent", string(b.cfg.Consent.Mode))
	return nil
}

// chainHandlers returns the registered handlers as one, each wrapped in
// Recover and the Use middleware; nil when there are none.
func (b *Bot) chainHandlers() Handler {
	if len(b.handlers) == 0 {
		return nil
	}
	hs := make([]Handler, len(b.handlers))
	for i, h := range b.handlers {
		hs[i] = Chain(h, append([]Middleware{Recover()}, b.mws...)...)
	}
	return HandlerFunc(func(ctx context.Context, ev *Event) error {
		var errs []error
		for _, h := range hs {
			if err := h.HandleEvent(ctx, ev); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
}

// readConversations hands the conversations the bot joins to their
// goroutines until the stream ends.
func (b *Bot) readConversations(s *client.Stream[*client.Group]) {
	defer b.readers.Done()
	defer func() { _ = s.Close() }()
	for {
		g, err := s.Next(b.life)
		if err != nil {
			b.streamEnded("conversations", err)
			return
		}
		b.log.Info("joined conversation", "group_id", g.ID().String())
		if !b.route(g.ID(), item{joined: true}) {
			return
		}
	}
}

// readMessages hands each message to its conversation's goroutine until
// the stream ends.
func (b *Bot) readMessages(s *client.Stream[client.Message]) {
	defer b.readers.Done()
	defer func() { _ = s.Close() }()
	for {
		m, err := s.Next(b.life)
		if err != nil {
			b.streamEnded("messages", err)
			return
		}
		if !b.route(m.GroupID, item{msg: &m}) {
			return
		}
	}
}

func (b *Bot) streamEnded(which string, err error) {
	if b.life.Err() != nil {
		return
	}
	b.log.Error("client stream ended; the bot no longer receives from it", "stream", which, "error", err)
}

// convoLocked returns the conversation's state, creating it and starting
// its goroutine; b.mu must be held.
func (b *Bot) convoLocked(id client.GroupID) *convo {
	key := id.String()
	if c := b.convos[key]; c != nil {
		return c
	}
	c := &convo{b: b, id: id, key: key, log: b.log.With("group_id", key), queue: make(chan item, b.cfg.QueueSize)}
	b.convos[key] = c
	b.workers.Add(1)
	go c.run(b.work)
	return c
}

// route queues it for the conversation's goroutine, waiting while the
// queue is full (a full queue never drops). It returns false when the bot
// is stopping. Only the stream readers call it, so queues are closed only
// after they returned.
func (b *Bot) route(id client.GroupID, it item) bool {
	b.mu.Lock()
	if b.life.Err() != nil {
		b.mu.Unlock()
		return false
	}
	c := b.convoLocked(id)
	b.mu.Unlock()
	if it.msg != nil {
		c.waiting.Add(1)
	}
	select {
	case c.queue <- it:
		return true
	default:
	}
	c.log.Warn("conversation queue full; waiting", "queue_size", cap(c.queue))
	select {
	case c.queue <- it:
		return true
	case <-b.life.Done():
		if it.msg != nil {
			c.waiting.Add(-1)
		}
		return false
	}
}

// Stop stops the bot gracefully: it closes the streams, lets every
// conversation finish the events already queued, then stops the plugins
// (their Stoppers run, their scheduled funcs are cancelled). When ctx ends
// first, the handlers still running are cancelled and Stop returns ctx's
// error without waiting further (the events cut short, and those still
// queued, are handled at the next Start: see the package doc, Durability); [Bot.Done] tells when the last goroutine
// has returned. Stopping twice, or a bot never started, returns nil.
func (b *Bot) Stop(ctx context.Context) error {
	b.mu.Lock()
	if b.stopped || !b.started {
		b.stopped = true
		b.mu.Unlock()
		return nil
	}
	b.stopped = true
	b.cancel()
	b.mu.Unlock()

	go b.finish()
	var err error
	select {
	case <-b.done:
	case <-ctx.Done():
		b.abort()
		err = fmt.Errorf("bot: stop: %w", ctx.Err())
	}
	if perr := b.plugins.Stop(ctx); perr != nil && err == nil {
		err = perr
	}
	b.abort()
	b.log.Info("bot stopped", "graceful", err == nil)
	return err
}

// finish waits for the readers, closes the queues so the conversation
// goroutines drain them and return, waits for those, and closes done.
func (b *Bot) finish() {
	b.readers.Wait()
	b.mu.Lock()
	for _, c := range b.convos {
		close(c.queue)
	}
	b.mu.Unlock()
	b.workers.Wait()
	close(b.done)
}

// Done returns a channel closed once every goroutine of the bot has
// returned after Stop. It never closes for a bot that was not started.
func (b *Bot) Done() <-chan struct{} { return b.done }
