package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"mlsbridge/bot"
	"mlsbridge/client"
	"mlsbridge/identity"
	"mlsbridge/plugins"
	"mlsbridge/storage"
)

// The bots of the main job: each entry of bots: in the config is one XMTP
// installation (its wallet, its SQLite database) run by a bot.Bot with the
// built-in commands and the compiled-in plugins.

// Compile-time check: the Prometheus metrics take the bots' measurements.
var _ bot.Metrics = (*Metrics)(nil)

const (
	// defaultBotName names the bot of a config without bots:.
	defaultBotName = "default"
	// botStopTimeout bounds the graceful stop of all bots together.
	botStopTimeout = 20 * time.Second
	// botOpenTimeout bounds opening and registering one installation.
	botOpenTimeout = 2 * time.Minute
	// consentAllowAll is the YAML name of bot.ConsentAllowAll (whose Go
	// value is empty).
	consentAllowAll = "allow_all"
)

// BotConfig configures one bot installation (an entry of bots:).
type BotConfig struct {
	// Name identifies the bot in logs, metrics and file names: 1 to 32
	// lower-case letters, digits, "_" or "-", unique. Required.
	Name string `yaml:"name"`
	// Database is the installation's SQLite file; the bot's own tables
	// (conversation decisions, plugin settings and data) live in it too.
	// Empty means mlsbridge-bot-<name>.db in the folder of node.database
	// (a SQLite file of the embedded node), else in the working directory.
	Database string `yaml:"database"`
	// KeyEnv names an environment variable holding the wallet's private
	// key (64 hex digits, with or without 0x). Empty: not from the
	// environment.
	KeyEnv string `yaml:"key_env"`
	// KeyFile is a file holding the wallet's private key, as for KeyEnv.
	// When both KeyEnv and KeyFile are empty, the first bot's key file is
	// <database without extension>.key, generated (mode 0600) on the first
	// run; other bots need one of them. When that generated file is gone
	// but the database exists, the installation runs without its wallet
	// (needed only to register it), with a warning.
	KeyFile string `yaml:"key_file"`
	// CommandPrefix starts a chat command; empty means "!".
	CommandPrefix string `yaml:"command_prefix"`
	// Consent says which groups the bot serves when added to them.
	Consent BotConsentConfig `yaml:"consent"`
	// Plugins says which plugins the bot offers and their defaults.
	Plugins BotPluginsConfig `yaml:"plugins"`

	// generateKey is set by defaults on the first bot with no key
	// configured: its KeyFile is created when missing.
	generateKey bool
	// signer is the wallet read by validate (nil for a key still to be
	// generated). Its String shows only the address.
	signer *identity.EthereumSigner
	// pluginDefaults are Plugins.Defaults as JSON, set by validate.
	pluginDefaults map[string]plugins.Setting
}

// BotConsentConfig is the consent policy of a bot (bot.ConsentConfig),
// with members named by inbox id or Ethereum address.
type BotConsentConfig struct {
	// Mode is allow_all (serve every group and DM), allow_listed (serve
	// those that an allowed inbox or an operator added the bot to) or
	// require_accept (wait for an operator's !accept). Empty means
	// allow_all.
	Mode string `yaml:"mode"`
	// Allowed are inbox ids or 0x addresses whose groups are served at
	// once. Empty: none.
	Allowed []string `yaml:"allowed"`
	// Operators are inbox ids or 0x addresses that may !accept and
	// !reject groups; their own groups are served at once. Empty: none.
	Operators []string `yaml:"operators"`
	// PendingNotice is the message a group waiting for !accept gets;
	// empty means the bot's default text, "-" none.
	PendingNotice string `yaml:"pending_notice"`
}

// BotPluginsConfig says which plugins a bot offers and how they start in
// a group that has no settings of its own.
type BotPluginsConfig struct {
	// Available are the plugin ids the bot offers (as !plugins list shows
	// them). Empty means every compiled-in plugin.
	Available []string `yaml:"available"`
	// Defaults maps a plugin id to its setting in every group where no
	// admin has changed it yet. Plugins not listed start off.
	Defaults map[string]PluginDefault `yaml:"defaults"`
}

// PluginDefault is the default setting of one plugin in a group.
type PluginDefault struct {
	// Enabled turns the plugin on. False: off until !plugins enable.
	Enabled bool `yaml:"enabled"`
	// Config is the plugin's config, the keys of !plugins config; empty
	// means the plugin's own defaults. Checked at load.
	Config map[string]any `yaml:"config"`
}

var botNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// defaultBots fills the documented zero-value meanings of the bots; node
// is the node config, already defaulted. A config without bots: gets one
// bot named "default".
func (c *Config) defaultBots() {
	if c.Bots == nil {
		c.Bots = []BotConfig{{Name: defaultBotName}}
	}
	dir := ""
	if c.Node.Embedded && c.Node.Database != "" && !storage.IsPostgresDSN(c.Node.Database) {
		dir = filepath.Dir(c.Node.Database)
	}
	for i := range c.Bots {
		b := &c.Bots[i]
		if b.Database == "" && b.Name != "" {
			b.Database = filepath.Join(dir, "mlsbridge-bot-"+b.Name+".db")
		}
		if i == 0 && b.KeyEnv == "" && b.KeyFile == "" && b.Database != "" {
			b.KeyFile = strings.TrimSuffix(b.Database, filepath.Ext(b.Database)) + ".key"
			b.generateKey = true
		}
		if b.CommandPrefix == "" {
			b.CommandPrefix = bot.DefaultCommandPrefix
		}
		if b.Consent.Mode == "" {
			b.Consent.Mode = consentAllowAll
		}
	}
}

// validateBots checks every bot, reading their keys, and returns every
// problem, each naming its key.
func (c *Config) validateBots(getenv func(string) string) []error {
	var errs []error
	names, dbs := map[string]bool{}, map[string]bool{}
	for i := range c.Bots {
		b := &c.Bots[i]
		key := fmt.Sprintf("bots[%d]", i)
		switch {
		case !botNameRE.MatchString(b.Name):
			errs = append(errs, fmt.Errorf("%s.name %q: want 1 to 32 lower-case letters, digits, _ or -", key, b.Name))
		case names[b.Name]:
			errs = append(errs, fmt.Errorf("%s.name %q: another bot has this name", key, b.Name))
		}
		names[b.Name] = true
		if b.Database != "" {
			abs, _ := filepath.Abs(b.Database)
			if dbs[abs] {
				errs = append(errs, fmt.Errorf("%s.database %q: another bot uses this file", key, b.Database))
			}
			dbs[abs] = true
			if storage.IsPostgresDSN(b.Database) {
				errs = append(errs, fmt.Errorf("%s.database: want a SQLite file path, not a PostgreSQL DSN", key))
			}
		}
		errs = append(errs, b.validateKey(key, getenv)...)
		if strings.ContainsFunc(b.CommandPrefix, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }) || len(b.CommandPrefix) > 8 {
			errs = append(errs, fmt.Errorf("%s.command_prefix %q: want up to 8 characters without spaces", key, b.CommandPrefix))
		}
		errs = append(errs, b.Consent.validate(key+".consent")...)
		errs = append(errs, b.validatePlugins(key+".plugins")...)
	}
	if len(c.Bots) > 0 && !c.Node.Embedded && strings.HasPrefix(c.Node.URL, "https://") {
		errs = append(errs, fmt.Errorf("node.url %q: the bots' client speaks plaintext HTTP/2 only; use http://", c.Node.URL))
	}
	return errs
}

// validateKey reads the bot's wallet key from its env var or file.
func (b *BotConfig) validateKey(key string, getenv func(string) string) []error {
	switch {
	case b.KeyEnv != "" && b.KeyFile != "":
		return []error{fmt.Errorf("%s: set key_env or key_file, not both", key)}
	case b.KeyEnv != "":
		v := getenv(b.KeyEnv)
		if v == "" {
			return []error{fmt.Errorf("%s.key_env: environment variable %s is empty or unset", key, b.KeyEnv)}
		}
		s, err := parseWalletKey(v)
		if err != nil {
			return []error{fmt.Errorf("%s.key_env: %s: %w", key, b.KeyEnv, err)}
		}
		b.signer = s
	case b.KeyFile != "":
		data, err := os.ReadFile(b.KeyFile)
		if errors.Is(err, fs.ErrNotExist) && b.generateKey {
			return nil // generated at start
		}
		if err != nil {
			return []error{fmt.Errorf("%s.key_file: %w", key, err)}
		}
		s, err := parseWalletKey(string(data))
		if err != nil {
			return []error{fmt.Errorf("%s.key_file %s: %w", key, b.KeyFile, err)}
		}
		b.signer = s
	default:
		return []error{fmt.Errorf("%s: key_env or key_file is required (only the first bot gets a generated key)", key)}
	}
	return nil
}

