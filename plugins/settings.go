package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"mlsbridge/commands"
)

// Plugins lists every plugin the manager offers, in ID order, with whether
// it is enabled in group g and its summary, as "plugins list" shows them.
func (m *Manager) Plugins(ctx context.Context, g GroupID) ([]commands.PluginInfo, error) {
	grp, err := m.loaded(ctx, g)
	if err != nil {
		return nil, err
	}
	out := make([]commands.PluginInfo, len(m.infos))
	for i, info := range m.infos {
		out[i] = commands.PluginInfo{ID: string(info.ID), Enabled: grp.setting(info.ID).Enabled, Summary: info.Summary}
	}
	return out, nil
}

// lookup returns the plugin named id, or an *UnknownPluginError.
func (m *Manager) lookup(id string) (Info, error) {
	if info, ok := m.byID[ID(id)]; ok {
		return info, nil
	}
	return Info{}, &UnknownPluginError{ID: id}
}

// SetEnabled turns plugin id on or off in group g and persists it. Turning
// it on builds it from the stored config and starts it: a stored config the
// plugin now refuses gives a *[ConfigError] and leaves it off. Turning it
// off stops it; its config and data stay. Setting the current state again
// does nothing.
func (m *Manager) SetEnabled(ctx context.Context, g GroupID, id ID, on bool) error {
	info, err := m.lookup(string(id))
	if err != nil {
		return err
	}
	grp, err := m.loaded(ctx, g)
	if err != nil {
		return err
	}
	grp.op.Lock()
	defer grp.op.Unlock()
	s := grp.setting(id)
	if s.Enabled == on && (grp.instance(id) != nil) == on {
		return nil
	}
	s.Enabled = on
	if !on {
		return m.apply(ctx, grp, s, nil)
	}
	p, err := build(info, s.Config)
	if err != nil {
		return err
	}
	return m.apply(ctx, grp, s, p)
}

// SetConfig validates raw as plugin id's config (a JSON object; empty or
// null for the defaults) and persists it for group g. A config the plugin
// refuses gives a *[ConfigError] and changes nothing. When the plugin is
// enabled, its instance is replaced by one with the new config (the old
// one is stopped first).
func (m *Manager) SetConfig(ctx context.Context, g GroupID, id ID, raw json.RawMessage) error {
	info, err := m.lookup(string(id))
	if err != nil {
		return err
	}
	grp, err := m.loaded(ctx, g)
	if err != nil {
		return err
	}
	grp.op.Lock()
	defer grp.op.Unlock()
	raw, err = compactConfig(raw)
	if err != nil {
		return &ConfigError{Plugin: id, Reason: err.Error(), Err: err}
	}
	p, err := build(info, raw)
	if err != nil {
		return err
	}
	s := grp.setting(id)
	s.Config = raw
	return m.apply(ctx, grp, s, p)
}

var configKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// SetConfigKey changes one top-level key of plugin id's config in group g,
// as an admin types it in chat ("plugins config <id> <key> <value>"), and
// applies it as [Manager.SetConfig] does. value is read as JSON when it is
// valid JSON that the plugin accepts (5, true, ["a", "b"], "quoted"), and
// otherwise as text, so "10m" and "spam, scam" need no quotes. An empty
// value removes the key, restoring the plugin's default. A refused value
// gives a *[ConfigError] naming the key.
func (m *Manager) SetConfigKey(ctx context.Context, g GroupID, id ID, key, value string) error {
	info, err := m.lookup(string(id))
	if err != nil {
		return err
	}
	if !configKeyRE.MatchString(key) {
		return &ConfigError{Plugin: id, Key: key, Reason: "there is no such setting", Err: errors.New("bad key")}
	}
	grp, err := m.loaded(ctx, g)
	if err != nil {
		return err
	}
	grp.op.Lock()
	defer grp.op.Unlock()
	s := grp.setting(id)
	candidates := valueCandidates(value)
	if value == "" {
		candidates = []json.RawMessage{nil}
	}
	var first error
	for _, v := range candidates {
		raw, err := setKey(s.Config, key, v)
		if err != nil {
			return &ConfigError{Plugin: id, Key: key, Reason: err.Error(), Err: err}
		}
		p, err := build(info, raw)
		if err == nil {
			s.Config = raw
			return m.apply(ctx, grp, s, p)
		}
		if first == nil {
			first = err
		}
	}
	if ce, ok := errors.AsType[*ConfigError](first); ok {
		ce.Key = key
	}
	return first
}

