package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startTestMetrics serves m on 127.0.0.1:0 and returns its base URL; the
// server stops (bounded) at cleanup.
func startTestMetrics(t *testing.T, cfg MetricsConfig, m *Metrics) (string, *syncBuffer) {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	logs := &syncBuffer{}
	s, err := startMetricsServer(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), cfg, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop metrics server: %v", err)
		}
	})
	return "http://" + s.Addr().String(), logs
}

// httpGet fetches url with an optional Authorization header and returns
// the status and body.
func httpGet(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// scrape returns the samples of /metrics by series ("name{labels}").
func scrape(t *testing.T, base, auth string) map[string]float64 {
	t.Helper()
	code, body := httpGet(t, base+"/metrics", auth)
	if code != http.StatusOK {
		t.Fatalf("/metrics answered %d: %s", code, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsEndpoints: /metrics over 127.0.0.1 shows each metric, and the
// counts move with the calls the bot and the jobs make.
func TestMetricsEndpoints(t *testing.T) {
	m := NewMetrics()
	j, err := NewJobs([]Job{{Name: "sweep", Schedule: hourly(t), Run: func(context.Context) error {
		return errors.New("node unreachable")
	}}}, JobsOptions{Metrics: m, Store: seededStore(time.Now(), "sweep")})
	if err != nil {
		t.Fatal(err)
	}
	startJobs(t, j)
	base, _ := startTestMetrics(t, MetricsConfig{}, m)

	before := scrape(t, base, "")
	for _, series := range []string{"mlsbridge_groups", "mlsbridge_messages_received_total", "mlsbridge_messages_sent_total",
		`mlsbridge_job_runs_total{job="sweep"}`, `mlsbridge_job_failures_total{job="sweep"}`,
		`mlsbridge_job_panics_total{job="sweep"}`, `mlsbridge_job_skipped_total{job="sweep"}`, "go_goroutines"} {
		if v, ok := before[series]; !ok || (v != 0 && series != "go_goroutines") {
			t.Errorf("before: %s = %v (present %v), want 0", series, v, ok)
		}
	}

	m.AddGroups(5)
	m.AddGroups(-1)
	m.MessageReceived()
	m.MessageReceived()
	m.MessageSent()
	m.ObserveCommand("admin", "ok", 30*time.Millisecond)
	m.ObserveCommand("admin", "denied", 2*time.Millisecond)
	m.PluginAction("mlsbridge.wordfilter", "delete")
	if err := j.RunNow(jobsCtx(t), "sweep"); err == nil {
		t.Fatal("failing job succeeded")
	}

	after := scrape(t, base, "")
	want := map[string]float64{
		"mlsbridge_groups":                  4,
		"mlsbridge_messages_received_total": 2,
		"mlsbridge_messages_sent_total":     1,
		`mlsbridge_command_duration_seconds_count{command="admin",outcome="ok"}`:            1,
		`mlsbridge_command_duration_seconds_bucket{command="admin",outcome="ok",le="0.05"}`: 1,
		`mlsbridge_command_duration_seconds_count{command="admin",outcome="denied"}`:        1,
		`mlsbridge_plugin_actions_total{action="delete",plugin="mlsbridge.wordfilter"}`:     1,
		`mlsbridge_job_runs_total{job="sweep"}`:                                             1,
		`mlsbridge_job_failures_total{job="sweep"}`:                                         1,
		`mlsbridge_job_duration_seconds_count{job="sweep"}`:                                 1,
	}
	for series, v := range want {
		if got, ok := after[series]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, v)
		}
	}
	var nilMetrics *Metrics // components handed no metrics
	nilMetrics.MessageSent()
	nilMetrics.ObserveCommand("ping", "ok", time.Millisecond)
}

// TestMetricsHealthz: /healthz is 200 while every check passes and 503,
// naming the failing check but not its error, once one fails.
func TestMetricsHealthz(t *testing.T) {
	m := NewMetrics()
	base, _ := startTestMetrics(t, MetricsConfig{}, m)
	health := func() (int, map[string]any) {
		t.Helper()
		code, body := httpGet(t, base+"/healthz", "")
		var res map[string]any
		if err := json.Unmarshal([]byte(body), &res); err != nil {
			t.Fatalf("/healthz body %q: %v", body, err)
		}
		return code, res
	}
	if code, res := health(); code != http.StatusOK || res["status"] != "ok" {
		t.Fatalf("/healthz with no checks = %d %v", code, res)
	}
	var broken error
	m.AddHealthCheck("node", func(context.Context) error { return nil })
	m.AddHealthCheck("bot", func(context.Context) error { return broken })
	if code, res := health(); code != http.StatusOK || fmt.Sprint(res["checks"]) != "map[bot:ok node:ok]" {
		t.Fatalf("/healthz with passing checks = %d %v", code, res)
	}
	broken = errors.New("stream ended: postgres://bot:hunter2@db/bot")
	code, body := httpGet(t, base+"/healthz", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"bot":"failing"`) || !strings.Contains(body, `"node":"ok"`) {
		t.Fatalf("/healthz with a failing check = %d %s", code, body)
	}
	if strings.Contains(body, "hunter2") {
		t.Fatalf("/healthz shows the error text: %s", body)
	}
	m.AddHealthCheck("panicky", func(context.Context) error { panic("oops") })
	broken = nil
	if code, res := health(); code != http.StatusServiceUnavailable || fmt.Sprint(res["checks"]) != "map[bot:ok node:ok panicky:failing]" {
		t.Fatalf("/healthz with a panicking check = %d %v", code, res)
	}
}

// TestMetricsBearerToken: with a token, /metrics needs it and /healthz
// does not; the token is never logged or printed.
func TestMetricsBearerToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(metricsTokenEnv, "")
	cfg, err := parseConfig([]byte("node:\n  embedded: true\nmetrics:\n  bearer_token_file: " + path + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	base, logs := startTestMetrics(t, cfg.Metrics, NewMetrics())
	if code, _ := httpGet(t, base+"/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without the token = %d, want 401", code)
	}
	if code, _ := httpGet(t, base+"/metrics", "Bearer wrong"); code != http.StatusUnauthorized {
		t.Errorf("/metrics with a wrong token = %d, want 401", code)
	}
	if code, body := httpGet(t, base+"/metrics", "Bearer s3cret-token"); code != http.StatusOK || !strings.Contains(body, "mlsbridge_groups") {
		t.Errorf("/metrics with the token = %d", code)
	}
	if code, _ := httpGet(t, base+"/healthz", ""); code != http.StatusOK {
		t.Errorf("/healthz without the token = %d, want 200", code)
	}
	var out strings.Builder
	slog.New(slog.NewTextHandler(&out, nil)).Info("config", "token", cfg.Metrics.token, "metrics", cfg.Metrics)
	fmt.Fprintf(&out, "%v %+v %#v %s", cfg.Metrics, *cfg, cfg.Metrics.token, cfg.Metrics.token)
	for _, s := range []string{out.String(), logs.String()} {
		if strings.Contains(s, "s3cret") {
			t.Fatalf("the token leaked: %s", s)
		}
	}

	t.Setenv(metricsTokenEnv, "from-env")
	cfg, err = parseConfig([]byte("node:\n  embedded: true\nmetrics:\n  bearer_token_file: " + path + "\n"))
	if err != nil || cfg.Metrics.token == nil || cfg.Metrics.token.v != "from-env" {
		t.Fatalf("the environment variable does not take precedence (%v)", err)
	}
}

// TestConfigMetrics: the address must be loopback unless allowed, and a
// public one needs a token; a missing or empty token file is an error.
func TestConfigMetrics(t *testing.T) {
	t.Setenv(metricsTokenEnv, "")
	cfg, err := parseConfig([]byte("node:\n  embedded: true\n"))
	if err != nil || cfg.Metrics.Listen != defaultMetricsListen || cfg.Metrics.token != nil {
		t.Fatalf("defaults: %+v %v", cfg.Metrics, err)
	}
	for _, listen := range []string{"127.0.0.1:9000", "[::1]:9000", "localhost:9000", "127.9.9.9:0", "off"} {
		if _, err := parseConfig([]byte("node:\n  embedded: true\nmetrics:\n  listen: \"" + listen + "\"\n")); err != nil {
			t.Errorf("metrics.listen %s rejected: %v", listen, err)
		}
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for conf, want := range map[string]string{
		"listen: 0.0.0.0:9556":                          "not a loopback address",
		"listen: :9556":                                 "not a loopback address",
		"listen: 10.0.0.5:9556":                         "not a loopback address",
		"listen: nowhere":                               "metrics.listen",
		"listen: 0.0.0.0:9556\n  allow_public: true":    "needs a bearer token",
		"bearer_token_file: /nonexistent/token":         "metrics.bearer_token_file",
		"bearer_token_file: " + empty:                   "the file is empty",
		"listen: 10.0.0.5:1\n  bearer_token_file: /nil": "not a loopback address",
	} {
		_, err := parseConfig([]byte("node:\n  embedded: true\nmetrics:\n  " + conf + "\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("metrics %q: error %v, want %q", conf, err, want)
		}
	}
	t.Setenv(metricsTokenEnv, "tok")
	if _, err := parseConfig([]byte("node:\n  embedded: true\nmetrics:\n  listen: 0.0.0.0:9556\n  allow_public: true\n")); err != nil {
		t.Errorf("public listener with a token rejected: %v", err)
	}
}

// TestConfigExampleHasOperations: the example documents the jobs and
// metrics keys with their defaults.
func TestConfigExampleHasOperations(t *testing.T) {
	t.Setenv(metricsTokenEnv, "")
	cfg, err := loadConfig("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Metrics.Listen != defaultMetricsListen || cfg.Metrics.AllowPublic || cfg.Metrics.token != nil {
		t.Errorf("example metrics = %+v", cfg.Metrics)
	}
	if cfg.Jobs.DisappearingSweep != defaultDisappearingSweep || cfg.Jobs.InstallationRefresh != defaultInstallationRefresh ||
		cfg.Jobs.KeyPackageRotation != defaultKeyPackageRotation || cfg.Jobs.PendingRemovals != defaultPendingRemovals ||
		cfg.Jobs.Timeout != DefaultJobTimeout || cfg.Jobs.StateFile != defaultJobStateFile || len(cfg.Jobs.schedules) != 4 {
		t.Errorf("example jobs = %+v", cfg.Jobs)
	}
}