// parseWalletKey reads a private key written as 64 hex digits, with or
// without 0x and surrounding space. Errors never quote the key.
func parseWalletKey(s string) (*identity.EthereumSigner, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "0x")
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, errors.New("want a wallet private key of 64 hex digits (optionally 0x-prefixed)")
	}
	return identity.NewEthereumSigner(b)
}

// validate checks a consent config; key is its config path.
func (c *BotConsentConfig) validate(key string) []error {
	var errs []error
	switch c.Mode {
	case consentAllowAll, string(bot.ConsentAllowListed), string(bot.ConsentRequireAccept):
	default:
		errs = append(errs, fmt.Errorf("%s.mode %q: want allow_all, allow_listed or require_accept", key, c.Mode))
	}
	for name, list := range map[string][]string{"allowed": c.Allowed, "operators": c.Operators} {
		for i, m := range list {
			if _, _, err := parseMemberRef(m); err != nil {
				errs = append(errs, fmt.Errorf("%s.%s[%d] %q: %w", key, name, i, m, err))
			}
		}
	}
	return errs
}

// parseMemberRef reads an inbox id or an Ethereum address.
func parseMemberRef(s string) (identity.InboxID, identity.Address, error) {
	if id, err := identity.ParseInboxID(s); err == nil {
		return id, "", nil
	}
	if a, err := identity.ParseAddress(strings.ToLower(s)); err == nil {
		return "", a, nil
	}
	return "", "", errors.New("want an inbox id (64 hex digits) or an address (0x and 40 hex digits)")
}

// validatePlugins checks the plugin ids and default configs, keeping the
// defaults as settings.
func (b *BotConfig) validatePlugins(key string) []error {
	var errs []error
	for i, id := range b.Plugins.Available {
		if _, ok := plugins.Lookup(plugins.ID(id)); !ok {
			errs = append(errs, fmt.Errorf("%s.available[%d] %q: no such plugin (compiled in: %s)", key, i, id, pluginIDs()))
		}
	}
	b.pluginDefaults = map[string]plugins.Setting{}
	for _, id := range slices.Sorted(maps.Keys(b.Plugins.Defaults)) {
		d := b.Plugins.Defaults[id]
		info, ok := plugins.Lookup(plugins.ID(id))
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s.defaults.%s: no such plugin (compiled in: %s)", key, id, pluginIDs()))
			continue
		case len(b.Plugins.Available) > 0 && !slices.Contains(b.Plugins.Available, id):
			errs = append(errs, fmt.Errorf("%s.defaults.%s: the plugin is not in %s.available", key, id, key))
			continue
		}
		var raw json.RawMessage
		if len(d.Config) > 0 {
			var err error
			if raw, err = json.Marshal(d.Config); err != nil {
				errs = append(errs, fmt.Errorf("%s.defaults.%s.config: %w", key, id, err))
				continue
			}
		}
		if err := plugins.CheckConfig(info, raw); err != nil {
			if ce, ok := errors.AsType[*plugins.ConfigError](err); ok && ce.Err != nil {
				err = ce.Err // its Reason, without the plugin id the key already names
			}
			errs = append(errs, fmt.Errorf("%s.defaults.%s.config: %w", key, id, err))
			continue
		}
		b.pluginDefaults[id] = plugins.Setting{Plugin: info.ID, Enabled: d.Enabled, Config: raw}
	}
	return errs
}

// pluginIDs lists the compiled-in plugins, for errors.
func pluginIDs() string {
	var ids []string
	for _, info := range plugins.List() {
		ids = append(ids, string(info.ID))
	}
	return strings.Join(ids, ", ")
}

// botStore is a bot's Store: its database, with the configured plugin
// defaults standing in for the settings of plugins a group has none of.
type botStore struct {
	*storage.BotDB
	defaults map[string]plugins.Setting // by plugin id
}

// BotPluginSettings returns the group's stored settings plus the defaults
// of the plugins it has no setting of.
func (s botStore) BotPluginSettings(ctx context.Context, groupID string) ([]storage.BotPluginSetting, error) {
	rows, err := s.BotDB.BotPluginSettings(ctx, groupID)
	if err != nil || len(s.defaults) == 0 {
		return rows, err
	}
	for _, id := range slices.Sorted(maps.Keys(s.defaults)) {
		if slices.ContainsFunc(rows, func(r storage.BotPluginSetting) bool { return r.Plugin == id }) {
			continue
		}
		d := s.defaults[id]
		rows = append(rows, storage.BotPluginSetting{GroupID: groupID, Plugin: id, Enabled: d.Enabled, Config: d.Config})
	}
	return rows, nil
}

