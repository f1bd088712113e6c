package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"mlsbridge/client"
	"mlsbridge/storage"
)

// Cron jobs: the periodic maintenance of the bots' installations, on
// robfig/cron schedules from the config. Each run is bounded by a timeout,
// recovers from panics, is skipped while the previous run of the same job
// is still going, and, when it succeeds, is recorded in a small state file
// so that a run missed while the bridge was down is made at the next start.

// Names of the maintenance jobs: their keys under jobs: in the config and
// their job label in the metrics.
const (
	jobDisappearingSweep   = "disappearing_sweep"
	jobInstallationRefresh = "installation_refresh"
	jobKeyPackageRotation  = "key_package_rotation"
	jobPendingRemovals     = "pending_removals"
)

const (
	// scheduleOff as a job's schedule disables the job.
	scheduleOff = "off"
	// DefaultJobTimeout bounds one run of a job when jobs.timeout is 0.
	DefaultJobTimeout = 5 * time.Minute
	// defaultJobStateFile is the state file's name when jobs.state_file is
	// empty.
	defaultJobStateFile = "mlsbridge-jobs.json"
	// jobRecordTimeout bounds the write of a run's record.
	jobRecordTimeout = 10 * time.Second
)

// Default schedules of the maintenance jobs (robfig/cron specs).
const (
	// defaultDisappearingSweep deletes expired disappearing messages every
	// ten seconds (libxmtp sweeps every second; queries never return an
	// expired message in between).
	defaultDisappearingSweep = "@every 10s"
	// defaultInstallationRefresh brings every active group's installations
	// up to date every 30 minutes, as libxmtp's sync does.
	defaultInstallationRefresh = "@every 30m"
	// defaultKeyPackageRotation checks hourly whether the key package is
	// due for rotation (client.KeyPackageRotationInterval).
	defaultKeyPackageRotation = "@every 1h"
	// defaultPendingRemovals acts on leave requests every 30 seconds
	// (libxmtp every second).
	defaultPendingRemovals = "@every 30s"
)

// JobsConfig schedules the maintenance jobs. Each schedule is a robfig/cron
// spec: five fields (minute hour day-of-month month day-of-week, e.g.
// "*/5 * * * *"), a descriptor ("@hourly", "@daily", "@every 90s"), with
// an optional "CRON_TZ=Area/City " prefix; or "off". Specs are parsed at
// load, so a bad one stops startup with an error naming its key.
type JobsConfig struct {
	// DisappearingSweep deletes the messages whose disappearing time has
	// passed. Empty means "@every 10s".
	DisappearingSweep string `yaml:"disappearing_sweep"`
	// InstallationRefresh adds the new installations and removes the
	// revoked ones of every member, in every active group and DM. Empty
	// means "@every 30m".
	InstallationRefresh string `yaml:"installation_refresh"`
	// KeyPackageRotation uploads a new key package when the current one is
	// older than 30 days. Empty means "@every 1h".
	KeyPackageRotation string `yaml:"key_package_rotation"`
	// PendingRemovals removes the members who asked to leave, in the
	// groups where the bot is a super admin. Empty means "@every 30s".
	PendingRemovals string `yaml:"pending_removals"`
	// Timeout bounds one run of a job (a Go duration such as "2m"). Zero
	// means 5m.
	Timeout time.Duration `yaml:"timeout"`
	// StateFile records each job's last successful run, for the catch-up
	// after a restart. Empty means mlsbridge-jobs.json in the folder of
	// node.database when that is a SQLite file, else in the working
	// directory.
	StateFile string `yaml:"state_file"`

	// schedules are the parsed specs by job name, set by validate; a job
	// that is off has none.
	schedules map[string]cron.Schedule
}

// specs returns the jobs' spec by job name.
func (j *JobsConfig) specs() map[string]*string {
	return map[string]*string{jobDisappearingSweep: &j.DisappearingSweep, jobInstallationRefresh: &j.InstallationRefresh,
		jobKeyPackageRotation: &j.KeyPackageRotation, jobPendingRemovals: &j.PendingRemovals}
}

