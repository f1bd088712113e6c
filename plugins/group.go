package plugins

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// group is the manager's state for one group. op serializes loading,
// unloading and settings changes (which do I/O and call plugin hooks); mu
// guards the maps for quick reads by Handle.
type group struct {
	id GroupID
	op sync.Mutex

	mu       sync.Mutex
	loaded   bool
	unloaded bool
	settings map[ID]Setting
	running  map[ID]*instance

	rmu     sync.Mutex // guards reports; never held while calling out
	reports []Violation
}

// snapshot returns the running instances in ID order.
func (g *group) snapshot() []*instance {
	g.mu.Lock()
	out := make([]*instance, 0, len(g.running))
	for _, inst := range g.running {
		out = append(out, inst)
	}
	g.mu.Unlock()
	slices.SortFunc(out, func(a, b *instance) int { return strings.Compare(string(a.info.ID), string(b.info.ID)) })
	return out
}

func (g *group) instance(id ID) *instance {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.running[id]
}

func (g *group) setting(id ID) Setting {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s, ok := g.settings[id]; ok {
		return s
	}
	return Setting{Plugin: id}
}

// replace records s and makes inst (nil for none) the running instance of
// s.Plugin, returning the instance it replaces.
func (g *group) replace(s Setting, inst *instance) *instance {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.settings[s.Plugin] = s
	old := g.running[s.Plugin]
	if inst == nil {
		delete(g.running, s.Plugin)
	} else {
		g.running[s.Plugin] = inst
	}
	return old
}

func (g *group) report(v Violation) {
	g.rmu.Lock()
	defer g.rmu.Unlock()
	g.reports = append(g.reports, v)
}

func (g *group) nextReport() (Violation, bool) {
	g.rmu.Lock()
	defer g.rmu.Unlock()
	if len(g.reports) == 0 {
		return Violation{}, false
	}
	v := g.reports[0]
	g.reports = g.reports[1:]
	return v, true
}

// groupFor returns the group's state, creating it, while the manager runs.
func (m *Manager) groupFor(id GroupID) (*group, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.stopped:
		return nil, ErrStopped
	case m.life == nil:
		return nil, ErrNotStarted
	}
	g := m.groups[id]
	if g == nil {
		g = &group{id: id, settings: map[ID]Setting{}, running: map[ID]*instance{}}
		m.groups[id] = g
	}
	return g, nil
}

// LoadGroup reads group g's settings and starts its enabled plugins, if
// that was not done yet; [Manager.Handle] and the settings methods do it
// on first use. Call it when the bot starts serving a group, so plugins
// that act on their own (after a restart, say) start without waiting for
// an event. A plugin that fails to start is logged and skipped. LoadGroup
// fails only when the settings cannot be read.
func (m *Manager) LoadGroup(ctx context.Context, g GroupID) error {
	_, err := m.loaded(ctx, g)
	return err
}

// loaded returns group id's state, loading it first if needed.
func (m *Manager) loaded(ctx context.Context, id GroupID) (*group, error) {
	for {
		g, err := m.groupFor(id)
		if err != nil {
			return nil, err
		}
		g.mu.Lock()
		done, gone := g.loaded, g.unloaded
		g.mu.Unlock()
		switch {
		case gone:
			continue // unloaded meanwhile: groupFor makes a fresh one
		case done:
			return g, nil
		}
		if err := m.load(ctx, g); err != nil {
			return nil, err
		}
	}
}

