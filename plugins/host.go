package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"mlsbridge/commands"
)

// Host is what one plugin instance may do in its group: the whole of a
// plugin's access to the bot. The manager creates one per instance and
// passes it to every call; its methods are safe for concurrent use. After
// the instance stops, the acting methods return [ErrStopped] and Schedule
// does nothing.
//
// The acting methods (Reply, React, DeleteMessage, RemoveMembers) do I/O
// through the bot and block until it is done or ctx ends. When the bot
// cannot do an action at all they return a *[commands.NotSupportedError];
// when the group's policies refuse, a *[mlsbridge/policy.DeniedError].
type Host struct {
	inst *instance
	log  *slog.Logger
}

// GroupID returns the instance's group.
func (h *Host) GroupID() GroupID { return h.inst.g.id }

// Plugin returns the instance's plugin ID.
func (h *Host) Plugin() ID { return h.inst.info.ID }

// Logger returns the instance's logger, carrying "plugin" and "group_id".
// Never log message text, secrets or config values an admin typed at Info
// or above (STYLE.md §7).
func (h *Host) Logger() *slog.Logger { return h.log }

// Now returns the manager's current time (its injected clock).
func (h *Host) Now() time.Time { return h.inst.m.clock.Now() }

// Reply sends text to the group; as a reply to message to when to is not
// empty.
func (h *Host) Reply(ctx context.Context, to commands.MessageID, text string) error {
	if text == "" {
		return errors.New("plugins: reply with empty text")
	}
	if err := h.act("reply"); err != nil {
		return err
	}
	return h.inst.m.actions.Reply(withCaller(ctx, h.Plugin()), h.GroupID(), to, text)
}

// React adds the emoji reaction to message to.
func (h *Host) React(ctx context.Context, to commands.MessageID, emoji string) error {
	r, ok := h.inst.m.actions.(Reactor)
	if !ok {
		return &commands.NotSupportedError{Action: "react to messages"}
	}
	if err := h.act("react"); err != nil {
		return err
	}
	return r.React(withCaller(ctx, h.Plugin()), h.GroupID(), to, emoji)
}

// DeleteMessage deletes message id for everyone in the group.
func (h *Host) DeleteMessage(ctx context.Context, id commands.MessageID) error {
	d, ok := h.inst.m.actions.(MessageDeleter)
	if !ok {
		return &commands.NotSupportedError{Action: "delete messages"}
	}
	if id == "" {
		return errors.New("plugins: delete a message without an id")
	}
	if err := h.act("delete_message"); err != nil {
		return err
	}
	return d.DeleteMessage(withCaller(ctx, h.Plugin()), h.GroupID(), id)
}

// RemoveMembers removes the members from the group in one commit. It
// returns a *[mlsbridge/policy.DeniedError] when the group's policies
// don't let the bot remove them.
func (h *Host) RemoveMembers(ctx context.Context, members ...InboxID) error {
	r, ok := h.inst.m.actions.(MemberRemover)
	if !ok {
		return &commands.NotSupportedError{Action: "remove members"}
	}
	if len(members) == 0 {
		return nil
	}
	if err := h.act("remove_members"); err != nil {
		return err
	}
	h.log.Info("plugin removing members", "count", len(members))
	return r.RemoveMembers(withCaller(ctx, h.Plugin()), h.GroupID(), members)
}

// act checks that the instance still runs and logs the action at Debug.
func (h *Host) act(action string) error {
	if h.inst.isStopped() {
		return ErrStopped
	}
	h.log.Debug("plugin action", "action", action)
	return nil
}

// Schedule calls f once, after d, on the instance (never concurrently with
// another call into it), with a ctx that ends when the instance stops. The
// returned cancel stops a call that has not started; cancelling twice, or
// after the call, does nothing. Every pending call is cancelled when the
// instance stops. Schedules are not durable: a plugin that must act after
// a restart keeps its deadlines in [KV] and schedules them again in
// [Starter.Start]. A panic in f is recovered and logged.
func (h *Host) Schedule(d time.Duration, f func(ctx context.Context)) (cancel func()) {
	return h.inst.schedule(d, f)
}

// Report tells the group's other enabled plugins that a member broke a
// rule: each receives v as a [Violation] event after the current call into
// this instance returns. The manager sets v.Plugin, and v.Time when zero.
// Reports made while handling a Violation are dropped, so plugins cannot
// loop.
func (h *Host) Report(v Violation) {
	if h.inst.inViolation.Load() {
		h.log.Debug("plugin report dropped while handling a violation")
		return
	}
	v.Plugin = h.inst.info.ID
	if v.Time.IsZero() {
		v.Time = h.Now()
	}
	h.inst.g.report(v)
}

// KV returns the instance's key-value storage, scoped to its plugin and
// group.
func (h *Host) KV() KV { return KV{h: h} }

// Key and value limits of [KV].
const (
	MaxKeyLength   = 256
	MaxValueLength = 64 << 10
)

// KV is a plugin's persistent key-value storage in one group: keys of
// other plugins and other groups are out of reach. It survives restarts
// and config changes, and is kept when the plugin is disabled. Methods do
// I/O and are safe for concurrent use.
type KV struct {
	h *Host
}

// Get returns the value of key; ok is false when there is none.
func (kv KV) Get(ctx context.Context, key string) (value []byte, ok bool, err error) {
	if err := checkKey(key); err != nil {
		return nil, false, err
	}
	i := kv.h.inst
	value, ok, err = i.m.data.PluginData(ctx, i.g.id, i.info.ID, key)
	if err != nil {
		return nil, false, fmt.Errorf("plugins: get %s data: %w", i.info.ID, err)
	}
	return value, ok, nil
}

// Set stores value under key. Keys are 1 to [MaxKeyLength] bytes and
// values at most [MaxValueLength].
func (kv KV) Set(ctx context.Context, key string, value []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if len(value) > MaxValueLength {
		return fmt.Errorf("%w: value of %d bytes, more than %d", ErrInvalidKey, len(value), MaxValueLength)
	}
	i := kv.h.inst
	if err := i.m.data.SetPluginData(ctx, i.g.id, i.info.ID, key, value); err != nil {
		return fmt.Errorf("plugins: set %s data: %w", i.info.ID, err)
	}
	return nil
}

// Delete removes key; removing a missing key is not an error.
func (kv KV) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	i := kv.h.inst
	if err := i.m.data.DeletePluginData(ctx, i.g.id, i.info.ID, key); err != nil {
		return fmt.Errorf("plugins: delete %s data: %w", i.info.ID, err)
	}
	return nil
}

func checkKey(key string) error {
	if key == "" || len(key) > MaxKeyLength {
		return fmt.Errorf("%w: key of %d bytes (want 1 to %d)", ErrInvalidKey, len(key), MaxKeyLength)
	}
	return nil
}