// defaults fills the documented zero-value meanings; node is the node
// config, already defaulted.
func (j *JobsConfig) defaults(node NodeConfig) {
	defs := map[string]string{jobDisappearingSweep: defaultDisappearingSweep, jobInstallationRefresh: defaultInstallationRefresh,
		jobKeyPackageRotation: defaultKeyPackageRotation, jobPendingRemovals: defaultPendingRemovals}
	for name, spec := range j.specs() {
		if *spec == "" {
			*spec = defs[name]
		}
	}
	if j.Timeout == 0 {
		j.Timeout = DefaultJobTimeout
	}
	if j.StateFile == "" {
		j.StateFile = defaultJobStateFile
		if node.Embedded && node.Database != "" && !storage.IsPostgresDSN(node.Database) {
			j.StateFile = filepath.Join(filepath.Dir(node.Database), defaultJobStateFile)
		}
	}
}

// jobSpecParser parses the specs of JobsConfig: the standard five fields
// and the descriptors, as cron.New's default parser.
var jobSpecParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// validate parses the schedules (keeping them for the jobs) and returns
// every problem, each naming its key.
func (j *JobsConfig) validate() []error {
	var errs []error
	j.schedules = map[string]cron.Schedule{}
	specs := j.specs()
	for _, name := range slices.Sorted(maps.Keys(specs)) {
		spec := *specs[name]
		if spec == scheduleOff {
			continue
		}
		s, err := jobSpecParser.Parse(spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("jobs.%s %q: want a cron spec (\"*/5 * * * *\", \"@every 1m\", \"@hourly\") or \"off\": %w", name, spec, err))
			continue
		}
		j.schedules[name] = s
	}
	if j.Timeout < 0 {
		errs = append(errs, fmt.Errorf("jobs.timeout %s: must not be negative", j.Timeout))
	}
	return errs
}

// Job is one periodic job of a [Jobs].
type Job struct {
	// Name identifies the job in logs, metrics and the state store.
	Name string
	// Schedule says when it runs.
	Schedule cron.Schedule
	// Run does one run within ctx (cancelled on timeout and by Stop); an
	// error or a panic makes the run a failure, which is not recorded, so
	// the next start catches it up. ErrJobIdle means there was nothing to
	// work on: not recorded either, and not a failure.
	Run func(ctx context.Context) error
}

// JobStore persists each job's last successful run. Its methods are called
// from several goroutines.
type JobStore interface {
	// LastRuns returns the start time of each job's last successful run;
	// a job never run successfully is absent.
	LastRuns(ctx context.Context) (map[string]time.Time, error)
	// SetLastRun records the start of a successful run of job.
	SetLastRun(ctx context.Context, job string, at time.Time) error
}

// JobsOptions are the optional parameters of [NewJobs].
type JobsOptions struct {
	// Logger receives the jobs' logs; nil discards them.
	Logger *slog.Logger
	// Metrics counts runs, failures, panics and skipped runs; nil counts
	// nothing.
	Metrics *Metrics
	// Store keeps the last successful runs across restarts; nil keeps them
	// in memory only (so every job runs at Start).
	Store JobStore
	// Now is the clock of the catch-up decisions and of the recorded run
	// times; nil means time.Now. The scheduler itself always follows the
	// system clock.
	Now func() time.Time
	// Timeout bounds one run; zero means DefaultJobTimeout.
	Timeout time.Duration
}

// ErrJobRunning is returned by [Jobs.RunNow] when the job's previous run is
// still going: the run is skipped, not doubled.
var ErrJobRunning = errors.New("jobs: previous run still going; run skipped")

// ErrJobIdle, returned (or wrapped) by a Job's Run, says the run had
// nothing to work on (no installation yet): it is neither a failure nor a
// success, so it is not recorded and a missed run stays missed.
var ErrJobIdle = errors.New("jobs: nothing to work on")

// ErrJobsStopped is returned by [Jobs.Start] and [Jobs.RunNow] after Stop.
var ErrJobsStopped = errors.New("jobs: stopped")

// JobPanicError is the error of a run that panicked.
type JobPanicError struct {
	// Job is the job's name and Value the panic value, printed.
	Job, Value string
	stack      string // logged by Jobs, not part of Error
}

func (e *JobPanicError) Error() string { return "jobs: " + e.Job + " panicked: " + e.Value }

