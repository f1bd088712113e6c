package bot

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"mlsbridge/client"
	"mlsbridge/commands"
	"mlsbridge/identity"
	"mlsbridge/plugins"
)

// Defaults of [Config]'s zero values.
const (
	DefaultQueueSize       = 64
	DefaultHandlerTimeout  = 2 * time.Minute
	DefaultCommandMaxAge   = 15 * time.Minute
	DefaultCommandPrefix   = "!"
	defaultStopGracePeriod = 10 * time.Second
)

// ConsentMode says which conversations the bot serves when it is added to
// them (xmtp-groups §11 leaves that decision to each installation).
type ConsentMode string

// Consent modes.
const (
	// ConsentAllowAll serves every group and DM the bot is added to. It is
	// the zero value.
	ConsentAllowAll ConsentMode = ""
	// ConsentAllowListed serves the conversations that an inbox of
	// ConsentConfig.Allowed or ConsentConfig.Operators added the bot to
	// (for a DM: whose other member is one); the others are rejected.
	ConsentAllowListed ConsentMode = "allow_listed"
	// ConsentRequireAccept serves a group only after an operator types
	// !accept in it (conversations started by Allowed inboxes or operators
	// are accepted at once). Until then the bot ignores everything in it
	// but !accept and !reject from operators. A DM with anyone else is
	// rejected: no operator could accept it.
	ConsentRequireAccept ConsentMode = "require_accept"
)

// ConsentConfig is the bot's consent policy for the conversations it is
// added to. The zero value serves every conversation. Its yaml tags let
// cmd/bridge load it as is.
type ConsentConfig struct {
	// Mode picks the policy; the zero value is [ConsentAllowAll].
	Mode ConsentMode `yaml:"mode"`
	// Allowed are the inboxes whose conversations the bot serves at once
	// in the allow_listed and require_accept modes. Nil: none.
	Allowed []identity.InboxID `yaml:"allowed"`
	// Operators may !accept and !reject conversations; their own
	// conversations are served at once in every mode. Nil: none, so in
	// require_accept mode only Allowed inboxes' groups are ever served.
	Operators []identity.InboxID `yaml:"operators"`
	// PendingNotice is sent once to a group that waits for an operator's
	// !accept (require_accept mode). Empty means "Hello! An operator of this
	// bot has to type !accept here before I answer in this group." (with the
	// command prefix); "-" sends nothing.
	PendingNotice string `yaml:"pending_notice"`
}

// Config configures a [Bot]. Client and Store are required; every other
// zero value has a documented default.
type Config struct {
	// Client is the bot's XMTP installation, opened and registered. The bot
	// does not close it.
	Client *client.Client
	// Store persists the bot's decisions and its plugins' settings and
	// data; a *storage.BotDB. The bot does not close it.
	Store Store
	// Logger receives the bot's logs (and its plugins', with "plugin" and
	// "group_id"). Nil discards them. Message text is never logged.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. It also is the default of
	// PluginClock.
	Now func() time.Time
	// PluginClock is the plugins' clock ([plugins.Config].Clock): what
	// their Host.Now and Host.Schedule use, and the Time of the events the
	// bot stamps itself (EventJoined, EventLeaveRequested), so plugins see
	// one clock. Nil means a clock reading Now with real timers. A test
	// setting it may also set Now to its Now, for the bot's other times.
	PluginClock plugins.Clock

	// Metrics receives the bot's measurements as they happen (metrics.go);
	// nil measures nothing beyond Stats.
	Metrics Metrics

	// Consent is the policy for conversations the bot is added to.
	Consent ConsentConfig

	// CommandPrefix starts a command; empty means [DefaultCommandPrefix].
	CommandPrefix string
	// Commands is the command tree's top level, before the plugins' commands
	// and accept/reject are added. Nil means commands.Builtins().
	Commands []*commands.Command
	// DisableCommands turns chat commands off entirely (even !accept).
	DisableCommands bool
	// CommandMaxAge ignores commands sent longer ago than this when they
	// reach the bot (after a restart, say), so stale orders are not
	// carried out. Zero means [DefaultCommandMaxAge]; negative never
	// ignores one.
	CommandMaxAge time.Duration

	// Plugins are the plugins offered to groups. Nil means every
	// registered plugin (plugins.List()); an empty non-nil slice, none.
	Plugins []plugins.Info
	// PluginCallTimeout bounds each call into a plugin; zero means
	// plugins.DefaultCallTimeout.
	PluginCallTimeout time.Duration

	// QueueSize bounds each conversation's queue of events waiting for
	// its goroutine; a full queue makes the stream wait (nothing is
	// dropped). Zero means [DefaultQueueSize].
	QueueSize int
	// HandlerTimeout bounds the handling of one event (the plugins, a
	// command, the handlers). Zero means [DefaultHandlerTimeout].
	HandlerTimeout time.Duration
}

