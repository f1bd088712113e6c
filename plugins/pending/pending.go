// Package pending is the members.pending plugin: when members ask to leave
// the group (xmtp-groups §7), it removes them, if the group's policies let
// the bot. Importing the package registers the plugin.
package pending

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"mlsbridge/plugins"
	"mlsbridge/policy"
)

// ID is the plugin's ID.
const ID plugins.ID = "members.pending"

// MaxDelay is the longest Config.Delay.
const MaxDelay = 24 * time.Hour

// MaxMentions is how many removed members {mentions} names; the rest are
// counted.
const MaxMentions = 20

// Placeholders are the placeholders Config.Notice may use.
var Placeholders = []string{"mentions", "count"}

func init() {
	plugins.Register(plugins.Info{
		ID:      ID,
		Summary: "removes members who asked to leave, when the bot may",
		New:     func() plugins.Plugin { return new(Remover) },
	})
}

// Config is the plugin's config in a group.
type Config struct {
	// Delay is how long to wait after a leave request before removing,
	// so that requests arriving close together are removed in one
	// commit. Zero: remove at once. At most MaxDelay.
	Delay plugins.Duration `json:"delay"`
	// Notice is sent after members are removed, with the placeholders
	// {mentions} (at most MaxMentions of them) and {count}. Empty
	// (zero): nothing is said.
	Notice string `json:"notice"`
}

// seenKey is the plugin's KV key holding, as a JSON object, when each
// waiting member's leave request was first seen. A group's pending list is
// bounded by its size, so one value holds it.
const seenKey = "first_seen"

// Remover is the plugin. The bot reports the whole pending list again when
// it loads the group, so the members waiting are kept in memory; when each
// was first seen is kept in the plugin's storage, so that after a restart
// the delay runs from the first sighting rather than starting again.
type Remover struct {
	Config

	notice    plugins.Template
	waiting   map[plugins.InboxID]bool
	seen      map[plugins.InboxID]time.Time
	scheduled bool
}

var (
	_ plugins.Provisioner = (*Remover)(nil)
	_ plugins.Starter     = (*Remover)(nil)
)

// Provision checks the delay and parses the notice.
func (r *Remover) Provision() error {
	if r.Delay.Std() > MaxDelay {
		return fmt.Errorf("delay must be at most %s", plugins.Duration(MaxDelay))
	}
	t, err := plugins.ParseTemplate(r.Notice, Placeholders...)
	if err != nil {
		return fmt.Errorf("notice: %w", err)
	}
	r.notice = t
	r.waiting = map[plugins.InboxID]bool{}
	r.seen = map[plugins.InboxID]time.Time{}
	return nil
}

// Start reads when the waiting members were first seen. Nothing is
// scheduled yet: the bot reports the pending list when it loads the group,
// and only members on it are removed. An undecodable value is logged and
// dropped (the delays then start again) rather than keeping the plugin off.
func (r *Remover) Start(ctx context.Context, h *plugins.Host) error {
	b, ok, err := h.KV().Get(ctx, seenKey)
	if err != nil || !ok {
		return err
	}
	if err := json.Unmarshal(b, &r.seen); err != nil {
		h.Logger().Warn("stored leave request times dropped", "error", err)
		r.seen = map[plugins.InboxID]time.Time{}
	}
	return nil
}

// HandleEvent queues leave requests and forgets members removed by
// others.
func (r *Remover) HandleEvent(ctx context.Context, h *plugins.Host, ev plugins.Event) error {
	switch ev := ev.(type) {
	case plugins.LeaveRequested:
		now := ev.Time
		if now.IsZero() {
			now = h.Now()
		}
		for _, m := range ev.Members {
			r.waiting[m] = true
		}
		r.noteSeen(ctx, h, now)
		if len(r.waiting) == 0 {
			return nil
		}
		if r.Delay == 0 {
			return r.remove(ctx, h)
		}
		// Measured on the event's clock, as the sightings are.
		wait := r.firstSeen().Add(r.Delay.Std()).Sub(now)
		if wait <= 0 {
			return r.remove(ctx, h)
		}
		if !r.scheduled {
			r.scheduled = true
			h.Schedule(wait, func(ctx context.Context) {
				r.scheduled = false
				if err := r.remove(ctx, h); err != nil {
					h.Logger().Warn("removing members who asked to leave failed", "error", err)
				}
			})
		}
	case plugins.MembersRemoved:
		for _, m := range ev.Members {
			delete(r.waiting, m)
		}
		r.forget(ctx, h, ev.Members)
	}
	return nil
}

// noteSeen records now as the first sighting of every waiting member not
// seen before, drops the sightings of members no longer waiting, and
// stores the result when it changed. A failed write is logged: the
// removal still happens, only a restart would start the delay again.
func (r *Remover) noteSeen(ctx context.Context, h *plugins.Host, now time.Time) {
	changed := false
	for m := range r.waiting {
		if _, ok := r.seen[m]; !ok {
			r.seen[m] = now
			changed = true
		}
	}
	for m := range r.seen {
		if !r.waiting[m] {
			delete(r.seen, m)
			changed = true
		}
	}
	if changed {
		r.saveSeen(ctx, h)
	}
}

// forget drops the sightings of members and stores the result when it
// changed.
func (r *Remover) forget(ctx context.Context, h *plugins.Host, members []plugins.InboxID) {
	changed := false
	for _, m := range members {
		if _, ok := r.seen[m]; ok {
			delete(r.seen, m)
			changed = true
		}
	}
	if changed {
		r.saveSeen(ctx, h)
	}
}

// saveSeen stores r.seen, deleting the key when it is empty.
func (r *Remover) saveSeen(ctx context.Context, h *plugins.Host) {
	var err error
	if len(r.seen) == 0 {
		err = h.KV().Delete(ctx, seenKey)
	} else {
		var b []byte
		if b, err = json.Marshal(r.seen); err == nil {
			err = h.KV().Set(ctx, seenKey, b)
		}
	}
	if err != nil {
		h.Logger().Warn("leave request times not stored", "error", err)
	}
}

// firstSeen returns the earliest sighting of a waiting member.
func (r *Remover) firstSeen() time.Time {
	var first time.Time
	for m := range r.waiting {
		if t := r.seen[m]; first.IsZero() || t.Before(first) {
			first = t
		}
	}
	return first
}

// remove removes every waiting member in one commit. When the group's
// policies don't let the bot, it says so in the log and forgets them: the
// bot reports them again with the next change (their first sightings are
// kept, so that report tries again at once).
func (r *Remover) remove(ctx context.Context, h *plugins.Host) error {
	members := slices.Sorted(maps.Keys(r.waiting))
	if len(members) == 0 {
		return nil
	}
	err := h.RemoveMembers(ctx, members...)
	if _, denied := errors.AsType[*policy.DeniedError](err); denied {
		clear(r.waiting)
		h.Logger().Info("bot may not remove members who asked to leave", "count", len(members))
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove members who asked to leave: %w", err)
	}
	clear(r.waiting)
	r.forget(ctx, h, members)
	text := r.notice.Render(map[string]string{"mentions": plugins.Mentions(members, MaxMentions), "count": strconv.Itoa(len(members))})
	if text == "" {
		return nil
	}
	return h.Reply(ctx, "", text)
}
