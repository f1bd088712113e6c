package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"mlsbridge/client"
	"mlsbridge/identity"
)

// jobsCtx is a test's bounded context.
func jobsCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// startJobs starts j and stops it (bounded) at cleanup.
func startJobs(t *testing.T, j *Jobs) {
	t.Helper()
	if err := j.Start(jobsCtx(t)); err != nil {
		t.Fatalf("start jobs: %v", err)
	}
	t.Cleanup(func() { stopJobs(t, j) })
}

func stopJobs(t *testing.T, j *Jobs) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := j.Stop(ctx); err != nil {
		t.Errorf("stop jobs: %v", err)
	}
}

// seededStore is a memory JobStore whose jobs all ran successfully at at,
// so that Start catches none up.
func seededStore(at time.Time, names ...string) *memJobStore {
	s := &memJobStore{last: map[string]time.Time{}}
	for _, n := range names {
		s.last[n] = at
	}
	return s
}

// hourly is a schedule that does not fire during a test.
func hourly(t *testing.T) cron.Schedule {
	t.Helper()
	s, err := jobSpecParser.Parse("@every 1h")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// counterValue reads a counter or gauge of m by name and job label (0 when
// the series does not exist).
func counterValue(t *testing.T, m *Metrics, name, job string) float64 {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "job" && l.GetValue() == job {
					if mt.GetCounter() != nil {
						return mt.GetCounter().GetValue()
					}
					return mt.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}

// jobsClock is the real clock moved forward by a settable offset.
type jobsClock struct{ offset atomic.Int64 }

func (c *jobsClock) now() time.Time      { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *jobsClock) set(d time.Duration) { c.offset.Store(int64(d)) }

// TestJobsMaintenanceOnClients runs each of the four maintenance jobs on a
// real installation (the node on 127.0.0.1, SQLite clients) and checks its
// effect: the new installation of a member is added, a member who asked to
// leave is removed, an expired message is deleted, a due key package is
// rotated.
func TestJobsMaintenanceOnClients(t *testing.T) {
	ctx := jobsCtx(t)
	url := startTestNode(t)
	dir := t.TempDir()
	// The bot registers a month in the past, so that its first key package
	// is due for rotation now (the node checks lifetimes against the real
	// time, so the clock cannot move forward instead).
	clk := &jobsClock{}
	clk.set(-client.KeyPackageRotationInterval - time.Hour)
	open := func(name string, w *identity.EthereumSigner, now func() time.Time) *client.Client {
		c, err := client.New(ctx, w, client.Options{NodeAddress: url, DBPath: filepath.Join(dir, name+".db3"), Now: now})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(func() { _ = c.Close() })
		if err := c.Register(ctx); err != nil {
			t.Fatalf("%s: register: %v", name, err)
		}
		return c
	}
	botWallet, _ := identity.GenerateEthereumSigner(nil)
	bobWallet, _ := identity.GenerateEthereumSigner(nil)
	bot := open("bot", botWallet, clk.now)
	clk.set(0)
	bob := open("bob", bobWallet, nil)

	g, _, err := bot.CreateGroupWithMembers(ctx, &client.GroupOptions{Name: "jobs",
		MessageDisappearing: &client.DisappearingSettings{FromNs: time.Now().UnixNano(), InNs: int64(time.Hour)}},
		[]identity.InboxID{bob.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.SendText(ctx, "soon gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.SyncWelcomes(ctx); err != nil {
		t.Fatal(err)
	}
	bg, err := bob.Group(ctx, g.ID())
	if err != nil {
		t.Fatal(err)
	}

	m := NewMetrics()
	cfg := JobsConfig{DisappearingSweep: "@every 1h", InstallationRefresh: "@every 1h", KeyPackageRotation: "@every 1h",
		PendingRemovals: "@every 1h", Timeout: time.Minute}
	if errs := cfg.validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	names := []string{jobDisappearingSweep, jobInstallationRefresh, jobKeyPackageRotation, jobPendingRemovals}
	store := seededStore(time.Now(), names...)
	j, err := newMaintenanceJobs(cfg, func() []*client.Client { return []*client.Client{bot} },
		JobsOptions{Logger: slog.New(slog.NewTextHandler(t.Output(), nil)), Metrics: m, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	startJobs(t, j)
	if len(j.caughtUp) != 0 {
		t.Fatalf("caught up %v with every job recorded just now", j.caughtUp)
	}
	run := func(name string) {
		t.Helper()
		if err := j.RunNow(ctx, name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := counterValue(t, m, "mlsbridge_job_runs_total", name); got != 1 {
			t.Fatalf("%s runs = %v, want 1", name, got)
		}
		if got := counterValue(t, m, "mlsbridge_job_failures_total", name); got != 0 {
			t.Fatalf("%s failures = %v", name, got)
		}
	}

	// Installation refresh: bob's second installation joins the group.
	seqBefore := groupInfo(t, g).Membership[bob.InboxID()]
	open("bob2", bobWallet, nil)
	run(jobInstallationRefresh)
	if seq := groupInfo(t, g).Membership[bob.InboxID()]; seq <= seqBefore {
		t.Fatalf("bob's sequence id in the group stayed %d after his new installation", seq)
	}

	// Pending removals: bob asks to leave; the bot, super admin, removes him.
	if err := bg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := bg.LeaveGroup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if p, err := g.PendingRemovals(ctx); err != nil || len(p) != 1 {
		t.Fatalf("bot's pending removals %v %v, want bob", p, err)
	}
	run(jobPendingRemovals)
	if _, ok := groupInfo(t, g).Membership[bob.InboxID()]; ok {
		t.Fatal("bob is still a member after the pending-removal job")
	}

	// Key package rotation: the key package uploaded a month ago is due.
	run(jobKeyPackageRotation)
	if due, err := bot.RotateKeyPackageIfDue(ctx); err != nil || due {
		t.Fatalf("key package still due after the job (%v, %v)", due, err)
	}

	// Disappearing sweep: two hours later the message is gone.
	clk.set(2 * time.Hour)
	run(jobDisappearingSweep)
	if n, err := bot.DeleteExpiredMessages(ctx); err != nil || n != 0 {
		t.Fatalf("sweep after the job deleted %d (%v), want 0: the job did not sweep", n, err)
	}
	for _, n := range names {
		if at := store.last[n]; !at.After(time.Now().Add(-time.Minute)) {
			t.Errorf("%s: last run recorded %v", n, at)
		}
	}
}

func groupInfo(t *testing.T, g *client.Group) *client.GroupInfo {
	t.Helper()
	info, err := g.Info(jobsCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// TestJobsRunOnSchedule: jobs fire from the cron scheduler by themselves.
func TestJobsRunOnSchedule(t *testing.T) {
	every, err := jobSpecParser.Parse("@every 1s")
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	fired := map[string]chan struct{}{"a": make(chan struct{}, 8), "b": make(chan struct{}, 8)}
	var jobs []Job
	for name, ch := range fired {
		jobs = append(jobs, Job{Name: name, Schedule: every, Run: func(context.Context) error {
			select {
			case ch <- struct{}{}:
			default:
			}
			return nil
		}})
	}
	j, err := NewJobs(jobs, JobsOptions{Metrics: m, Store: seededStore(time.Now(), "a", "b")})
	if err != nil {
		t.Fatal(err)
	}
	startJobs(t, j)
	for name, ch := range fired {
		select {
		case <-ch:
		case <-time.After(20 * time.Second):
			t.Fatalf("job %s did not run on its 1s schedule", name)
		}
	}
	stopJobs(t, j) // waits for the runs, so their counts are final
	for name := range fired {
		if got := counterValue(t, m, "mlsbridge_job_runs_total", name); got < 1 {
			t.Errorf("%s runs = %v", name, got)
		}
	}
}

// TestJobsSkipIfStillRunning: a run while the previous one is going is
// skipped and counted, not doubled.
func TestJobsSkipIfStillRunning(t *testing.T) {
	m := NewMetrics()
	entered, release := make(chan struct{}), make(chan struct{})
	var runs atomic.Int32
	j, err := NewJobs([]Job{{Name: "slow", Schedule: hourly(t), Run: func(ctx context.Context) error {
		runs.Add(1)
		close(entered)
		<-release
		return nil
	}}}, JobsOptions{Metrics: m, Store: seededStore(time.Now(), "slow")})
	if err != nil {
		t.Fatal(err)
	}
	startJobs(t, j)
	ctx := jobsCtx(t)
	first := make(chan error, 1)
	go func() { first <- j.RunNow(ctx, "slow") }()
	<-entered
	if err := j.RunNow(ctx, "slow"); !errors.Is(err, ErrJobRunning) {
		t.Fatalf("second run while the first is going = %v, want ErrJobRunning", err)
	}
	if got := counterValue(t, m, "mlsbridge_job_skipped_total", "slow"); got != 1 {
		t.Fatalf("skipped = %v, want 1", got)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if runs.Load() != 1 || counterValue(t, m, "mlsbridge_job_runs_total", "slow") != 1 {
		t.Fatalf("runs = %d (metric %v), want 1", runs.Load(), counterValue(t, m, "mlsbridge_job_runs_total", "slow"))
	}
}

// TestJobsPanicRecovered: a panicking run is recovered, logged, counted as
// a panic and a failure, not recorded as done, and the job runs again.
func TestJobsPanicRecovered(t *testing.T) {
	m := NewMetrics()
	var logs syncBuffer
	var calls atomic.Int32
	store := seededStore(time.Now().Add(-time.Minute), "boom")
	before := store.last["boom"]
	j, err := NewJobs([]Job{{Name: "boom", Schedule: hourly(t), Run: func(context.Context) error {
		if calls.Add(1) == 1 {
			panic("kaboom")
		}
		return nil
	}}}, JobsOptions{Metrics: m, Store: store, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	startJobs(t, j)
	ctx := jobsCtx(t)
	var pe *JobPanicError
	if err := j.RunNow(ctx, "boom"); !errors.As(err, &pe) || pe.Value != "kaboom" {
		t.Fatalf("panicking run = %v, want a JobPanicError", err)
	}
	if got := counterValue(t, m, "mlsbridge_job_panics_total", "boom"); got != 1 {
		t.Errorf("panics = %v, want 1", got)
	}
	if got := counterValue(t, m, "mlsbridge_job_failures_total", "boom"); got != 1 {
		t.Errorf("failures = %v, want 1", got)
	}
	if !store.last["boom"].Equal(before) {
		t.Error("a panicked run was recorded as successful")
	}
	if !strings.Contains(logs.String(), "job panicked") || !strings.Contains(logs.String(), "kaboom") {
		t.Errorf("panic not logged: %s", logs.String())
	}
	if err := j.RunNow(ctx, "boom"); err != nil {
		t.Fatalf("run after the panic: %v", err)
	}
	if got := counterValue(t, m, "mlsbridge_job_runs_total", "boom"); got != 2 {
		t.Errorf("runs = %v, want 2", got)
	}
	if got := counterValue(t, m, "mlsbridge_job_last_success_timestamp_seconds", "boom"); got == 0 {
		t.Error("last success time not set")
	}
}

// TestJobsCatchUpAfterRestart: the state file keeps the last successful
// runs; a start after a scheduled time has passed runs the job at once, a
// start before it does not, and a failed run is caught up too.
func TestJobsCatchUpAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.json")
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	setNow := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	ran := make(chan string, 4)
	var fail atomic.Bool
	// start starts the jobs as a fresh process would and returns what
	// Start decided to catch up, after waiting for those runs.
	start := func() []string {
		t.Helper()
		j, err := NewJobs([]Job{
			{Name: "hourly", Schedule: hourly(t), Run: func(context.Context) error {
				ran <- "hourly"
				if fail.Load() {
					return errors.New("node unreachable")
				}
				return nil
			}},
		}, JobsOptions{Store: newJobStateFile(path), Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Start(jobsCtx(t)); err != nil {
			t.Fatal(err)
		}
		caught := append([]string(nil), j.caughtUp...)
		for range caught {
			select {
			case <-ran:
			case <-time.After(30 * time.Second):
				t.Fatal("catch-up run did not happen")
			}
		}
		stopJobs(t, j)
		return caught
	}

	if got := start(); len(got) != 1 {
		t.Fatalf("first start caught up %v, want the job that never ran", got)
	}
	setNow(t0.Add(30 * time.Minute))
	if got := start(); len(got) != 0 {
		t.Fatalf("restart within the hour caught up %v", got)
	}
	setNow(t0.Add(3 * time.Hour))
	fail.Store(true)
	if got := start(); len(got) != 1 {
		t.Fatalf("restart after a missed run caught up %v, want hourly", got)
	}
	fail.Store(false)
	setNow(t0.Add(3*time.Hour + time.Minute))
	if got := start(); len(got) != 1 {
		t.Fatalf("restart after a failed catch-up caught up %v, want hourly again", got)
	}
	setNow(t0.Add(3*time.Hour + 2*time.Minute))
	if got := start(); len(got) != 0 {
		t.Fatalf("restart after a successful catch-up caught up %v", got)
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), `"hourly": "2026-03-01T15:01:00Z"`) {
		t.Fatalf("state file = %s (%v)", b, err)
	}

	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := NewJobs(nil, JobsOptions{Store: newJobStateFile(path)})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Start(jobsCtx(t)); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("start with a corrupt state file = %v, want an error naming it", err)
	}
}

// TestJobsStopIsBounded: Stop cancels a running job and waits for it; a
// job that ignores cancellation makes Stop return at its deadline.
func TestJobsStopIsBounded(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	j, err := NewJobs([]Job{
		{Name: "polite", Schedule: hourly(t), Run: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
		{Name: "stubborn", Schedule: hourly(t), Run: func(context.Context) error { close(entered); <-release; return nil }},
	}, JobsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Start(jobsCtx(t)); err != nil { // the memory store: both catch up at once
		t.Fatal(err)
	}
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := j.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop with a stubborn job = %v, want the deadline", err)
	}
	if err := j.RunNow(jobsCtx(t), "polite"); !errors.Is(err, ErrJobsStopped) {
		t.Fatalf("RunNow after Stop = %v", err)
	}
}

// TestJobsStopWaitsForRunNow: Stop cancels a RunNow run and waits for it
// like a scheduled one, bounded by its ctx.
func TestJobsStopWaitsForRunNow(t *testing.T) {
	entered, release, finished := make(chan struct{}), make(chan struct{}), make(chan struct{})
	j, err := NewJobs([]Job{{Name: "slow", Schedule: hourly(t), Run: func(ctx context.Context) error {
		close(entered)
		<-ctx.Done() // cancelled by Stop
		<-release
		close(finished)
		return ctx.Err()
	}}}, JobsOptions{Store: seededStore(time.Now(), "slow")})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Start(jobsCtx(t)); err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- j.RunNow(jobsCtx(t), "slow") }()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := j.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop with a RunNow run going = %v, want the deadline", err)
	}
	close(release)
	stopJobs(t, j)
	select {
	case <-finished:
	default:
		t.Fatal("Stop returned before the RunNow run ended")
	}
	if err := <-ran; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunNow interrupted by Stop = %v, want context.Canceled", err)
	}
}

// TestJobsIdleWithoutInstallations: with no installation the maintenance
// jobs do nothing, count nothing and record nothing, so the work stays due.
func TestJobsIdleWithoutInstallations(t *testing.T) {
	cfg := JobsConfig{}
	cfg.defaults(NodeConfig{})
	if errs := cfg.validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	m := NewMetrics()
	at := time.Now().Add(-time.Second)
	store := seededStore(at, jobDisappearingSweep, jobInstallationRefresh, jobKeyPackageRotation, jobPendingRemovals)
	j, err := newMaintenanceJobs(cfg, func() []*client.Client { return nil }, JobsOptions{Metrics: m, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	startJobs(t, j)
	for name := range store.last {
		if err := j.RunNow(jobsCtx(t), name); err != nil {
			t.Errorf("%s with no installation: %v", name, err)
		}
		if got := counterValue(t, m, "mlsbridge_job_runs_total", name); got != 0 {
			t.Errorf("%s counted %v runs", name, got)
		}
		if last, _ := store.LastRuns(jobsCtx(t)); !last[name].Equal(at) {
			t.Errorf("%s recorded an idle run", name)
		}
	}
}

// TestConfigJobs: defaults, "off", and bad schedules rejected at load with
// the key named.
func TestConfigJobs(t *testing.T) {
	cfg, err := parseConfig([]byte("node:\n  embedded: true\n  database: /var/lib/mlsbridge/node.db\njobs:\n  pending_removals: \"off\"\n  installation_refresh: \"*/10 * * * *\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Jobs.DisappearingSweep != defaultDisappearingSweep || cfg.Jobs.Timeout != DefaultJobTimeout ||
		cfg.Jobs.StateFile != "/var/lib/mlsbridge/mlsbridge-jobs.json" {
		t.Fatalf("defaults not applied: %+v", cfg.Jobs)
	}
	if _, ok := cfg.Jobs.schedules[jobPendingRemovals]; ok {
		t.Error("pending_removals is off but scheduled")
	}
	j, err := newMaintenanceJobs(cfg.Jobs, nil, JobsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := j.byName[jobPendingRemovals]; ok || len(j.jobs) != 3 {
		t.Fatalf("jobs built: %d, pending_removals present %v", len(j.jobs), ok)
	}
	pg, err := parseConfig([]byte("node:\n  embedded: true\n  database: postgres://u@h/db\n"))
	if err != nil || pg.Jobs.StateFile != defaultJobStateFile {
		t.Fatalf("state file with a PostgreSQL node = %q (%v)", pg.Jobs.StateFile, err)
	}

	_, err = parseConfig([]byte("node:\n  embedded: true\njobs:\n  disappearing_sweep: \"every second\"\n" +
		"  key_package_rotation: \"61 * * * *\"\n  timeout: -1s\n"))
	if err == nil {
		t.Fatal("bad schedules accepted")
	}
	for _, want := range []string{"jobs.disappearing_sweep \"every second\"", "jobs.key_package_rotation \"61 * * * *\"", "jobs.timeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "jobs.installation_refresh") {
		t.Errorf("error %q names a good schedule", err)
	}
	if _, err := parseConfig([]byte("node:\n  embedded: true\njobs:\n  timeout: soon\n")); err == nil {
		t.Error("jobs.timeout \"soon\" accepted")
	}
}
