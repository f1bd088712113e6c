package plugins_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"mlsbridge/commands"
	"mlsbridge/plugins"
	"mlsbridge/plugins/plugintest"
)

// chat is the commands.Actions of one group in these tests.
type chat struct {
	group   plugins.GroupID
	replies []string
}

func (c *chat) Reply(_ context.Context, text string) error {
	c.replies = append(c.replies, text)
	return nil
}

func groupOfChat(inv *commands.Invocation) (plugins.GroupID, bool) {
	c, ok := inv.Actions.(*chat)
	if !ok {
		return "", false
	}
	return c.group, true
}

func TestPluginCommands(t *testing.T) {
	j := &journal{}
	h := plugintest.New(t, probeInfo("test.alpha", j), probeInfo("test.beta", j))
	cmds, err := h.Manager.Commands(groupOfChat)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 2 || cmds[0].Name != "alpha" || cmds[1].Name != "beta" {
		t.Fatalf("Commands = %v, want alpha and beta", cmds)
	}
	d, err := commands.New(commands.Config{Commands: cmds})
	if err != nil {
		t.Fatalf("the plugin commands do not make a valid tree: %v", err)
	}
	enable(t, h, groupA, "test.alpha", `{"prefix":"A says"}`)
	a, b := &chat{group: groupA}, &chat{group: groupB}
	ctx := context.Background()
	if err := d.Dispatch(ctx, a, commands.Message{Text: "!alpha hello"}); err != nil {
		t.Fatalf("Dispatch in group A: %v", err)
	}
	if len(a.replies) != 1 || a.replies[0] != "A says hello" || !j.has("test.alpha:command:aaaa:hello") {
		t.Errorf("replies %v, journal %v", a.replies, j.all())
	}
	err = d.Dispatch(ctx, b, commands.Message{Text: "!alpha hello"})
	if !errors.Is(err, plugins.ErrNotEnabled) || len(b.replies) != 1 || !strings.Contains(b.replies[0], "off in this group") {
		t.Errorf("Dispatch where the plugin is off = %v, replies %v", err, b.replies)
	}
	err = d.Dispatch(ctx, replyOnlyChat{}, commands.Message{Text: "!alpha hello"})
	if !errors.Is(err, commands.ErrNotSupported) {
		t.Errorf("Dispatch outside a served group = %v, want not supported", err)
	}
}

type replyOnlyChat struct{}

func (replyOnlyChat) Reply(context.Context, string) error { return nil }

func TestPluginCommandPanicIsRecovered(t *testing.T) {
	j := &journal{}
	h := plugintest.New(t, probeInfo("test.alpha", j))
	cmds, err := h.Manager.Commands(groupOfChat)
	if err != nil {
		t.Fatal(err)
	}
	d, err := commands.New(commands.Config{Commands: cmds})
	if err != nil {
		t.Fatal(err)
	}
	enable(t, h, groupA, "test.alpha", `{"panic":"command"}`)
	a := &chat{group: groupA}
	err = d.Dispatch(context.Background(), a, commands.Message{Text: "!alpha x"})
	pe, ok := errors.AsType[*plugins.PanicError](err)
	if !ok || pe.Call != "command" || pe.Plugin != "test.alpha" {
		t.Fatalf("Dispatch = %v, want a *plugins.PanicError", err)
	}
	if len(a.replies) != 1 || strings.Contains(a.replies[0], "probe panics") {
		t.Errorf("reply = %v, want an apology without the panic", a.replies)
	}
	// The instance still works.
	if err := h.Manager.Handle(context.Background(), groupA, message("x", "hi")); err != nil {
		t.Fatal(err)
	}
	if !j.has("test.alpha:message:aaaa") {
		t.Errorf("the plugin stopped getting events after a command panic")
	}
}