// Jobs runs a set of [Job]s on a robfig/cron scheduler under its own
// lifetime: Start starts the scheduler and the catch-up runs, Stop cancels
// the runs and waits for them. Its methods are safe for concurrent use.
type Jobs struct {
	jobs    []*jobEntry
	byName  map[string]*jobEntry
	log     *slog.Logger
	metrics *Metrics
	store   JobStore
	now     func() time.Time
	timeout time.Duration
	cron    *cron.Cron

	mu       sync.Mutex // guards started, stopped, life, cancel, caughtUp
	started  bool
	stopped  bool
	life     context.Context // the runs' lifetime, cancelled by Stop
	cancel   context.CancelFunc
	caughtUp []string       // the jobs Start ran to catch up, for tests and logs
	wg       sync.WaitGroup // the catch-up goroutines and RunNow's runs, for Stop
}

// jobEntry is a Job with its skip-if-running flag.
type jobEntry struct {
	Job
	running atomic.Bool
}

// NewJobs returns the jobs, not started. Names must be unique and not
// empty, and every job needs a Schedule and a Run.
func NewJobs(jobs []Job, opts JobsOptions) (*Jobs, error) {
	j := &Jobs{byName: map[string]*jobEntry{}, log: opts.Logger, metrics: opts.Metrics, store: opts.Store,
		now: opts.Now, timeout: opts.Timeout}
	if j.log == nil {
		j.log = slog.New(slog.DiscardHandler)
	}
	if j.store == nil {
		j.store = &memJobStore{}
	}
	if j.now == nil {
		j.now = time.Now
	}
	if j.timeout <= 0 {
		j.timeout = DefaultJobTimeout
	}
	for _, job := range jobs {
		if job.Name == "" || job.Schedule == nil || job.Run == nil {
			return nil, fmt.Errorf("jobs: job %q needs a name, a schedule and a run func", job.Name)
		}
		if _, dup := j.byName[job.Name]; dup {
			return nil, fmt.Errorf("jobs: job %q defined twice", job.Name)
		}
		e := &jobEntry{Job: job}
		j.jobs = append(j.jobs, e)
		j.byName[job.Name] = e
		j.metrics.initJob(job.Name)
	}
	j.cron = cron.New(cron.WithLogger(cronSlog{j.log}))
	return j, nil
}

