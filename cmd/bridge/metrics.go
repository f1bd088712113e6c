package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"mlsbridge/client"
	"mlsbridge/node"
)

// Operations: /healthz and Prometheus /metrics on one small HTTP server,
// and the metrics the bot, the plugins and the cron jobs update.

const (
	// defaultMetricsListen is metrics.listen when the key is absent.
	defaultMetricsListen = "127.0.0.1:9556"
	// metricsOff as metrics.listen serves neither /healthz nor /metrics.
	metricsOff = "off"
	// metricsTokenEnv names the environment variable holding the bearer
	// token of /metrics; it takes precedence over metrics.bearer_token_file.
	metricsTokenEnv = "MLSBRIDGE_METRICS_TOKEN"
	// healthCheckTimeout bounds each health check of one /healthz request.
	healthCheckTimeout = 2 * time.Second
	// opsStopTimeout bounds how long the main job waits for the jobs and
	// the metrics server to stop.
	opsStopTimeout = 30 * time.Second
)

// MetricsConfig configures the HTTP server of /healthz and /metrics.
type MetricsConfig struct {
	// Listen is the TCP address of the server. Empty means
	// 127.0.0.1:9556; "off" serves neither endpoint. Unless AllowPublic is
	// set it must be a loopback address (127.0.0.0/8, ::1 or localhost).
	Listen string `yaml:"listen"`
	// AllowPublic permits a Listen address that is not loopback. False
	// (the default) rejects one at load. A public server needs a bearer
	// token.
	AllowPublic bool `yaml:"allow_public"`
	// BearerTokenFile names a file whose content (surrounding white space
	// trimmed) is the token that /metrics then requires as
	// "Authorization: Bearer <token>". The environment variable
	// MLSBRIDGE_METRICS_TOKEN, when set and not empty, is used instead.
	// Empty and no variable means no token. /healthz never needs it. The
	// token is never logged.
	BearerTokenFile string `yaml:"bearer_token_file"`

	token *secret // resolved by validate; nil means none
}

// secret holds a credential. It is kept behind a pointer in unexported
// fields, so that fmt's %v of a config prints an address, and it redacts
// itself when printed or logged directly.
type secret struct{ v string }

// String redacts the secret.
func (*secret) String() string { return "[redacted]" }

// GoString redacts the secret.
func (*secret) GoString() string { return "[redacted]" }

// LogValue redacts the secret in log/slog records.
func (*secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// defaults fills the documented zero-value meanings.
func (m *MetricsConfig) defaults() {
	if m.Listen == "" {
		m.Listen = defaultMetricsListen
	}
}

// validate checks the keys and resolves the bearer token from getenv or
// the token file; it returns every problem, each naming its key.
func (m *MetricsConfig) validate(getenv func(string) string) []error {
	var errs []error
	if m.Listen == metricsOff {
		return nil
	}
	host, _, err := net.SplitHostPort(m.Listen)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("metrics.listen %q: %w", m.Listen, err))
	case !m.AllowPublic && !isLoopbackHost(host):
		errs = append(errs, fmt.Errorf("metrics.listen %q: not a loopback address (127.0.0.1, ::1 or localhost); "+
			"set metrics.allow_public: true to serve beyond this machine", m.Listen))
	}
	if tok := strings.TrimSpace(getenv(metricsTokenEnv)); tok != "" {
		m.token = &secret{tok}
	} else if m.BearerTokenFile != "" {
		b, err := os.ReadFile(m.BearerTokenFile)
		switch tok := strings.TrimSpace(string(b)); {
		case err != nil:
			errs = append(errs, fmt.Errorf("metrics.bearer_token_file: %w", err))
		case tok == "":
			errs = append(errs, fmt.Errorf("metrics.bearer_token_file %q: the file is empty", m.BearerTokenFile))
		default:
			m.token = &secret{tok}
		}
	}
	if m.AllowPublic && m.token == nil && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("metrics.allow_public: a public /metrics needs a bearer token "+
			"(metrics.bearer_token_file or %s)", metricsTokenEnv))
	}
	return errs
}

// isLoopbackHost reports whether host (of a host:port) is localhost or a
// loopback IP. An empty host means every interface, so it is not.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Metrics are the bridge's Prometheus metrics, on a registry of its own
// (never the global one). The bot, the plugin host and the jobs update them
// through its methods, which are safe for concurrent use and do nothing on
// a nil *Metrics, so a component may be handed nil when metrics are off.
type Metrics struct {
	reg *prometheus.Registry

	groups         prometheus.Gauge
	messagesIn     prometheus.Counter
	messagesOut    prometheus.Counter
	commandLatency *prometheus.HistogramVec
	pluginActions  *prometheus.CounterVec
	jobRuns        *prometheus.CounterVec
	jobFailures    *prometheus.CounterVec
	jobPanics      *prometheus.CounterVec
	jobSkipped     *prometheus.CounterVec
	jobDuration    *prometheus.HistogramVec
	jobLastSuccess *prometheus.GaugeVec

	mu     sync.Mutex // guards checks
	checks []healthCheck
}

