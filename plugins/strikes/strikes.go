// Package strikes is the moderation.strikes plugin: each violation another
// plugin reports gives the member a strike; a member who reaches the
// limit is removed, after an appeal window during which an admin may
// pardon them ("!strikes reset <member>"). Strikes and pending removals
// are kept in the plugin's storage, so a restart loses neither. A member
// who leaves or is removed starts again with no strikes. Importing the
// package registers the plugin.
package strikes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"mlsbridge/commands"
	"mlsbridge/plugins"
	"mlsbridge/policy"
)

// ID is the plugin's ID.
const ID plugins.ID = "moderation.strikes"

// Defaults and limits of the config.
const (
	DefaultMaxStrikes = 3
	MaxMaxStrikes     = 100
	// retryAfter is when a removal that failed (not by policy) is tried
	// again, at most maxTries times in all.
	retryAfter = 5 * time.Minute
	maxTries   = 3
)

func init() {
	plugins.Register(plugins.Info{
		ID:      ID,
		Summary: "counts rule violations and removes members after too many",
		New:     func() plugins.Plugin { return new(Strikes) },
	})
}

// Config is the plugin's config in a group.
type Config struct {
	// MaxStrikes is the number of strikes at which a member is removed.
	// Zero means DefaultMaxStrikes; at most MaxMaxStrikes.
	MaxStrikes int `json:"max_strikes"`
	// Expiry is how long a strike counts; an older strike is forgotten.
	// Zero: strikes never expire.
	Expiry plugins.Duration `json:"expiry"`
	// AppealWindow is how long the bot waits, once a member reaches
	// MaxStrikes, before removing them; until then an admin may pardon
	// them with "strikes reset". Zero: remove at once.
	AppealWindow plugins.Duration `json:"appeal_window"`
	// Plugins are the IDs of the plugins whose violations count. Empty
	// (zero): every plugin's do.
	Plugins plugins.StringList `json:"plugins"`
	// Silent sends no notices. False (zero): each strike is announced
	// ("strike 2 of 3"), and so are removals and their appeal windows.
	Silent bool `json:"silent"`
}

// Strikes is the plugin.
type Strikes struct {
	Config

	h       *plugins.Host
	cancels map[plugins.InboxID]func() // scheduled removals
}

// Compile-time checks of Strikes's capabilities.
var (
	_ plugins.Provisioner     = (*Strikes)(nil)
	_ plugins.Starter         = (*Strikes)(nil)
	_ plugins.CommandProvider = (*Strikes)(nil)
)

// Provision applies the defaults and checks the config.
func (s *Strikes) Provision() error {
	if s.MaxStrikes < 0 || s.MaxStrikes > MaxMaxStrikes {
		return fmt.Errorf("max_strikes must be from 1 to %d", MaxMaxStrikes)
	}
	if s.MaxStrikes == 0 {
		s.MaxStrikes = DefaultMaxStrikes
	}
	for i, p := range s.Plugins {
		if _, err := plugins.ParseID(p); err != nil {
			return fmt.Errorf("plugin %d is not a plugin id like moderation.wordfilter", i+1)
		}
	}
	s.cancels = map[plugins.InboxID]func(){}
	return nil
}

// Start schedules the removals a restart interrupted.
func (s *Strikes) Start(ctx context.Context, h *plugins.Host) error {
	s.h = h
	due, err := s.loadRemovals(ctx)
	if err != nil {
		return err
	}
	for _, m := range slices.Sorted(maps.Keys(due)) {
		s.scheduleRemoval(m, due[m].At.Sub(h.Now()))
	}
	return nil
}

