// Package pending is the members.pending plugin: when members ask to leave
// the group (xmtp-groups §7), it removes them, if the group's policies let
// the bot. Importing the package registers the plugin.
package pending

import (
	"context"
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

// Remover is the plugin. The members waiting are kept in memory only: the
// bot reports the whole pending list again when it loads the group, so a
// restart loses nothing.
type Remover struct {
	Config

	notice    plugins.Template
	waiting   map[plugins.InboxID]bool
	scheduled bool
}

var _ plugins.Provisioner = (*Remover)(nil)

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
	return nil
}

// HandleEvent queues leave requests and forgets members removed by
// others.
func (r *Remover) HandleEvent(ctx context.Context, h *plugins.Host, ev plugins.Event) error {
	switch ev := ev.(type) {
	case plugins.LeaveRequested:
		for _, m := range ev.Members {
			r.waiting[m] = true
		}
		if len(r.waiting) == 0 {
			return nil
		}
		if r.Delay == 0 {
			return r.remove(ctx, h)
		}
		if !r.scheduled {
			r.scheduled = true
			h.Schedule(r.Delay.Std(), func(ctx context.Context) {
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
	}
	return nil
}

// remove removes every waiting member in one commit. When the group's
// policies don't let the bot, it says so in the log and forgets them: the
// bot reports them again with the next change.
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
	text := r.notice.Render(map[string]string{"mentions": plugins.Mentions(members, MaxMentions), "count": strconv.Itoa(len(members))})
	if text == "" {
		return nil
	}
	return h.Reply(ctx, "", text)
}
