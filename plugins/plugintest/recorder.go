package plugintest

import (
	"context"
	"slices"
	"sync"

	"mlsbridge/commands"
	"mlsbridge/plugins"
)

// Compile-time checks that Recorder has every capability.
var (
	_ plugins.Reactor        = (*Recorder)(nil)
	_ plugins.MessageDeleter = (*Recorder)(nil)
	_ plugins.MemberRemover  = (*Recorder)(nil)
)

// Action names, as Call.Action holds them.
const (
	ActionReply  = "reply"
	ActionReact  = "react"
	ActionDelete = "delete"
	ActionRemove = "remove"
)

// Call is one action a plugin asked for.
type Call struct {
	// Action is one of the Action constants.
	Action string
	Group  plugins.GroupID
	// Message is the message replied or reacted to, or deleted.
	Message commands.MessageID
	// Text is a reply's text or a reaction's emoji.
	Text string
	// Members are the removed members.
	Members []plugins.InboxID
}

// Recorder implements [plugins.Actions] with every capability, recording
// each call. Err, when set, decides a call's error (the call is still
// recorded). Safe for concurrent use.
type Recorder struct {
	// Err returns the error for c; nil Err means every call succeeds.
	Err func(c Call) error

	mu    sync.Mutex
	calls []Call
}

func (r *Recorder) record(c Call) error {
	r.mu.Lock()
	r.calls = append(r.calls, c)
	errf := r.Err
	r.mu.Unlock()
	if errf != nil {
		return errf(c)
	}
	return nil
}

// Calls returns the calls so far, oldest first.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// Of returns the calls of one action.
func (r *Recorder) Of(action string) []Call {
	var out []Call
	for _, c := range r.Calls() {
		if c.Action == action {
			out = append(out, c)
		}
	}
	return out
}

// Reset forgets the calls so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = nil
}

// Reply records a reply.
func (r *Recorder) Reply(_ context.Context, g plugins.GroupID, to commands.MessageID, text string) error {
	return r.record(Call{Action: ActionReply, Group: g, Message: to, Text: text})
}

// React records a reaction.
func (r *Recorder) React(_ context.Context, g plugins.GroupID, to commands.MessageID, emoji string) error {
	return r.record(Call{Action: ActionReact, Group: g, Message: to, Text: emoji})
}

// DeleteMessage records a deletion.
func (r *Recorder) DeleteMessage(_ context.Context, g plugins.GroupID, id commands.MessageID) error {
	return r.record(Call{Action: ActionDelete, Group: g, Message: id})
}

// RemoveMembers records a removal.
func (r *Recorder) RemoveMembers(_ context.Context, g plugins.GroupID, members []plugins.InboxID) error {
	return r.record(Call{Action: ActionRemove, Group: g, Members: slices.Clone(members)})
}
