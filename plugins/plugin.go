package plugins

import (
	"context"

	"mlsbridge/commands"
)

// Plugin is one instance of a plugin, serving one group. HandleEvent is its
// required core; everything else is an optional capability found by type
// assertion ([Provisioner], [Validator], [Starter], [Stopper],
// [CommandProvider]).
//
// The value Info.New returns must be a pointer: the group's config is
// JSON-decoded into it, so its exported fields (with json tags, snake_case)
// are the config and everything else must be unexported.
type Plugin interface {
	// HandleEvent receives every event of the instance's group, one at a
	// time and never concurrently with another call into the instance. h
	// is the instance's host, the same value on every call. Ignore event
	// types you do not know: new ones may be added.
	//
	// An error is logged by the manager and affects no other plugin; the
	// event is not retried. ctx bounds the call.
	HandleEvent(ctx context.Context, h *Host, ev Event) error
}

// Provisioner prepares an instance after its config was decoded: it fills
// in defaults and derives state such as compiled patterns. It must not act
// or do I/O: the manager also builds throwaway instances to check a config
// before saving it. An error rejects the config and is shown to the admin,
// so word it for a person ("pattern 2 does not compile: ...").
type Provisioner interface {
	Plugin
	Provision() error
}

// Validator checks an instance's config after [Provisioner.Provision]. The
// same rules apply: no actions, no I/O, and an error for a person.
type Validator interface {
	Plugin
	Validate() error
}

// Starter begins an instance's work in its group, once, before its first
// event: typically reading its storage and scheduling what a restart
// interrupted. An error keeps the instance from running: what it scheduled
// is cancelled and Stop is not called. The setting stays enabled, so the
// next load tries again.
type Starter interface {
	Plugin
	Start(ctx context.Context, h *Host) error
}

// Stopper releases what an instance holds when it is disabled, replaced by
// a new config, unloaded or the manager stops. Its scheduled funcs are
// already cancelled when Stop is called. ctx bounds the call.
type Stopper interface {
	Plugin
	Stop(ctx context.Context) error
}

// CommandProvider is a plugin that adds chat commands to the bot's command
// tree. Commands must declare the same tree (names, aliases, arguments,
// roles) on every instance, including a freshly constructed one: the
// manager reads the declarations once from an unconfigured instance, and at
// run time calls the handler of the same command on the instance of the
// group the command came from. Handlers may use the [*Host] the instance
// received in [Starter.Start].
type CommandProvider interface {
	Plugin
	Commands() []*commands.Command
}

// Compile-time checks that the func adapter satisfies the core.
var _ Plugin = HandlerFunc(nil)

// HandlerFunc adapts a func to [Plugin]. Info.New must return a pointer,
// so register a func as New: func() Plugin { return &Func{Handle: f} }.
type HandlerFunc func(ctx context.Context, h *Host, ev Event) error

// HandleEvent calls f.
func (f HandlerFunc) HandleEvent(ctx context.Context, h *Host, ev Event) error { return f(ctx, h, ev) }

// Func is a stateless, configless plugin made of one func. Its config must
// be empty.
type Func struct {
	Handle HandlerFunc `json:"-"`
}

// HandleEvent calls f.Handle.
func (f *Func) HandleEvent(ctx context.Context, h *Host, ev Event) error {
	return f.Handle(ctx, h, ev)
}
