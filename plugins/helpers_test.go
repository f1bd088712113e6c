package plugins_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"mlsbridge/commands"
	"mlsbridge/plugins"
	"mlsbridge/plugins/plugintest"
)

// journal records what probes saw, across instances.
type journal struct {
	mu      sync.Mutex
	entries []string
}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, fmt.Sprintf(format, args...))
}

func (j *journal) all() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.entries)
}

func (j *journal) has(entry string) bool { return slices.Contains(j.all(), entry) }

func (j *journal) count(entry string) int {
	n := 0
	for _, e := range j.all() {
		if e == entry {
			n++
		}
	}
	return n
}

func (j *journal) reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = nil
}

// probe is a configurable test plugin that journals every call.
type probe struct {
	Prefix   string           `json:"prefix"`
	Limit    int              `json:"limit"`
	Fail     bool             `json:"fail"`
	Panic    string           `json:"panic"`
	Schedule plugins.Duration `json:"schedule"`
	Report   bool             `json:"report"`
	Key      string           `json:"key"`

	j       *journal
	id      plugins.ID
	h       *plugins.Host
	counter int // unsynchronized on purpose: calls must be serialized
}

var (
	_ plugins.Provisioner     = (*probe)(nil)
	_ plugins.Validator       = (*probe)(nil)
	_ plugins.Starter         = (*probe)(nil)
	_ plugins.Stopper         = (*probe)(nil)
	_ plugins.CommandProvider = (*probe)(nil)
)

func probeInfo(id plugins.ID, j *journal) plugins.Info {
	return plugins.Info{ID: id, Summary: "probe " + string(id), New: func() plugins.Plugin { return &probe{j: j, id: id} }}
}

func (p *probe) maybePanic(call string) {
	if p.Panic == call {
		panic("probe panics in " + call)
	}
}

func (p *probe) Provision() error {
	p.maybePanic("provision")
	if p.Prefix == "" {
		p.Prefix = "default"
	}
	return nil
}

func (p *probe) Validate() error {
	if p.Limit < 0 {
		return errors.New("limit must not be negative")
	}
	return nil
}

func (p *probe) Start(ctx context.Context, h *plugins.Host) error {
	p.maybePanic("start")
	p.h = h
	p.j.add("%s:start:%s:%s", p.id, h.GroupID(), p.Prefix)
	return nil
}

func (p *probe) Stop(ctx context.Context) error {
	p.maybePanic("stop")
	p.j.add("%s:stop:%s", p.id, p.h.GroupID())
	return nil
}

func (p *probe) HandleEvent(ctx context.Context, h *plugins.Host, ev plugins.Event) error {
	p.counter++
	switch ev := ev.(type) {
	case plugins.Message:
		p.j.add("%s:message:%s", p.id, h.GroupID())
		p.maybePanic("event")
		if p.Report {
			h.Report(plugins.Violation{Member: ev.Sender, Message: ev.ID, Rule: "probe rule"})
		}
		if p.Schedule > 0 {
			h.Schedule(p.Schedule.Std(), func(ctx context.Context) {
				p.counter++
				p.j.add("%s:scheduled:%s", p.id, h.GroupID())
				p.maybePanic("scheduled")
			})
		}
		if p.Key != "" {
			if err := h.KV().Set(ctx, p.Key, []byte(string(p.id)+"@"+string(h.GroupID()))); err != nil {
				return err
			}
		}
	case plugins.Violation:
		p.j.add("%s:violation:%s:%s", p.id, ev.Plugin, ev.Rule)
		if p.Report {
			h.Report(plugins.Violation{Member: ev.Member, Rule: "echo"}) // dropped
		}
	default:
		p.j.add("%s:%T", p.id, ev)
	}
	if p.Fail {
		return errors.New("probe fails")
	}
	return nil
}

func (p *probe) Commands() []*commands.Command {
	return []*commands.Command{{
		Name:    string(p.id.Name()),
		Summary: "probe command",
		Args:    []commands.ArgSpec{{Name: "word", Kind: commands.ArgWord}},
		Handler: func(ctx context.Context, inv *commands.Invocation) error {
			p.maybePanic("command")
			p.counter++
			p.j.add("%s:command:%s:%s", p.id, p.h.GroupID(), inv.Args.Text("word"))
			return inv.Reply(ctx, p.Prefix+" "+inv.Args.Text("word"))
		},
	}}
}

const (
	groupA plugins.GroupID = "aaaa"
	groupB plugins.GroupID = "bbbb"
)

func background() context.Context { return context.Background() }

// enable sets the config and enables id in g, failing the test on error.
func enable(t *testing.T, h *plugintest.Harness, g plugins.GroupID, id plugins.ID, config string) {
	t.Helper()
	if err := h.Manager.SetConfig(background(), g, id, []byte(config)); err != nil {
		t.Fatalf("SetConfig(%s, %s, %s): %v", g, id, config, err)
	}
	if err := h.Manager.SetEnabled(background(), g, id, true); err != nil {
		t.Fatalf("SetEnabled(%s, %s): %v", g, id, err)
	}
}

func message(sender plugins.InboxID, text string) plugins.Message {
	return plugins.Message{ID: "m1", Sender: sender, ContentType: plugins.ContentTypeText, Text: text, Time: plugintest.Start}
}
