package bot

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"mlsbridge/client"
)

// recMetrics records what the bot reports.
type recMetrics struct {
	mu                 sync.Mutex
	groups             int
	received, sent     int
	commands, pluginOp []string
}

func (m *recMetrics) AddGroups(d int)  { m.mu.Lock(); m.groups += d; m.mu.Unlock() }
func (m *recMetrics) MessageReceived() { m.mu.Lock(); m.received++; m.mu.Unlock() }
func (m *recMetrics) MessageSent()     { m.mu.Lock(); m.sent++; m.mu.Unlock() }
func (m *recMetrics) ObserveCommand(c, o string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d <= 0 {
		o += " (no duration)"
	}
	m.commands = append(m.commands, c+" "+o)
}
func (m *recMetrics) PluginAction(p, a string) {
	m.mu.Lock()
	m.pluginOp = append(m.pluginOp, p+" "+a)
	m.mu.Unlock()
}

func (m *recMetrics) snapshot() recMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	return recMetrics{groups: m.groups, received: m.received, sent: m.sent,
		commands: slices.Clone(m.commands), pluginOp: slices.Clone(m.pluginOp)}
}

// TestMetricsSink: the bot reports served conversations, messages in and
// out, each command by top-level name and outcome, and each plugin action
// with the plugin's id (a command's !delete is not a plugin action).
func TestMetricsSink(t *testing.T) {
	addr := startNode(t)
	rec := &recMetrics{}
	b := newBot(t, addr, func(c *Config) { c.Metrics = rec })
	b.start(t)
	alice := newUser(t, addr, "alice")
	bob := newUser(t, addr, "bob")
	ac := newChat(t, alice, b.InboxID(), bob.InboxID())
	bc := joinChat(t, bob)
	if err := ac.g.AddSuperAdmin(ctxT(t), b.InboxID()); err != nil {
		t.Fatal(err)
	}

	ac.send("!ping")
	ac.expect(b.InboxID(), "pong")
	bc.send("!admin add " + string(bob.InboxID()))
	bc.expect(b.InboxID(), "Sorry, you can't use !admin add")
	ac.send("!nosuch thing")
	ac.expect(b.InboxID(), "nosuch")
	ac.send("!plugins config moderation.wordfilter words spam")
	ac.expect(b.InboxID(), "Set words of moderation.wordfilter.")
	ac.send("!plugins enable moderation.wordfilter")
	ac.expect(b.InboxID(), "moderation.wordfilter is now on here.")
	bc.send("buy spam")
	bc.expect(b.InboxID(), "blocked word")
	bc.send("a typo")
	typo := bc.after
	bc.waitEcho()
	id, err := bc.g.SendReply(ctxT(t), &client.Reply{Reference: typo.String(), ReferenceInboxID: string(bob.InboxID()),
		Content: client.EncodeText("!delete")})
	if err != nil {
		t.Fatal(err)
	}
	bc.after = id
	bc.expect(b.InboxID(), "Deleted the message.")

	wantCommands := []string{"ping ok", "admin denied", "unknown error", "plugins ok", "plugins ok", "delete ok"}
	wantPlugin := []string{"moderation.wordfilter delete", "moderation.wordfilter reply"}
	waitFor(t, func() bool {
		s := rec.snapshot()
		return len(s.commands) >= len(wantCommands) && len(s.pluginOp) >= len(wantPlugin)
	})
	s := rec.snapshot()
	if fmt.Sprint(s.commands) != fmt.Sprint(wantCommands) {
		t.Errorf("commands = %q, want %q", s.commands, wantCommands)
	}
	slices.Sort(s.pluginOp)
	if fmt.Sprint(s.pluginOp) != fmt.Sprint(wantPlugin) {
		t.Errorf("plugin actions = %q, want %q", s.pluginOp, wantPlugin)
	}
	st := b.Stats()
	if s.groups != 1 || int64(s.received) != st.MessagesIn || int64(s.sent) != st.MessagesOut || st.PluginActions != 2 {
		t.Errorf("sink groups %d received %d sent %d; stats %+v", s.groups, s.received, s.sent, st)
	}
	if s.received < 8 || s.sent < 7 {
		t.Errorf("sink received %d sent %d, want at least 8 and 7", s.received, s.sent)
	}
}