// ErrConfig is wrapped by the errors of [New] for an invalid Config.
var ErrConfig = errors.New("bot: invalid config")

// withDefaults returns cfg with the zero values replaced, or an error
// listing every problem.
func (cfg Config) withDefaults() (Config, error) {
	var errs []error
	if cfg.Client == nil {
		errs = append(errs, errors.New("Client is required"))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("Store is required"))
	}
	switch cfg.Consent.Mode {
	case ConsentAllowAll, ConsentAllowListed, ConsentRequireAccept:
	default:
		errs = append(errs, fmt.Errorf("Consent.Mode %q is not %q, %q or empty", cfg.Consent.Mode, ConsentAllowListed, ConsentRequireAccept))
	}
	for _, list := range [][]identity.InboxID{cfg.Consent.Allowed, cfg.Consent.Operators} {
		for _, id := range list {
			if !id.Valid() {
				errs = append(errs, fmt.Errorf("consent inbox %q is not an inbox id (64 hex digits)", id))
			}
		}
	}
	if cfg.QueueSize < 0 || cfg.HandlerTimeout < 0 || cfg.PluginCallTimeout < 0 {
		errs = append(errs, errors.New("QueueSize, HandlerTimeout and PluginCallTimeout must not be negative"))
	}
	if len(errs) > 0 {
		return cfg, fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PluginClock == nil {
		cfg.PluginClock = funcClock(cfg.Now)
	}
	if cfg.CommandPrefix == "" {
		cfg.CommandPrefix = DefaultCommandPrefix
	}
	if cfg.CommandMaxAge == 0 {
		cfg.CommandMaxAge = DefaultCommandMaxAge
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.HandlerTimeout == 0 {
		cfg.HandlerTimeout = DefaultHandlerTimeout
	}
	if cfg.Consent.PendingNotice == "" {
		cfg.Consent.PendingNotice = "Hello! An operator of this bot has to type " + cfg.CommandPrefix +
			"accept here before I answer in this group."
	}
	cfg.Consent.Allowed = slices.Clone(cfg.Consent.Allowed)
	cfg.Consent.Operators = slices.Clone(cfg.Consent.Operators)
	return cfg, nil
}

// funcClock is a [plugins.Clock] reading a time func, with real timers.
type funcClock func() time.Time

// Now returns f().
func (f funcClock) Now() time.Time { return f() }

// AfterFunc is time.AfterFunc.
func (funcClock) AfterFunc(d time.Duration, fn func()) func() bool { return time.AfterFunc(d, fn).Stop }

// isOperator reports whether id is one of the configured operators.
func (c ConsentConfig) isOperator(id identity.InboxID) bool { return slices.Contains(c.Operators, id) }

// trusts reports whether conversations started by id are served at once
// in the allow_listed and require_accept modes.
func (c ConsentConfig) trusts(id identity.InboxID) bool {
	return id != "" && (slices.Contains(c.Allowed, id) || c.isOperator(id))
}
