package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"

	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration of the bridge, loaded once at startup
// from a YAML file with snake_case keys. Unknown keys are errors, and every
// problem is reported at once. config.example.yaml documents each key with
// its default.
type Config struct {
	// Log configures the process logger.
	Log LogConfig `yaml:"log"`
	// Node configures the XMTP node the bridge uses.
	Node NodeConfig `yaml:"node"`
	// Jobs schedules the cron jobs (jobs.go).
	Jobs JobsConfig `yaml:"jobs"`
	// Metrics configures /healthz and /metrics (metrics.go).
	Metrics MetricsConfig `yaml:"metrics"`
	// Bots are the bot installations the main job runs (bots.go). Absent
	// (nil) means one bot named "default" with every default; an empty
	// list means none.
	Bots []BotConfig `yaml:"bots"`
}

// LogConfig configures log/slog output on standard error.
type LogConfig struct {
	// Level is debug, info, warn or error. Empty means info.
	Level string `yaml:"level"`
	// Format is text or json. Empty means text.
	Format string `yaml:"format"`
}

// NodeConfig says whether the bridge embeds its own XMTP node.
type NodeConfig struct {
	// Embedded starts the node inside the bridge process. False means the
	// bots use the remote node at URL.
	Embedded bool `yaml:"embedded"`
	// Listen is the TCP address of the embedded node (cleartext HTTP/2
	// gRPC). Empty means 127.0.0.1:5556, the libxmtp default.
	Listen string `yaml:"listen"`
	// Database is the embedded node's SQLite file, or a PostgreSQL DSN
	// (postgres://… or host=…). Empty means mlsbridge-node.db in the
	// working directory. A DSN may carry a password: it is never logged.
	Database string `yaml:"database"`
	// URL is the remote node used when Embedded is false, e.g.
	// http://127.0.0.1:5556 (plaintext HTTP/2, as the bots' client speaks).
	URL string `yaml:"url"`
}

// defaults fills the documented zero-value meanings.
func (c *Config) defaults() {
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	if c.Node.Listen == "" {
		c.Node.Listen = "127.0.0.1:5556"
	}
	if c.Node.Database == "" {
		c.Node.Database = "mlsbridge-node.db"
	}
	c.Jobs.defaults(c.Node)
	c.Metrics.defaults()
	c.defaultBots()
}

// validate returns every problem of c, joined; getenv reads the
// environment (secrets named by the config).
func (c *Config) validate(getenv func(string) string) error {
	var errs []error
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Log.Level)); err != nil {
		errs = append(errs, fmt.Errorf("log.level %q: want debug, info, warn or error", c.Log.Level))
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		errs = append(errs, fmt.Errorf("log.format %q: want text or json", c.Log.Format))
	}
	if c.Node.Embedded {
		if _, _, err := net.SplitHostPort(c.Node.Listen); err != nil {
			errs = append(errs, fmt.Errorf("node.listen %q: %w", c.Node.Listen, err))
		}
	} else if err := checkNodeURL(c.Node.URL); err != nil {
		errs = append(errs, fmt.Errorf("node.url %q: %w", c.Node.URL, err))
	}
	errs = append(errs, c.Jobs.validate()...)
	errs = append(errs, c.Metrics.validate(getenv)...)
	errs = append(errs, c.validateBots(getenv)...)
	return errors.Join(errs...)
}

// logger builds the process logger from c.Log.
func (c *Config) logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Log.Level)) // validated at load
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// loadConfig reads, defaults and validates the YAML file at path.
func loadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parseConfig(data)
}

// parseConfig parses, defaults and validates a YAML config, reading the
// environment with os.Getenv.
func parseConfig(data []byte) (*Config, error) { return parseConfigEnv(data, os.Getenv) }

// parseConfigEnv is parseConfig with the environment read by getenv.
func parseConfigEnv(data []byte, getenv func(string) string) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // EOF: an empty file means all defaults
		return nil, fmt.Errorf("parse config: %w", err)
	}
	c.defaults()
	if err := c.validate(getenv); err != nil {
		return nil, fmt.Errorf("invalid config:\n%w", err)
	}
	return &c, nil
}

// checkNodeURL accepts a remote node's URL: http:// or https://, a host
// and port, and nothing else (no path, query or user).
func checkNodeURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("want an http:// or https:// URL when node.embedded is false: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("want an http:// or https:// URL when node.embedded is false")
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("want scheme://host:port with no user, path, query or fragment")
	}
	return nil
}

// nodeDialAddr is the gRPC dial address of a checked node URL: its host
// and port.
func nodeDialAddr(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Host
}
