package bot

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"mlsbridge/plugins"
	"mlsbridge/policy"
)

// Metrics receives the bot's measurements as they happen, for a metrics
// system (cmd/bridge's Prometheus *Metrics implements it). Several bots may
// share one. Its methods are called from the bot's goroutines, concurrently,
// and must be quick and never block.
type Metrics interface {
	// AddGroups changes the number of conversations the bot serves: +1
	// when it starts serving one (its plugins loaded), -1 when it stops.
	AddGroups(delta int)
	// MessageReceived counts one application message from someone else.
	MessageReceived()
	// MessageSent counts one text message the bot sent.
	MessageSent()
	// ObserveCommand records one dispatched command: command is the
	// resolved top-level command name ("unknown" for a line naming none),
	// outcome "ok", "denied" or "error", d the time it took.
	ObserveCommand(command, outcome string, d time.Duration)
	// PluginAction counts one action a plugin took through the bot: plugin
	// is its id, action "reply", "react", "delete" or "remove".
	PluginAction(plugin, action string)
}

// nopMetrics is the Metrics of a Config without one.
type nopMetrics struct{}

func (nopMetrics) AddGroups(int)                                {}
func (nopMetrics) MessageReceived()                             {}
func (nopMetrics) MessageSent()                                 {}
func (nopMetrics) ObserveCommand(string, string, time.Duration) {}
func (nopMetrics) PluginAction(string, string)                  {}

// counter is a Stats counter that also tells the Metrics: hook runs once
// per unit added.
type counter struct {
	atomic.Int64
	hook func()
}

// Add adds delta and calls the hook delta times.
func (c *counter) Add(delta int64) int64 {
	v := c.Int64.Add(delta)
	for i := int64(0); i < delta && c.hook != nil; i++ {
		c.hook()
	}
	return v
}

// sink returns the configured Metrics, never nil.
func (b *Bot) sink() Metrics {
	if b.cfg.Metrics == nil {
		return nopMetrics{}
	}
	return b.cfg.Metrics
}

// attachMetrics connects the Stats counters to the configured Metrics;
// New calls it.
func (b *Bot) attachMetrics() {
	m := b.sink()
	b.metrics.messagesIn.hook = m.MessageReceived
	b.metrics.messagesOut.hook = m.MessageSent
}

// served reports a conversation the bot starts (+1) or stops (-1)
// serving.
func (b *Bot) served(delta int) { b.sink().AddGroups(delta) }

// observeCommand reports a dispatched command to the Metrics: path is the
// command Dispatch resolved (empty when the line named none), err what
// Dispatch returned, took the time it took.
func (b *Bot) observeCommand(path string, err error, took time.Duration) {
	name, _, _ := strings.Cut(path, " ")
	if name == "" {
		name = "unknown"
	}
	outcome := "ok"
	var de *policy.DeniedError
	switch {
	case errors.As(err, &de):
		outcome = "denied"
	case err != nil:
		outcome = "error"
	}
	b.sink().ObserveCommand(name, outcome, took)
}

// pluginAction counts an action done for a plugin: ctx tells which
// (plugins.Caller); actions that no plugin asked for (a command's
// !delete) are not plugin actions and are not counted.
func (b *Bot) pluginAction(ctx context.Context, action string) {
	id, ok := plugins.Caller(ctx)
	if !ok {
		return
	}
	b.metrics.pluginActions.Add(1)
	b.sink().PluginAction(string(id), action)
}