// runningBot is one bot of the main job with what it owns.
type runningBot struct {
	cfg    BotConfig
	log    *slog.Logger
	client *client.Client
	store  *storage.BotDB
	bot    *bot.Bot // nil until started
}

// openBots opens (creating and registering when new) every configured
// installation on the node at nodeAddr. On error, those opened are closed.
func openBots(ctx context.Context, log *slog.Logger, cfg *Config, nodeAddr string) ([]*runningBot, error) {
	var out []*runningBot
	for _, bc := range cfg.Bots {
		rb, err := openBot(ctx, log.With("bot", bc.Name), bc, nodeAddr)
		if err != nil {
			closeBots(log, out)
			return nil, fmt.Errorf("bot %s: %w", bc.Name, err)
		}
		out = append(out, rb)
	}
	return out, nil
}

// openBot opens one installation and its bot store.
func openBot(ctx context.Context, log *slog.Logger, bc BotConfig, nodeAddr string) (*runningBot, error) {
	ctx, cancel := context.WithTimeout(ctx, botOpenTimeout)
	defer cancel()
	signer := bc.signer
	_, statErr := os.Stat(bc.Database)
	switch {
	case signer != nil:
	case statErr == nil:
		// The key file is gone but the installation exists: it runs
		// without its wallet (needed only to register), and no new key
		// is made that could never match it.
		log.Warn("the bot's key file is missing; running its existing installation without the wallet key",
			"key_file", bc.KeyFile, "database", bc.Database)
	default:
		var err error
		if signer, err = generateKeyFile(log, bc.KeyFile); err != nil {
			return nil, err
		}
	}
	if dir := filepath.Dir(bc.Database); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create database folder: %w", err)
		}
	}
	var cs client.Signer
	if signer != nil {
		cs = signer // a nil *EthereumSigner must stay a nil interface
	}
	c, err := client.New(ctx, cs, client.Options{NodeAddress: nodeAddr, DBPath: bc.Database,
		Logger: log.With("component", "client")})
	if err != nil {
		return nil, fmt.Errorf("open installation %s: %w", bc.Database, err)
	}
	if !c.IsRegistered() {
		log.Info("registering the bot's installation", "inbox_id", string(c.InboxID()), "address", string(c.Address()))
		if err := c.Register(ctx); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("register: %w", err)
		}
	}
	store, err := storage.OpenBot(ctx, bc.Database, &storage.Options{Logger: log.With("component", "storage")})
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return &runningBot{cfg: bc, log: log, client: c, store: store}, nil
}

// generateKeyFile makes a new wallet key and writes it to path with mode
// 0600 (failing if the file appeared meanwhile), logging where, never what.
func generateKeyFile(log *slog.Logger, path string) (*identity.EthereumSigner, error) {
	s, err := identity.GenerateEthereumSigner(nil)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create key folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	_, werr := fmt.Fprintf(f, "0x%x\n", s.PrivateKey())
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("write key file: %w", werr)
	}
	log.Info("generated a new wallet key for the bot; keep this file secret and back it up",
		"key_file", path, "address", string(s.Address()))
	return s, nil
}

// start builds and starts the bot on its open installation.
func (rb *runningBot) start(ctx context.Context, m *Metrics) error {
	consent, err := rb.consent(ctx)
	if err != nil {
		return err
	}
	var offered []plugins.Info
	if len(rb.cfg.Plugins.Available) > 0 {
		for _, id := range rb.cfg.Plugins.Available {
			info, _ := plugins.Lookup(plugins.ID(id)) // validated at load
			offered = append(offered, info)
		}
	}
	b, err := bot.New(bot.Config{Client: rb.client, Store: botStore{BotDB: rb.store, defaults: rb.cfg.pluginDefaults},
		Logger: rb.log, Metrics: m, Consent: consent, CommandPrefix: rb.cfg.CommandPrefix, Plugins: offered})
	if err != nil {
		return err
	}
	if err := b.Start(ctx); err != nil {
		return err
	}
	rb.bot = b
	return nil
}