// healthCheck is one named check of /healthz.
type healthCheck struct {
	name  string
	check func(context.Context) error
}

// NewMetrics returns the metrics registered on a new private registry,
// with the Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.groups = prometheus.NewGauge(prometheus.GaugeOpts{Name: "mlsbridge_groups",
		Help: "Conversations (groups and DMs) the bots serve."})
	m.messagesIn = prometheus.NewCounter(prometheus.CounterOpts{Name: "mlsbridge_messages_received_total",
		Help: "Application messages the bots received from others."})
	m.messagesOut = prometheus.NewCounter(prometheus.CounterOpts{Name: "mlsbridge_messages_sent_total",
		Help: "Messages the bots sent (replies, notices, plugin messages)."})
	m.commandLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "mlsbridge_command_duration_seconds",
		Help:    "Time from dispatch to the end of a chat command, by command and outcome (ok, denied, error).",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"command", "outcome"})
	m.pluginActions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mlsbridge_plugin_actions_total",
		Help: "Actions plugins took (reply, react, delete, remove…), by plugin and action."}, []string{"plugin", "action"})
	m.jobRuns = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mlsbridge_job_runs_total",
		Help: "Runs of each cron job (skipped runs not included)."}, []string{"job"})
	m.jobFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mlsbridge_job_failures_total",
		Help: "Runs of each cron job that returned an error or panicked."}, []string{"job"})
	m.jobPanics = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mlsbridge_job_panics_total",
		Help: "Runs of each cron job that panicked (recovered; also counted as failures)."}, []string{"job"})
	m.jobSkipped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mlsbridge_job_skipped_total",
		Help: "Runs of each cron job skipped because the previous run was still going."}, []string{"job"})
	m.jobDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "mlsbridge_job_duration_seconds",
		Help: "Duration of each cron job run.", Buckets: prometheus.ExponentialBuckets(.01, 4, 9)}, []string{"job"})
	m.jobLastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mlsbridge_job_last_success_timestamp_seconds",
		Help: "Unix time of the start of each cron job's last successful run."}, []string{"job"})
	m.reg.MustRegister(m.groups, m.messagesIn, m.messagesOut, m.commandLatency, m.pluginActions, m.jobRuns,
		m.jobFailures, m.jobPanics, m.jobSkipped, m.jobDuration, m.jobLastSuccess,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the private registry, to register more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// AddGroups changes the number of conversations served by delta (+1 when
// a bot starts serving one, -1 when it stops), for several bots sharing
// the gauge.
func (m *Metrics) AddGroups(delta int) {
	if m != nil {
		m.groups.Add(float64(delta))
	}
}

// MessageReceived counts one application message received from someone
// else.
func (m *Metrics) MessageReceived() {
	if m != nil {
		m.messagesIn.Inc()
	}
}

// MessageSent counts one message a bot sent.
func (m *Metrics) MessageSent() {
	if m != nil {
		m.messagesOut.Inc()
	}
}

// ObserveCommand records how long a chat command took. command must come
// from a bounded set (the resolved top-level command name, or "unknown"
// for one not in the tree), never raw user text; outcome is "ok",
// "denied" or "error".
func (m *Metrics) ObserveCommand(command, outcome string, d time.Duration) {
	if m != nil {
		m.commandLatency.WithLabelValues(command, outcome).Observe(d.Seconds())
	}
}

// PluginAction counts one action of a plugin: plugin is its registered
// id, action a fixed word such as "reply", "react", "delete" or "remove".
func (m *Metrics) PluginAction(plugin, action string) {
	if m != nil {
		m.pluginActions.WithLabelValues(plugin, action).Inc()
	}
}

// initJob makes the job's series exist at zero before its first run.
func (m *Metrics) initJob(job string) {
	if m != nil {
		m.jobRuns.WithLabelValues(job)
		m.jobFailures.WithLabelValues(job)
		m.jobPanics.WithLabelValues(job)
		m.jobSkipped.WithLabelValues(job)
	}
}

// jobRun records one finished run of job: failed when it returned an
// error, panicked when that error was a recovered panic; started is the
// start of a successful run.
func (m *Metrics) jobRun(job string, started time.Time, d time.Duration, failed, panicked bool) {
	if m == nil {
		return
	}
	m.jobRuns.WithLabelValues(job).Inc()
	m.jobDuration.WithLabelValues(job).Observe(d.Seconds())
	switch {
	case panicked:
		m.jobPanics.WithLabelValues(job).Inc()
		m.jobFailures.WithLabelValues(job).Inc()
	case failed:
		m.jobFailures.WithLabelValues(job).Inc()
	default:
		m.jobLastSuccess.WithLabelValues(job).Set(float64(started.UnixNano()) / 1e9)
	}
}

// jobSkip counts a run of job skipped because it was still running.
func (m *Metrics) jobSkip(job string) {
	if m != nil {
		m.jobSkipped.WithLabelValues(job).Inc()
	}
}

// AddHealthCheck adds a check that /healthz runs on each request, with a
// short timeout: any error makes it answer 503 and name the check (the
// error text itself is not shown, since it could hold a DSN). Checks run
// in the order added.
func (m *Metrics) AddHealthCheck(name string, check func(ctx context.Context) error) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.checks = append(m.checks, healthCheck{name, check})
}