// Start schedules the jobs and, in the background, runs at once each job
// whose last successful run is older than its latest scheduled time (a run
// missed while the bridge was down) or that never ran successfully. ctx
// bounds only the reading of the store. Stop must be called in any case.
func (j *Jobs) Start(ctx context.Context) error {
	last, err := j.store.LastRuns(ctx)
	if err != nil {
		return fmt.Errorf("jobs: read last runs: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case j.stopped:
		return ErrJobsStopped
	case j.started:
		return errors.New("jobs: already started")
	}
	j.started = true
	j.life, j.cancel = context.WithCancel(context.Background())
	now := j.now()
	for _, e := range j.jobs {
		j.cron.Schedule(e.Schedule, cron.FuncJob(func() { _ = j.fire(j.life, e, "schedule") }))
		at, ok := last[e.Name]
		if ok && e.Schedule.Next(at).After(now) {
			continue
		}
		j.caughtUp = append(j.caughtUp, e.Name)
		if ok {
			j.log.Info("job catching up", "job", e.Name, "last_success", at)
		} else {
			j.log.Info("job catching up", "job", e.Name, "last_success", "never")
		}
		j.wg.Add(1)
		go func() {
			defer j.wg.Done()
			_ = j.fire(j.life, e, "catch_up")
		}()
	}
	j.cron.Start()
	j.log.Info("jobs started", "jobs", len(j.jobs), "catching_up", len(j.caughtUp))
	return nil
}

// RunNow runs the named job at once in the caller's goroutine, bounded by
// ctx, the job timeout and Stop, and returns its error: ErrJobRunning
// when its previous run is still going, a *JobPanicError when it panicked,
// nil for an idle run. It needs Start. Stop waits for the run as for the
// others.
func (j *Jobs) RunNow(ctx context.Context, name string) error {
	e, ok := j.byName[name]
	if !ok {
		return fmt.Errorf("jobs: no job %q", name)
	}
	j.mu.Lock()
	life, started, stopped := j.life, j.started, j.stopped
	if started && !stopped {
		j.wg.Add(1) // under mu, so before Stop (which sets stopped first) waits
	}
	j.mu.Unlock()
	switch {
	case stopped:
		return ErrJobsStopped
	case !started:
		return errors.New("jobs: not started")
	}
	defer j.wg.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(life, cancel)()
	return j.fire(ctx, e, "run_now")
}

// fire makes one run of e unless one is going; trigger says why, for logs.
func (j *Jobs) fire(ctx context.Context, e *jobEntry, trigger string) error {
	if !e.running.CompareAndSwap(false, true) {
		j.metrics.jobSkip(e.Name)
		j.log.Warn("job skipped: previous run still going", "job", e.Name, "trigger", trigger)
		return ErrJobRunning
	}
	defer e.running.Store(false)
	if err := ctx.Err(); err != nil {
		return err
	}
	started, t0 := j.now(), time.Now()
	rctx, cancel := context.WithTimeout(ctx, j.timeout)
	err := runJob(rctx, e)
	cancel()
	d := time.Since(t0)
	var pe *JobPanicError
	panicked := errors.As(err, &pe)
	if err != nil && !panicked && ctx.Err() != nil && j.stopping() {
		j.metrics.jobRun(e.Name, started, d, false, false)
		j.log.Info("job interrupted by stop", "job", e.Name, "trigger", trigger)
		return err
	}
	if errors.Is(err, ErrJobIdle) {
		j.log.Debug("job idle", "job", e.Name, "trigger", trigger)
		return nil
	}
	j.metrics.jobRun(e.Name, started, d, err != nil, panicked)
	if panicked {
		j.log.Error("job panicked", "job", e.Name, "trigger", trigger, "panic", pe.Value, "stack", pe.stack)
		return err
	}
	if err != nil {
		j.log.Error("job failed", "job", e.Name, "trigger", trigger, "duration", d, "err", err)
		return err
	}
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), jobRecordTimeout)
	defer wcancel()
	if err := j.store.SetLastRun(wctx, e.Name, started); err != nil {
		j.log.Warn("job run not recorded; it will run again at the next start", "job", e.Name, "err", err)
	}
	j.log.Debug("job done", "job", e.Name, "trigger", trigger, "duration", d)
	return nil
}

// stopping reports whether Stop has been called.
func (j *Jobs) stopping() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.stopped
}

// runJob calls e.Run, turning a panic into a *JobPanicError (its stack goes
// into the error log, not the error).
func runJob(ctx context.Context, e *jobEntry) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &JobPanicError{Job: e.Name, Value: fmt.Sprint(r), stack: string(debug.Stack())}
		}
	}()
	return e.Run(ctx)
}

// Stop stops the scheduler, cancels the running jobs and waits for them,
// or for ctx (then it returns ctx's error and the runs end on their own).
// Later calls wait in the same way.
func (j *Jobs) Stop(ctx context.Context) error {
	j.mu.Lock()
	j.stopped = true
	started := j.started
	if j.cancel != nil {
		j.cancel()
	}
	j.mu.Unlock()
	if !started {
		return nil
	}
	done := make(chan struct{})
	go func() {
		<-j.cron.Stop().Done()
		j.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		j.log.Info("jobs stopped")
		return nil
	case <-ctx.Done():
		return fmt.Errorf("jobs: stop: %w", ctx.Err())
	}
}

// cronSlog hands robfig/cron's logs to slog with constant messages.
type cronSlog struct{ l *slog.Logger }

func (c cronSlog) Info(msg string, keysAndValues ...any) {
	c.l.Debug("cron event", append([]any{"event", msg}, keysAndValues...)...)
}

func (c cronSlog) Error(err error, msg string, keysAndValues ...any) {
	c.l.Error("cron error", append([]any{"event", msg, "err", err}, keysAndValues...)...)
}

// memJobStore keeps the last runs in memory (JobsOptions.Store nil).
type memJobStore struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (s *memJobStore) LastRuns(context.Context) (map[string]time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]time.Time, len(s.last))
	for k, v := range s.last {
		out[k] = v
	}
	return out, nil
}

