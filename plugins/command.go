package plugins

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"mlsbridge/commands"
)

// GroupOf tells the manager which group a command invocation came from.
// The bot implements it by inspecting the [commands.Actions] it passed to
// the dispatcher; false means the invocation is not in a group the
// manager serves.
type GroupOf func(inv *commands.Invocation) (GroupID, bool)

// Commands returns the chat commands of every offered plugin that is a
// [CommandProvider], in plugin ID order, for the bot to append to its
// command tree (commands.Builtins()). Each is a copy of the plugin's
// declaration whose handlers find the plugin's instance in the
// invocation's group (through groupOf) and run the same command's handler
// there, serialized with the instance's other calls and with panics
// recovered. In a group where the plugin is off, they fail with a
// *[NotEnabledError]. Commands fails when a plugin panics declaring its
// commands.
func (m *Manager) Commands(groupOf GroupOf) ([]*commands.Command, error) {
	var out []*commands.Command
	for _, info := range m.infos {
		var decls []*commands.Command
		err := protect(info.ID, "command", func() error {
			if cp, ok := info.New().(CommandProvider); ok {
				decls = cp.Commands()
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, c := range decls {
			out = append(out, m.wrapCommand(info.ID, groupOf, c, nil))
		}
	}
	return out, nil
}

// wrapCommand copies c, replacing its handler (and its subcommands'
// handlers) with ones that run on the group's instance. path holds the
// names of c's ancestors.
func (m *Manager) wrapCommand(id ID, groupOf GroupOf, c *commands.Command, path []string) *commands.Command {
	if c == nil {
		return nil
	}
	cp := *c
	path = append(path[:len(path):len(path)], c.Name)
	if c.Handler != nil {
		cp.Handler = m.commandHandler(id, groupOf, path)
	}
	cp.Subcommands = make([]*commands.Command, len(c.Subcommands))
	for i, sub := range c.Subcommands {
		cp.Subcommands[i] = m.wrapCommand(id, groupOf, sub, path)
	}
	if len(c.Subcommands) == 0 {
		cp.Subcommands = nil
	}
	return &cp
}

// commandHandler runs the command at path on plugin id's instance in the
// invocation's group.
func (m *Manager) commandHandler(id ID, groupOf GroupOf, path []string) commands.HandlerFunc {
	return func(ctx context.Context, inv *commands.Invocation) error {
		g, ok := groupOf(inv)
		if !ok {
			return &commands.NotSupportedError{Action: "run plugin commands in this conversation"}
		}
		grp, err := m.loaded(ctx, g)
		if err != nil {
			return err
		}
		inst := grp.instance(id)
		if inst == nil {
			return &NotEnabledError{Plugin: id}
		}
		err = inst.call(ctx, "command", func(ctx context.Context) error {
			cp, ok := inst.p.(CommandProvider)
			if !ok {
				return errors.New("plugin no longer provides commands")
			}
			h := findHandler(cp.Commands(), path)
			if h == nil {
				return fmt.Errorf("plugin has no command %q", strings.Join(path, " "))
			}
			return h(ctx, inv)
		})
		if errors.Is(err, ErrStopped) {
			err = &NotEnabledError{Plugin: id}
		}
		m.drain(ctx, grp)
		return err
	}
}

// findHandler returns the handler of the command at path in cmds.
func findHandler(cmds []*commands.Command, path []string) commands.HandlerFunc {
	var c *commands.Command
	for _, name := range path {
		c = nil
		for _, cand := range cmds {
			if cand != nil && cand.Name == name {
				c = cand
				break
			}
		}
		if c == nil {
			return nil
		}
		cmds = c.Subcommands
	}
	return c.Handler
}
