package plugins

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// Info describes a plugin to the registry.
type Info struct {
	// ID is the plugin's namespaced ID; see [ID] for the rules.
	ID ID
	// Summary is a one-line description for "plugins list"; empty shows
	// none.
	Summary string
	// New returns a new, unconfigured instance: a non-nil pointer. It must
	// be side-effect-free (no I/O, no goroutines, no globals), because the
	// manager also calls it to check configs and to read command
	// declarations.
	New func() Plugin
}

var registry struct {
	mu    sync.RWMutex
	infos map[ID]Info
}

// Register adds a plugin to the registry. Call it from init. It panics, as
// programmer errors, on an invalid ID, an ID already registered, a nil New,
// or a New that returns nil or a non-pointer. Register is safe for
// concurrent use.
func Register(info Info) {
	if err := checkInfo(info); err != nil {
		panic("plugins: Register: " + err.Error())
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if _, dup := registry.infos[info.ID]; dup {
		panic(fmt.Sprintf("plugins: Register: plugin %q already registered", info.ID))
	}
	if registry.infos == nil {
		registry.infos = map[ID]Info{}
	}
	registry.infos[info.ID] = info
}

// checkInfo returns what is wrong with info, calling New once to check its
// result.
func checkInfo(info Info) error {
	if _, err := ParseID(string(info.ID)); err != nil {
		return err
	}
	if info.New == nil {
		return fmt.Errorf("plugin %q has a nil New", info.ID)
	}
	if strings.ContainsAny(info.Summary, "\n\r") {
		return fmt.Errorf("plugin %q: summary must be one line", info.ID)
	}
	p := info.New()
	if p == nil {
		return fmt.Errorf("plugin %q: New returned nil", info.ID)
	}
	if v := reflect.ValueOf(p); v.Kind() != reflect.Pointer || v.IsNil() {
		return fmt.Errorf("plugin %q: New must return a non-nil pointer, got %T", info.ID, p)
	}
	return nil
}

// Lookup returns the registered plugin with id.
func Lookup(id ID) (Info, bool) {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	info, ok := registry.infos[id]
	return info, ok
}

// List returns every registered plugin, sorted by ID. The caller owns the
// slice.
func List() []Info {
	registry.mu.RLock()
	out := make([]Info, 0, len(registry.infos))
	for _, info := range registry.infos {
		out = append(out, info)
	}
	registry.mu.RUnlock()
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out
}