func (s *memJobStore) SetLastRun(_ context.Context, job string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = map[string]time.Time{}
	}
	s.last[job] = at
	return nil
}

// jobStateFile is a JobStore in a small JSON file ({"job": "RFC 3339
// time"}), replaced atomically (write to a temporary file, sync, rename) on
// each record.
type jobStateFile struct {
	path string
	mu   sync.Mutex // serialises the read-modify-write of the file
}

var _ JobStore = (*jobStateFile)(nil)

// newJobStateFile returns the store at path; the file need not exist.
func newJobStateFile(path string) *jobStateFile { return &jobStateFile{path: path} }

// LastRuns reads the file. A missing file means no runs; a file that does
// not parse is reported, since catching every job up is the safe reading
// of it only once an operator knows.
func (f *jobStateFile) LastRuns(context.Context) (map[string]time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.read()
}

func (f *jobStateFile) read() (map[string]time.Time, error) {
	out := map[string]time.Time{}
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("job state file %s: %w (delete it to run every job once)", f.path, err)
	}
	return out, nil
}

// SetLastRun records job's run in the file.
func (f *jobStateFile) SetLastRun(_ context.Context, job string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	last, err := f.read()
	if err != nil {
		return err
	}
	last[job] = at.UTC()
	b, err := json.MarshalIndent(last, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), filepath.Base(f.path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), f.path)
}

// newMaintenanceJobs builds the maintenance jobs that cfg schedules (a job
// that is off is left out) over the installations clients returns at each
// run; clients may be nil (no installation yet).
func newMaintenanceJobs(cfg JobsConfig, clients func() []*client.Client, opts JobsOptions) (*Jobs, error) {
	if clients == nil {
		clients = func() []*client.Client { return nil }
	}
	if opts.Timeout == 0 {
		opts.Timeout = cfg.Timeout
	}
	runs := map[string]func(context.Context, *client.Client) error{
		jobDisappearingSweep:   sweepDisappearing,
		jobInstallationRefresh: refreshInstallations,
		jobKeyPackageRotation:  rotateKeyPackage,
		jobPendingRemovals:     func(ctx context.Context, c *client.Client) error { return c.ProcessPendingLeaveRequests(ctx) },
	}
	var jobs []Job
	for _, name := range slices.Sorted(maps.Keys(runs)) {
		s, ok := cfg.schedules[name]
		if !ok {
			continue
		}
		jobs = append(jobs, Job{Name: name, Schedule: s, Run: forEachClient(clients, runs[name])})
	}
	return NewJobs(jobs, opts)
}

// forEachClient runs run on every installation, going on after a failure,
// and returns the failures joined, each naming its inbox; ErrJobIdle when
// there is no installation.
func forEachClient(clients func() []*client.Client, run func(context.Context, *client.Client) error) func(context.Context) error {
	return func(ctx context.Context) error {
		cs := clients()
		if len(cs) == 0 {
			return ErrJobIdle
		}
		var errs []error
		for _, c := range cs {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := run(ctx, c); err != nil {
				errs = append(errs, fmt.Errorf("inbox %s: %w", c.InboxID(), err))
			}
		}
		return errors.Join(errs...)
	}
}

// sweepDisappearing deletes c's expired disappearing messages.
func sweepDisappearing(ctx context.Context, c *client.Client) error {
	_, err := c.DeleteExpiredMessages(ctx)
	return err
}

// refreshInstallations updates the installations of every active group
// and DM of c, going on after a failure.
func refreshInstallations(ctx context.Context, c *client.Client) error {
	groups, err := c.FindGroups(ctx, &client.GroupQuery{ActiveOnly: true})
	if err != nil {
		return fmt.Errorf("list groups: %w", err)
	}
	var errs []error
	for _, g := range groups {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := g.UpdateInstallations(ctx); err != nil {
			errs = append(errs, fmt.Errorf("group %s: %w", g.ID(), err))
		}
	}
	return errors.Join(errs...)
}

// rotateKeyPackage uploads a new key package for c when the current one is
// due.
func rotateKeyPackage(ctx context.Context, c *client.Client) error {
	_, err := c.RotateKeyPackageIfDue(ctx)
	return err
}
