// Package flood is the moderation.flood plugin: it limits how many
// messages each member may send within a sliding window, deleting the
// excess, warning the sender once per window and reporting a violation
// (which moderation.strikes counts). Importing the package registers the
// plugin.
package flood

import (
	"context"
	"fmt"
	"time"

	"mlsbridge/plugins"
	"mlsbridge/plugins/internal/moderation"
	"mlsbridge/policy"
)

// ID is the plugin's ID.
const ID plugins.ID = "moderation.flood"

// Defaults and limits of the config.
const (
	DefaultMaxMessages = 10
	DefaultWindow      = 10 * time.Second
	MaxMaxMessages     = 1000
	MaxWindow          = 24 * time.Hour
)

// DefaultWarning is the warning used when Config.Warning is empty.
const DefaultWarning = "{sender}, slow down: you are sending messages too fast."

// Rule is the Violation.Rule the plugin reports.
const Rule = "too many messages"

// maxSenders bounds the senders tracked before idle ones are swept.
const maxSenders = 10000

func init() {
	plugins.Register(plugins.Info{
		ID:      ID,
		Summary: "limits how many messages each member may send in a short time",
		New:     func() plugins.Plugin { return new(Limiter) },
	})
}

// Config is the plugin's config in a group.
type Config struct {
	// MaxMessages is how many messages one member may send within
	// Window; each further message within it is a violation. Zero means
	// DefaultMaxMessages; at most MaxMaxMessages.
	MaxMessages int `json:"max_messages"`
	// Window is the length of the sliding window. Zero means
	// DefaultWindow; at most MaxWindow.
	Window plugins.Duration `json:"window"`
	// KeepMessage keeps the excess messages. False (zero): they are
	// deleted.
	KeepMessage bool `json:"keep_message"`
	// Silent sends no warning. False (zero): the sender is warned once
	// per window.
	Silent bool `json:"silent"`
	// Warning is the warning, with the placeholders {sender} (a mention)
	// and {rule}. Empty: DefaultWarning.
	Warning string `json:"warning"`
	// ModerateAdmins limits admins and super admins too. False (zero):
	// they are exempt.
	ModerateAdmins bool `json:"moderate_admins"`
}

// Limiter is the plugin. Its state lives in memory: a restart forgets
// recent messages, which at worst lets a member send one extra window's
// worth.
type Limiter struct {
	Config

	warning plugins.Template
	senders map[plugins.InboxID]*sender
}

type sender struct {
	times       []time.Time // within the window, oldest first
	warnedUntil time.Time   // no new warning or report before this
}

var _ plugins.Provisioner = (*Limiter)(nil)

// Provision applies the defaults and checks the limits.
func (l *Limiter) Provision() error {
	switch {
	case l.MaxMessages < 0 || l.MaxMessages > MaxMaxMessages:
		return fmt.Errorf("max_messages must be from 1 to %d", MaxMaxMessages)
	case l.Window.Std() > MaxWindow:
		return fmt.Errorf("window must be at most %s", plugins.Duration(MaxWindow))
	}
	if l.MaxMessages == 0 {
		l.MaxMessages = DefaultMaxMessages
	}
	if l.Window == 0 {
		l.Window = plugins.Duration(DefaultWindow)
	}
	var err error
	l.warning, err = moderation.ParseWarning(l.Warning, DefaultWarning)
	l.senders = map[plugins.InboxID]*sender{}
	return err
}

// HandleEvent counts messages and acts on the excess.
func (l *Limiter) HandleEvent(ctx context.Context, h *plugins.Host, ev plugins.Event) error {
	m, ok := ev.(plugins.Message)
	if !ok || m.DM || (!l.ModerateAdmins && m.SenderRole != policy.RoleMember) {
		return nil
	}
	now := m.Time
	if now.IsZero() {
		now = h.Now()
	}
	s := l.count(m.Sender, now)
	if len(s.times) <= l.MaxMessages {
		return nil
	}
	r := moderation.Response{Rule: Rule, Keep: l.KeepMessage, Silent: true}
	if now.Before(s.warnedUntil) {
		// Already reported in this window: only delete.
		if r.Keep || m.ID == "" {
			return nil
		}
		return h.DeleteMessage(ctx, m.ID)
	}
	s.warnedUntil = now.Add(l.Window.Std())
	r.Silent, r.Warning = l.Silent, l.warning
	return moderation.Enforce(ctx, h, m, r)
}

// count records a message of id at now (or just after its previous one) and returns its sender's state.
func (l *Limiter) count(id plugins.InboxID, now time.Time) *sender {
	if len(l.senders) >= maxSenders {
		l.sweep(now)
	}
	s := l.senders[id]
	if s == nil {
		s = &sender{}
		l.senders[id] = s
	}
	if n := len(s.times); n > 0 && now.Before(s.times[n-1]) {
		now = s.times[n-1] // keep the times in order
	}
	s.times = append(prune(s.times, now.Add(-l.Window.Std())), now)
	if extra := len(s.times) - (l.MaxMessages + 1); extra > 0 {
		// Knowing that the window holds more than MaxMessages is enough.
		s.times = append(s.times[:0], s.times[extra:]...)
	}
	return s
}

// sweep forgets senders with nothing in the window.
func (l *Limiter) sweep(now time.Time) {
	cutoff := now.Add(-l.Window.Std())
	for id, s := range l.senders {
		if s.times = prune(s.times, cutoff); len(s.times) == 0 && !now.Before(s.warnedUntil) {
			delete(l.senders, id)
		}
	}
}

// prune drops the times at or before cutoff.
func prune(times []time.Time, cutoff time.Time) []time.Time {
	i := 0
	for i < len(times) && !times[i].After(cutoff) {
		i++
	}
	return append(times[:0], times[i:]...)
}
