package plugintest

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"sync"

	"mlsbridge/plugins"
)

// Compile-time checks.
var (
	_ plugins.SettingsStore = (*Store)(nil)
	_ plugins.DataStore     = (*Store)(nil)
)

// Store is an in-memory [plugins.SettingsStore] and [plugins.DataStore].
// It copies values in and out, as a database would. Err, when set, fails
// every call with its result. Safe for concurrent use.
type Store struct {
	// Err, when non-nil, is called first by every method; a non-nil
	// result is returned and nothing is read or written.
	Err func(op string) error

	mu       sync.Mutex
	settings map[plugins.GroupID]map[plugins.ID]plugins.Setting
	data     map[dataKey][]byte
}

type dataKey struct {
	g      plugins.GroupID
	plugin plugins.ID
	key    string
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{settings: map[plugins.GroupID]map[plugins.ID]plugins.Setting{}, data: map[dataKey][]byte{}}
}

func (s *Store) fail(op string) error {
	if s.Err == nil {
		return nil
	}
	return s.Err(op)
}

// PluginSettings returns group g's settings, sorted by plugin ID.
func (s *Store) PluginSettings(_ context.Context, g plugins.GroupID) ([]plugins.Setting, error) {
	if err := s.fail("settings"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []plugins.Setting
	for _, id := range slices.Sorted(maps.Keys(s.settings[g])) {
		out = append(out, cloneSetting(s.settings[g][id]))
	}
	return out, nil
}

// SavePluginSetting stores a copy of st.
func (s *Store) SavePluginSetting(_ context.Context, g plugins.GroupID, st plugins.Setting) error {
	if err := s.fail("save_setting"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.settings[g] == nil {
		s.settings[g] = map[plugins.ID]plugins.Setting{}
	}
	s.settings[g][st.Plugin] = cloneSetting(st)
	return nil
}

// Setting returns the stored setting of plugin id in group g.
func (s *Store) Setting(g plugins.GroupID, id plugins.ID) (plugins.Setting, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.settings[g][id]
	return cloneSetting(st), ok
}

func cloneSetting(st plugins.Setting) plugins.Setting {
	st.Config = json.RawMessage(slices.Clone([]byte(st.Config)))
	return st
}

// PluginData returns a copy of the value of key.
func (s *Store) PluginData(_ context.Context, g plugins.GroupID, plugin plugins.ID, key string) ([]byte, bool, error) {
	if err := s.fail("data"); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[dataKey{g, plugin, key}]
	return slices.Clone(v), ok, nil
}

// SetPluginData stores a copy of value.
func (s *Store) SetPluginData(_ context.Context, g plugins.GroupID, plugin plugins.ID, key string, value []byte) error {
	if err := s.fail("set_data"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[dataKey{g, plugin, key}] = append([]byte{}, value...)
	return nil
}

// DeletePluginData removes key.
func (s *Store) DeletePluginData(_ context.Context, g plugins.GroupID, plugin plugins.ID, key string) error {
	if err := s.fail("delete_data"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.data, dataKey{g, plugin, key})
	return nil
}

// DataKeys returns the keys plugin holds in group g, sorted.
func (s *Store) DataKeys(g plugins.GroupID, plugin plugins.ID) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.data {
		if k.g == g && k.plugin == plugin {
			out = append(out, k.key)
		}
	}
	slices.Sort(out)
	return out
}