// HandleEvent counts violations and forgets members who left.
func (s *Strikes) HandleEvent(ctx context.Context, h *plugins.Host, ev plugins.Event) error {
	switch ev := ev.(type) {
	case plugins.Violation:
		if len(s.Plugins) > 0 && !slices.Contains(s.Plugins, string(ev.Plugin)) {
			return nil
		}
		return s.strike(ctx, ev)
	case plugins.MembersRemoved:
		for _, m := range ev.Members {
			if err := s.cancelRemoval(ctx, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// strike records v and acts when the member reaches the limit.
func (s *Strikes) strike(ctx context.Context, v plugins.Violation) error {
	rec, err := s.load(ctx, v.Member)
	if err != nil {
		return err
	}
	if v.Message != "" && slices.ContainsFunc(rec.Strikes, func(st strike) bool { return st.Message == v.Message }) {
		return nil // one message, one strike, however many plugins object
	}
	rec.Strikes = append(rec.Strikes, strike{At: v.Time, Message: v.Message, Plugin: v.Plugin})
	if err := s.save(ctx, v.Member, rec); err != nil {
		return err
	}
	n := len(rec.Strikes)
	s.h.Logger().Info("member got a strike", "inbox_id", string(v.Member), "strikes", n, "max_strikes", s.MaxStrikes)
	if n < s.MaxStrikes {
		return s.notify(ctx, fmt.Sprintf("%s: strike %d of %d (%s).", v.Member.Mention(), n, s.MaxStrikes, v.Rule))
	}
	if _, pending := s.cancels[v.Member]; pending {
		return nil
	}
	if s.AppealWindow == 0 {
		return s.remove(ctx, v.Member)
	}
	if err := s.addRemoval(ctx, v.Member, removal{At: s.h.Now().Add(s.AppealWindow.Std())}); err != nil {
		return err
	}
	s.scheduleRemoval(v.Member, s.AppealWindow.Std())
	return s.notify(ctx, fmt.Sprintf("%s: strike %d of %d (%s). You will be removed in %s unless an admin pardons you.",
		v.Member.Mention(), n, s.MaxStrikes, v.Rule, s.AppealWindow))
}

func (s *Strikes) notify(ctx context.Context, text string) error {
	if s.Silent {
		return nil
	}
	return s.h.Reply(ctx, "", text)
}

// scheduleRemoval removes m after d (at once when d <= 0).
func (s *Strikes) scheduleRemoval(m plugins.InboxID, d time.Duration) {
	if cancel, ok := s.cancels[m]; ok {
		cancel()
	}
	s.cancels[m] = s.h.Schedule(max(d, 0), func(ctx context.Context) {
		delete(s.cancels, m)
		if err := s.remove(ctx, m); err != nil {
			s.h.Logger().Warn("removing a member with too many strikes failed", "inbox_id", string(m), "error", err)
		}
	})
}

// remove removes m from the group and forgets their strikes. When the
// group's policies don't let the bot, the removal is dropped (and said);
// on another failure it is tried again later.
func (s *Strikes) remove(ctx context.Context, m plugins.InboxID) error {
	err := s.h.RemoveMembers(ctx, m)
	if _, denied := errors.AsType[*policy.DeniedError](err); denied {
		s.h.Logger().Info("bot may not remove a member with too many strikes", "inbox_id", string(m))
		if err := s.dropRemoval(ctx, m); err != nil {
			return err
		}
		return s.notify(ctx, fmt.Sprintf("%s has %d strikes, but I am not allowed to remove members here.", m.Mention(), s.MaxStrikes))
	}
	if err != nil {
		return errors.Join(fmt.Errorf("remove member: %w", err), s.retry(ctx, m))
	}
	if err := s.h.KV().Delete(ctx, memberKey(m)); err != nil {
		return err
	}
	if err := s.dropRemoval(ctx, m); err != nil {
		return err
	}
	return s.notify(ctx, fmt.Sprintf("%s was removed after %d strikes.", m.Mention(), s.MaxStrikes))
}

// retry schedules another try at removing m, unless it was tried maxTries
// times already.
func (s *Strikes) retry(ctx context.Context, m plugins.InboxID) error {
	due, err := s.loadRemovals(ctx)
	if err != nil {
		return err
	}
	r := due[m]
	if r.Tries++; r.Tries >= maxTries {
		s.h.Logger().Warn("giving up removing a member with too many strikes", "inbox_id", string(m), "tries", r.Tries)
		return s.dropRemoval(ctx, m)
	}
	r.At = s.h.Now().Add(retryAfter)
	if err := s.addRemoval(ctx, m, r); err != nil {
		return err
	}
	s.scheduleRemoval(m, retryAfter)
	return nil
}

// cancelRemoval forgets a pending removal of m (cancelling its schedule)
// and m's strikes.
func (s *Strikes) cancelRemoval(ctx context.Context, m plugins.InboxID) error {
	if cancel, ok := s.cancels[m]; ok {
		cancel()
		delete(s.cancels, m)
	}
	if err := s.h.KV().Delete(ctx, memberKey(m)); err != nil {
		return err
	}
	return s.dropRemoval(ctx, m)
}

// Commands declares "strikes show <member>" and, for admins,
// "strikes reset <member>" (also "pardon" and "appeal").
func (s *Strikes) Commands() []*commands.Command {
	member := commands.ArgSpec{Name: "member", Kind: commands.ArgMember}
	return []*commands.Command{{
		Name:    "strikes",
		Summary: "show or clear a member's strikes",
		Subcommands: []*commands.Command{
			{Name: "show", Summary: "show a member's strikes", Args: []commands.ArgSpec{member}, Handler: s.show},
			{Name: "reset", Aliases: []string{"pardon", "appeal"}, Summary: "clear a member's strikes and cancel their removal",
				Args: []commands.ArgSpec{member}, Role: policy.RoleAdmin, Handler: s.reset},
		},
	}}
}

func (s *Strikes) show(ctx context.Context, inv *commands.Invocation) error {
	m, err := inboxArg(inv)
	if err != nil {
		return err
	}
	rec, err := s.load(ctx, m)
	if err != nil {
		return err
	}
	text := fmt.Sprintf("%s has %d of %d strikes.", m.Mention(), len(rec.Strikes), s.MaxStrikes)
	if _, pending := s.cancels[m]; pending {
		text += " Their removal is pending."
	}
	return inv.Reply(ctx, text)
}

func (s *Strikes) reset(ctx context.Context, inv *commands.Invocation) error {
	m, err := inboxArg(inv)
	if err != nil {
		return err
	}
	if err := s.cancelRemoval(ctx, m); err != nil {
		return err
	}
	s.h.Logger().Info("member's strikes reset", "inbox_id", string(m))
	return inv.Reply(ctx, fmt.Sprintf("%s's strikes are cleared.", m.Mention()))
}

// inboxArg returns the "member" argument's inbox id.
func inboxArg(inv *commands.Invocation) (plugins.InboxID, error) {
	id, ok := inv.Args.Member("member").Inbox()
	if !ok {
		return "", commands.NewUserError("Give the member's inbox id: strikes are kept by inbox, not by address.", nil)
	}
	return plugins.InboxID(id), nil
}

// record is a member's strikes, as stored under memberKey.
type record struct {
	Strikes []strike `json:"strikes"`
}

type strike struct {
	At      time.Time          `json:"at"`
	Message commands.MessageID `json:"message,omitempty"`
	Plugin  plugins.ID         `json:"plugin"`
}

func memberKey(m plugins.InboxID) string { return "member/" + string(m) }

// removal is a pending removal, as stored under removalsKey.
type removal struct {
	At    time.Time `json:"at"`
	Tries int       `json:"tries,omitempty"` // failed tries so far
}

const removalsKey = "removals"

// load returns m's strikes, without the expired ones.
func (s *Strikes) load(ctx context.Context, m plugins.InboxID) (record, error) {
	var rec record
	if err := s.getJSON(ctx, memberKey(m), &rec); err != nil {
		return record{}, err
	}
	if s.Expiry > 0 {
		cutoff := s.h.Now().Add(-s.Expiry.Std())
		rec.Strikes = slices.DeleteFunc(rec.Strikes, func(st strike) bool { return !st.At.After(cutoff) })
	}
	return rec, nil
}

func (s *Strikes) save(ctx context.Context, m plugins.InboxID, rec record) error {
	return s.setJSON(ctx, memberKey(m), rec)
}

// loadRemovals returns the pending removals and their deadlines.
func (s *Strikes) loadRemovals(ctx context.Context) (map[plugins.InboxID]removal, error) {
	due := map[plugins.InboxID]removal{}
	if err := s.getJSON(ctx, removalsKey, &due); err != nil {
		return nil, err
	}
	return due, nil
}

func (s *Strikes) addRemoval(ctx context.Context, m plugins.InboxID, r removal) error {
	due, err := s.loadRemovals(ctx)
	if err != nil {
		return err
	}
	due[m] = r
	return s.setJSON(ctx, removalsKey, due)
}

func (s *Strikes) dropRemoval(ctx context.Context, m plugins.InboxID) error {
	due, err := s.loadRemovals(ctx)
	if err != nil {
		return err
	}
	if _, ok := due[m]; !ok {
		return nil
	}
	delete(due, m)
	return s.setJSON(ctx, removalsKey, due)
}

func (s *Strikes) getJSON(ctx context.Context, key string, v any) error {
	b, ok, err := s.h.KV().Get(ctx, key)
	if err != nil || !ok {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}

func (s *Strikes) setJSON(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	return s.h.KV().Set(ctx, key, b)
}