// apply persists s and makes built plugin p (nil when s is disabled) the
// running instance, stopping the old one first. Called with grp.op held.
func (m *Manager) apply(ctx context.Context, grp *group, s Setting, p Plugin) error {
	if err := m.settings.SavePluginSetting(ctx, grp.id, s); err != nil {
		return fmt.Errorf("plugins: save %s setting: %w", s.Plugin, err)
	}
	if old := grp.replace(s, nil); old != nil {
		old.stop(ctx, true)
	}
	m.log.Info("plugin setting changed", "plugin", string(s.Plugin), "group_id", string(grp.id), "enabled", s.Enabled)
	if !s.Enabled {
		return nil
	}
	info := m.byID[s.Plugin]
	inst, err := m.start(ctx, grp, info, p)
	if err != nil {
		return err // saved: the next load tries again
	}
	grp.replace(s, inst)
	m.drain(ctx, grp)
	return nil
}

// ConfigText returns plugin id's effective config in group g as "key:
// value" lines for a person, defaults filled in; empty when the plugin has
// no settings. When the stored config is no longer valid, it returns the
// stored JSON and the reason.
func (m *Manager) ConfigText(ctx context.Context, g GroupID, id ID) (string, error) {
	info, err := m.lookup(string(id))
	if err != nil {
		return "", err
	}
	grp, err := m.loaded(ctx, g)
	if err != nil {
		return "", err
	}
	s := grp.setting(id)
	p, err := build(info, s.Config)
	if ce, ok := errors.AsType[*ConfigError](err); ok {
		return fmt.Sprintf("%s\n(not valid: %s)", s.Config, ce.Reason), nil
	} else if err != nil {
		return "", err
	}
	return describeConfig(p)
}

// compactConfig returns raw compacted, or nil for empty and null.
func compactConfig(raw json.RawMessage) (json.RawMessage, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, t); err != nil {
		return nil, errors.New("the settings are not valid JSON")
	}
	return buf.Bytes(), nil
}

// GroupPlugins is the manager seen from one group, with the method set
// [commands.PluginManager] needs besides Reply: the bot embeds it in the
// Actions it gives the command dispatcher.
type GroupPlugins struct {
	m *Manager
	g GroupID
}

// Compile-time check: GroupPlugins plus a Reply makes a PluginManager.
var _ commands.PluginManager = struct {
	commands.Actions
	GroupPlugins
}{}

// ForGroup returns the manager's plugin administration for group g.
func (m *Manager) ForGroup(g GroupID) GroupPlugins { return GroupPlugins{m: m, g: g} }

// Plugins calls [Manager.Plugins].
func (gp GroupPlugins) Plugins(ctx context.Context) ([]commands.PluginInfo, error) {
	return gp.m.Plugins(ctx, gp.g)
}

// SetPluginEnabled calls [Manager.SetEnabled].
func (gp GroupPlugins) SetPluginEnabled(ctx context.Context, id string, enabled bool) error {
	return gp.m.SetEnabled(ctx, gp.g, ID(id), enabled)
}

// PluginConfig calls [Manager.ConfigText].
func (gp GroupPlugins) PluginConfig(ctx context.Context, id string) (string, error) {
	return gp.m.ConfigText(ctx, gp.g, ID(id))
}

// SetPluginConfig calls [Manager.SetConfigKey].
func (gp GroupPlugins) SetPluginConfig(ctx context.Context, id, key, value string) error {
	return gp.m.SetConfigKey(ctx, gp.g, ID(id), key, value)
}