// handler returns the HTTP handler of /healthz and /metrics. token, if
// not nil, is required on /metrics as a bearer token.
func (m *Metrics) handler(token *secret) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", m.serveHealth)
	var metrics http.Handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
	if token != nil {
		metrics = requireBearer(token, metrics)
	}
	mux.Handle("GET /metrics", metrics)
	return mux
}

// serveHealth answers {"status":"ok"|"failing","checks":{name:"ok"|"failing"}}.
func (m *Metrics) serveHealth(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	checks := append([]healthCheck(nil), m.checks...)
	m.mu.Unlock()
	res := struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}{"ok", map[string]string{}}
	for _, c := range checks {
		ctx, cancel := context.WithTimeout(r.Context(), healthCheckTimeout)
		err := runCheck(ctx, c.check)
		cancel()
		res.Checks[c.name] = "ok"
		if err != nil {
			res.Checks[c.name] = "failing"
			res.Status = "failing"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if res.Status != "ok" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(res)
}

// runCheck runs one health check, a panic counting as a failure.
func runCheck(ctx context.Context, check func(context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("health check panicked: %v", r)
		}
	}()
	return check(ctx)
}

// requireBearer answers 401 unless the request carries the token.
func requireBearer(token *secret, next http.Handler) http.Handler {
	want := []byte("Bearer " + token.v)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mlsbridge metrics"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// metricsServer serves /healthz and /metrics until Stop.
type metricsServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{} // closed when Serve returned
}

// startMetricsServer listens on cfg.Listen (so a taken port fails here,
// at startup) and serves m's handler in a goroutine the server owns.
func startMetricsServer(log *slog.Logger, cfg MetricsConfig, m *Metrics) (*metricsServer, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen: %w", err)
	}
	s := &metricsServer{ln: ln, done: make(chan struct{}), srv: &http.Server{Handler: m.handler(cfg.token),
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	log.Info("metrics serving", "addr", ln.Addr().String(), "healthz", "http://"+ln.Addr().String()+"/healthz",
		"metrics", "http://"+ln.Addr().String()+"/metrics", "bearer_token", cfg.token != nil)
	return s, nil
}

// Addr returns the address the server listens on.
func (s *metricsServer) Addr() net.Addr { return s.ln.Addr() }

// Stop shuts the server down gracefully within ctx and waits for its
// goroutine.
func (s *metricsServer) Stop(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	<-s.done
	if err != nil {
		return fmt.Errorf("metrics: shutdown: %w", err)
	}
	return nil
}

// operations are the main job's cron jobs and metrics server.
type operations struct {
	metrics *Metrics
	jobs    *Jobs
	server  *metricsServer // nil when metrics.listen is off
	log     *slog.Logger
}

// startOperations starts the metrics server (unless metrics.listen is off)
// and the maintenance jobs over the installations clients returns (called
// at each run; nil or empty means none yet). The caller stops them with
// stop.
func startOperations(ctx context.Context, log *slog.Logger, cfg *Config, clients func() []*client.Client) (*operations, error) {
	o := &operations{metrics: NewMetrics(), log: log}
	if cfg.Metrics.Listen != metricsOff {
		s, err := startMetricsServer(log.With("component", "metrics"), cfg.Metrics, o.metrics)
		if err != nil {
			return nil, err
		}
		o.server = s
	}
	jobs, err := newMaintenanceJobs(cfg.Jobs, clients, JobsOptions{Logger: log.With("component", "jobs"),
		Metrics: o.metrics, Store: newJobStateFile(cfg.Jobs.StateFile)})
	if err == nil {
		err = jobs.Start(ctx)
	}
	if err != nil {
		o.stop()
		return nil, err
	}
	o.jobs = jobs
	return o, nil
}

// stop stops the jobs, then the metrics server, within opsStopTimeout,
// logging what does not stop in time.
func (o *operations) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), opsStopTimeout)
	defer cancel()
	if o.jobs != nil {
		if err := o.jobs.Stop(ctx); err != nil {
			o.log.Error("jobs did not stop in time", "err", err)
		}
	}
	if o.server != nil {
		if err := o.server.Stop(ctx); err != nil {
			o.log.Error("metrics server did not stop in time", "err", err)
		}
	}
}

// nodeHealth is the /healthz check of the embedded node: failing once it
// has stopped serving.
func nodeHealth(n *node.Node) func(context.Context) error {
	return func(context.Context) error {
		select {
		case <-n.Done():
			return errors.New("node stopped")
		default:
			return nil
		}
	}
}