// consent returns the bot's consent config, addresses turned into inbox
// ids: the node's answer, or, for an address with no inbox yet, the inbox
// it gets when it registers with libxmtp's default nonce.
func (rb *runningBot) consent(ctx context.Context) (bot.ConsentConfig, error) {
	cc := rb.cfg.Consent
	out := bot.ConsentConfig{PendingNotice: cc.PendingNotice}
	if cc.Mode != consentAllowAll {
		out.Mode = bot.ConsentMode(cc.Mode)
	}
	var errs []error
	resolve := func(list []string) []identity.InboxID {
		var ids []identity.InboxID
		for _, s := range list {
			id, err := rb.inboxOf(ctx, s)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			ids = append(ids, id)
		}
		return ids
	}
	out.Allowed, out.Operators = resolve(cc.Allowed), resolve(cc.Operators)
	return out, errors.Join(errs...)
}

// inboxOf returns the inbox of an inbox id or address of the consent
// config.
func (rb *runningBot) inboxOf(ctx context.Context, s string) (identity.InboxID, error) {
	id, addr, err := parseMemberRef(s)
	if err != nil || id != "" {
		return id, err
	}
	id, found, err := rb.client.InboxIDFor(ctx, addr)
	if err != nil {
		return "", fmt.Errorf("look up the inbox of %s: %w", addr, err)
	}
	if !found {
		if id, err = identity.ComputeInboxID(identity.EthereumMember(addr), 1); err != nil {
			return "", err
		}
		rb.log.Info("consent address has no inbox yet; using the one it will get", "address", string(addr), "inbox_id", string(id))
	}
	return id, nil
}

// health is the bot's /healthz check: failing once the bot has stopped.
func (rb *runningBot) health(context.Context) error {
	if rb.bot == nil {
		return errors.New("bot not started")
	}
	select {
	case <-rb.bot.Done():
		return errors.New("bot stopped")
	default:
		return nil
	}
}

// startBots starts every bot, registering its health check; on error the
// bots already started are stopped (the caller still closes them all).
func startBots(ctx context.Context, log *slog.Logger, bots []*runningBot, m *Metrics) error {
	for _, rb := range bots {
		if err := rb.start(ctx, m); err != nil {
			stopBots(log, bots)
			return fmt.Errorf("bot %s: %w", rb.cfg.Name, err)
		}
		m.AddHealthCheck("bot_"+rb.cfg.Name, rb.health)
	}
	return nil
}

// stopBots stops the started bots together within botStopTimeout.
func stopBots(log *slog.Logger, bots []*runningBot) {
	ctx, cancel := context.WithTimeout(context.Background(), botStopTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, rb := range bots {
		if rb.bot == nil {
			continue
		}
		wg.Go(func() {
			if err := rb.bot.Stop(ctx); err != nil {
				rb.log.Error("bot did not stop gracefully", "err", err)
			}
		})
	}
	wg.Wait()
	log.Debug("bots stopped")
}

// closeBots closes the bots' stores and installations; call it after
// stopBots.
func closeBots(log *slog.Logger, bots []*runningBot) {
	for _, rb := range bots {
		if err := rb.store.Close(); err != nil {
			log.Warn("close bot database", "bot", rb.cfg.Name, "err", err)
		}
		if err := rb.client.Close(); err != nil {
			log.Warn("close bot installation", "bot", rb.cfg.Name, "err", err)
		}
	}
}

// botClients returns the installations of bots, for the cron jobs.
func botClients(bots []*runningBot) func() []*client.Client {
	cs := make([]*client.Client, len(bots))
	for i, rb := range bots {
		cs[i] = rb.client
	}
	return func() []*client.Client { return cs }
}

// printReach tells a person how to reach the node and each bot.
func printReach(w io.Writer, nodeURL string, embedded bool, bots []*runningBot) {
	where := "remote XMTP node"
	if embedded {
		where = "XMTP node serving"
	}
	fmt.Fprintf(w, "bridge %s: %s at %s (libxmtp: host %s, isSecure false)\n", version, where, nodeURL, nodeURL)
	for _, rb := range bots {
		fmt.Fprintf(w, "bot %s: inbox id %s, address %s; add it to a group (by inbox id or address) and type %shelp\n",
			rb.cfg.Name, rb.client.InboxID(), rb.client.Address(), rb.cfg.CommandPrefix)
	}
	fmt.Fprintf(w, "bridge ready: %d bot(s); Ctrl-C stops it\n", len(bots))
}

// dialAddr is the address a local client dials to reach a listener at a:
// a wildcard host becomes the loopback address.
func dialAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