// load reads g's settings and starts its enabled plugins.
func (m *Manager) load(ctx context.Context, g *group) error {
	g.op.Lock()
	defer g.op.Unlock()
	g.mu.Lock()
	done := g.loaded || g.unloaded
	g.mu.Unlock()
	if done {
		return nil
	}
	stored, err := m.settings.PluginSettings(ctx, g.id)
	if err != nil {
		return fmt.Errorf("plugins: load settings of group %s: %w", g.id, err)
	}
	slices.SortFunc(stored, func(a, b Setting) int { return strings.Compare(string(a.Plugin), string(b.Plugin)) })
	for _, s := range stored {
		info, known := m.byID[s.Plugin]
		var inst *instance
		switch {
		case !known:
			m.log.Warn("stored setting of unknown plugin ignored", "plugin", string(s.Plugin), "group_id", string(g.id))
		case s.Enabled:
			inst, err = m.startInstance(ctx, g, info, s.Config)
			if err != nil {
				m.log.Error("plugin not started", "plugin", string(s.Plugin), "group_id", string(g.id), "error", err)
			}
		}
		g.replace(s, inst)
	}
	g.mu.Lock()
	g.loaded = true
	g.mu.Unlock()
	m.drain(ctx, g)
	return nil
}

// UnloadGroup stops every plugin instance of group g, as when the bot
// leaves it; settings and data stay stored. ctx bounds the plugins'
// Stoppers. Unloading a group that is not loaded does nothing.
func (m *Manager) UnloadGroup(ctx context.Context, g GroupID) error {
	m.mu.Lock()
	grp := m.groups[g]
	delete(m.groups, g)
	m.mu.Unlock()
	if grp != nil {
		m.stopGroup(ctx, grp)
	}
	return nil
}

// stopGroup marks grp unloaded and stops its instances.
func (m *Manager) stopGroup(ctx context.Context, grp *group) {
	grp.op.Lock()
	defer grp.op.Unlock()
	grp.mu.Lock()
	grp.unloaded = true
	running := grp.running
	grp.running = map[ID]*instance{}
	grp.mu.Unlock()
	for _, inst := range running {
		inst.stop(ctx, true)
	}
	if len(running) > 0 {
		m.log.Info("plugins stopped in group", "group_id", string(grp.id), "count", len(running))
	}
}

// build returns a configured, provisioned and validated instance of info's
// plugin, not started. Errors are *ConfigError, or *PanicError when the
// plugin panicked.
func build(info Info, raw []byte) (Plugin, error) {
	var p Plugin
	err := protect(info.ID, "new", func() error { p = info.New(); return nil })
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, &PanicError{Plugin: info.ID, Call: "new", Value: "New returned nil"}
	}
	if err := decodeConfig(raw, p); err != nil {
		return nil, &ConfigError{Plugin: info.ID, Reason: err.Error(), Err: err}
	}
	for _, step := range []struct {
		call string
		fn   func() error
	}{{"provision", provisionOf(p)}, {"validate", validateOf(p)}} {
		if err := protect(info.ID, step.call, step.fn); err != nil {
			if _, isPanic := err.(*PanicError); isPanic {
				return nil, err
			}
			return nil, &ConfigError{Plugin: info.ID, Reason: err.Error(), Err: err}
		}
	}
	return p, nil
}

func provisionOf(p Plugin) func() error {
	if pv, ok := p.(Provisioner); ok {
		return pv.Provision
	}
	return func() error { return nil }
}

func validateOf(p Plugin) func() error {
	if v, ok := p.(Validator); ok {
		return v.Validate
	}
	return func() error { return nil }
}

// startInstance builds info's plugin with raw and starts it in g.
func (m *Manager) startInstance(ctx context.Context, g *group, info Info, raw []byte) (*instance, error) {
	p, err := build(info, raw)
	if err != nil {
		return nil, err
	}
	return m.start(ctx, g, info, p)
}

// start wraps built plugin p in an instance of g and calls its Starter.
func (m *Manager) start(ctx context.Context, g *group, info Info, p Plugin) (*instance, error) {
	inst := m.newInstance(g, info, p)
	if s, ok := p.(Starter); ok {
		err := inst.call(ctx, "start", func(ctx context.Context) error { return s.Start(ctx, inst.host) })
		if err != nil {
			inst.stop(ctx, false)
			return nil, fmt.Errorf("plugins: start %s: %w", info.ID, err)
		}
	}
	inst.host.log.Info("plugin started")
	return inst, nil
}
