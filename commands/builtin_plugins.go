package commands

import (
	"context"
	"fmt"

	"mlsbridge/policy"
)

var pluginArg = ArgSpec{Name: "plugin", Kind: ArgWord, Help: "a plugin id, as plugins list shows it"}

func pluginsCommand() *Command {
	return &Command{
		Name:    "plugins",
		Aliases: []string{"plugin"},
		Summary: "list, enable, disable and configure plugins in this group",
		Subcommands: []*Command{
			{
				Name:    "list",
				Aliases: []string{"ls"},
				Summary: "list the plugins and whether each is on here",
				Handler: listPlugins,
			},
			{
				Name:    "enable",
				Aliases: []string{"on"},
				Summary: "turn a plugin on in this group",
				Args:    []ArgSpec{pluginArg},
				Role:    policy.RoleAdmin,
				Handler: enablePlugin(true),
			},
			{
				Name:    "disable",
				Aliases: []string{"off"},
				Summary: "turn a plugin off in this group",
				Args:    []ArgSpec{pluginArg},
				Role:    policy.RoleAdmin,
				Handler: enablePlugin(false),
			},
			{
				Name:    "config",
				Summary: "show a plugin's settings here, or change one",
				Args: []ArgSpec{
					pluginArg,
					{Name: "key", Kind: ArgWord, Arity: Optional, Help: "the setting to change; without it, the settings are shown"},
					{Name: "value", Kind: ArgText, Arity: Optional, Help: "the new value: the rest of the message"},
				},
				Role:    policy.RoleAdmin,
				Handler: configurePlugin,
			},
		},
	}
}

func listPlugins(ctx context.Context, inv *Invocation) error {
	pm, err := capability[PluginManager](inv, "manage plugins")
	if err != nil {
		return err
	}
	ps, err := pm.Plugins(ctx)
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		return inv.Reply(ctx, "No plugins are installed.")
	}
	lines := make([]string, len(ps))
	for i, p := range ps {
		state := "off"
		if p.Enabled {
			state = "on"
		}
		lines[i] = p.ID + ": " + state
		if p.Summary != "" {
			lines[i] += " — " + p.Summary
		}
	}
	return inv.Reply(ctx, listLines("Plugins:", lines))
}

// findPlugin returns the plugin named by the "plugin" argument, or a
// *UserError naming the closest one.
func findPlugin(ctx context.Context, pm PluginManager, inv *Invocation) (PluginInfo, error) {
	ps, err := pm.Plugins(ctx)
	if err != nil {
		return PluginInfo{}, err
	}
	id := inv.Args.Text("plugin")
	ids := make([]string, len(ps))
	for i, p := range ps {
		if p.ID == id {
			return p, nil
		}
		ids[i] = p.ID
	}
	msg := fmt.Sprintf("There is no plugin %q.", snippet(id, 48))
	if s := closest(ids, id); s != "" {
		msg += fmt.Sprintf(" Did you mean %s?", s)
	}
	return PluginInfo{}, &UserError{Message: msg + fmt.Sprintf(" Type %splugins list to see them.", inv.Prefix())}
}

func enablePlugin(on bool) HandlerFunc {
	verb, state := "disable plugins", "off"
	if on {
		verb, state = "enable plugins", "on"
	}
	return func(ctx context.Context, inv *Invocation) error {
		pm, err := capability[PluginManager](inv, verb)
		if err != nil {
			return err
		}
		p, err := findPlugin(ctx, pm, inv)
		if err != nil {
			return err
		}
		if p.Enabled == on {
			return inv.Reply(ctx, fmt.Sprintf("%s is already %s here.", p.ID, state))
		}
		if err := pm.SetPluginEnabled(ctx, p.ID, on); err != nil {
			return err
		}
		return inv.Reply(ctx, fmt.Sprintf("%s is now %s here.", p.ID, state))
	}
}

func configurePlugin(ctx context.Context, inv *Invocation) error {
	pm, err := capability[PluginManager](inv, "configure plugins")
	if err != nil {
		return err
	}
	if inv.Args.Has("key") && !inv.Args.Has("value") {
		return inv.UsageErrorf("Give a value for %s (\"\" for an empty one).", inv.Args.Text("key"))
	}
	p, err := findPlugin(ctx, pm, inv)
	if err != nil {
		return err
	}
	if !inv.Args.Has("key") {
		text, err := pm.PluginConfig(ctx, p.ID)
		if err != nil {
			return err
		}
		if text == "" {
			text = "(no settings)"
		}
		return inv.Reply(ctx, p.ID+" settings here:\n"+text)
	}
	key := inv.Args.Text("key")
	if err := pm.SetPluginConfig(ctx, p.ID, key, inv.Args.Text("value")); err != nil {
		return err
	}
	return inv.Reply(ctx, fmt.Sprintf("Set %s of %s.", key, p.ID))
}
