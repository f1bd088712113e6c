package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultCallTimeout bounds each call into a plugin when
// Config.CallTimeout is zero.
const DefaultCallTimeout = 30 * time.Second

// Config configures a [Manager]. Actions, Settings and Data are required.
type Config struct {
	// Actions is how plugins act in groups; the bot implements it.
	Actions Actions
	// Settings persists per-group enablement and config.
	Settings SettingsStore
	// Data persists plugins' key-value data ([KV]).
	Data DataStore
	// Logger receives the manager's and the plugins' logs. Nil discards
	// them.
	Logger *slog.Logger
	// Clock is the time source for plugins and schedules. Nil means the
	// system clock.
	Clock Clock
	// Plugins are the plugins the manager offers. Nil means every plugin
	// registered when [NewManager] is called ([List]).
	Plugins []Info
	// CallTimeout bounds each call into a plugin (an event, a scheduled
	// func, a lifecycle hook, a command). Zero means [DefaultCallTimeout].
	CallTimeout time.Duration
}

// Manager hosts plugin instances for every group of the bot: it loads each
// group's settings, builds and starts the enabled plugins, delivers events
// to them and applies admins' changes. It owns no goroutine of its own;
// scheduled funcs run on the clock's timer goroutines and Stop waits for
// them. All methods are safe for concurrent use.
type Manager struct {
	actions  Actions
	settings SettingsStore
	data     DataStore
	log      *slog.Logger
	clock    Clock
	timeout  time.Duration
	infos    []Info // sorted by ID
	byID     map[ID]Info

	mu      sync.Mutex // guards the fields below
	life    context.Context
	cancel  context.CancelFunc
	stopped bool
	groups  map[GroupID]*group

	wg sync.WaitGroup // scheduled funcs in progress
}

// NewManager returns a Manager for cfg, not yet started. It fails when a
// required field is missing, or when cfg.Plugins holds an invalid or
// repeated ID or a nil New.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Actions == nil || cfg.Settings == nil || cfg.Data == nil {
		return nil, errors.New("plugins: Config needs Actions, Settings and Data")
	}
	m := &Manager{actions: cfg.Actions, settings: cfg.Settings, data: cfg.Data, log: cfg.Logger,
		clock: cfg.Clock, timeout: cfg.CallTimeout, byID: map[ID]Info{}, groups: map[GroupID]*group{}}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.clock == nil {
		m.clock = systemClock{}
	}
	if m.timeout <= 0 {
		m.timeout = DefaultCallTimeout
	}
	infos := cfg.Plugins
	if infos == nil {
		infos = List()
	}
	for _, info := range infos {
		if _, err := ParseID(string(info.ID)); err != nil {
			return nil, fmt.Errorf("plugins: new manager: %w", err)
		}
		if _, dup := m.byID[info.ID]; dup || info.New == nil {
			return nil, fmt.Errorf("plugins: new manager: plugin %q repeated or without New", info.ID)
		}
		m.byID[info.ID] = info
		m.infos = append(m.infos, info)
	}
	slices.SortFunc(m.infos, func(a, b Info) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return m, nil
}

// Start makes the manager ready. ctx is its lifetime: scheduled funcs get
// contexts derived from it. Start does no I/O; groups load on first use or
// with [Manager.LoadGroup]. Starting twice is an error.
func (m *Manager) Start(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.stopped:
		return ErrStopped
	case m.life != nil:
		return errors.New("plugins: manager already started")
	}
	m.life, m.cancel = context.WithCancel(ctx)
	return nil
}

// Stop stops every instance of every group (cancelling their schedules and
// calling their Stoppers) and waits for scheduled funcs in progress, until
// ctx ends; then it returns ctx's error. Afterwards every method returns
// [ErrStopped]. Stopping twice does nothing.
func (m *Manager) Stop(ctx context.Context) error {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return nil
	}
	m.stopped = true
	groups := make([]*group, 0, len(m.groups))
	for _, g := range m.groups {
		groups = append(groups, g)
	}
	m.groups = nil
	m.mu.Unlock()
	for _, g := range groups {
		m.stopGroup(ctx, g)
	}
	if m.cancel != nil {
		m.cancel()
	}
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("plugins: stop: %w", ctx.Err())
	}
}

// lifetime returns the manager's lifetime ctx; only called once started.
func (m *Manager) lifetime() context.Context {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.life
}

// track registers a scheduled func about to run, unless the manager has
// stopped.
func (m *Manager) track() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return false
	}
	m.wg.Add(1)
	return true
}

// Handle delivers ev to every enabled plugin of group g, in ID order, one
// after the other, and then delivers the violations they reported. It
// loads the group first if needed. Plugin errors and panics are logged and
// do not stop the other plugins; Handle returns an error only when the
// group cannot be loaded or the manager is not running. It blocks while
// plugins run; ctx bounds them.
func (m *Manager) Handle(ctx context.Context, g GroupID, ev Event) error {
	if ev == nil {
		return errors.New("plugins: handle a nil event")
	}
	grp, err := m.loaded(ctx, g)
	if err != nil {
		return err
	}
	for _, inst := range grp.snapshot() {
		m.deliver(ctx, inst, ev)
	}
	m.drain(ctx, grp)
	return nil
}

// deliver calls inst's HandleEvent with ev and logs a failure.
func (m *Manager) deliver(ctx context.Context, inst *instance, ev Event) {
	_, isViolation := ev.(Violation)
	err := inst.call(ctx, "event", func(ctx context.Context) error {
		inst.inViolation.Store(isViolation)
		defer inst.inViolation.Store(false)
		return inst.p.HandleEvent(ctx, inst.host, ev)
	})
	inst.host.log.Debug("plugin event handled", "event", eventName(ev), "ok", err == nil)
	m.logCallError(inst, "event", err)
}

// drain delivers the violations reported in grp to its instances, except
// to the reporter.
func (m *Manager) drain(ctx context.Context, grp *group) {
	for {
		v, ok := grp.nextReport()
		if !ok {
			return
		}
		for _, inst := range grp.snapshot() {
			if inst.info.ID != v.Plugin {
				m.deliver(ctx, inst, v)
			}
		}
	}
}

func eventName(ev Event) string {
	switch ev.(type) {
	case Message:
		return "message"
	case MembersAdded:
		return "members_added"
	case MembersRemoved:
		return "members_removed"
	case MetadataChanged:
		return "metadata_changed"
	case LeaveRequested:
		return "leave_requested"
	case Violation:
		return "violation"
	}
	return fmt.Sprintf("%T", ev)
}
