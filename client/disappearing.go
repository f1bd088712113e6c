package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"google.golang.org/protobuf/proto"

	"mlsbridge/mls"
	"mlsbridge/storage"
	"mlsbridge/wire/content"
)

// Disappearing messages (xmtp-groups.md §9), as libxmtp does them since
// July 2025 (and in 1.9.1).
//
// A group's settings are its message_disappear_from_ns and
// message_disappear_in_ns attributes; they are on when both are positive
// (from_ns takes part in nothing else: it is not a cutoff). An application
// message is stamped with an expiry time when it is stored as published:
// a received one when it is processed, ours when its echo confirms it. If
// the group's settings at that moment, in the epoch the message is
// processed in, are on, the stamp is the local clock plus in_ns; otherwise
// the message never expires. The stamp is stored with the message and
// never recomputed: changing or removing the settings later changes
// nothing for messages stored before, and a message stored before the
// settings were switched on never expires. Membership-change records, our
// messages not yet published and failed ones are never stamped.
//
// The sweep ([Client.DeleteExpiredMessages], run by the worker) deletes
// the published application messages whose stamp is at or before now;
// message queries hide them from then on even before the sweep. The
// stamps live in the database, so a client reopened after a pause deletes
// at its first sweep everything that expired meanwhile.

// Default schedules of [Client.StartWorkers] (robfig/cron specs).
const (
	// DefaultDisappearingSchedule runs the disappearing-message sweep
	// every second, as libxmtp's worker does.
	DefaultDisappearingSchedule = "@every 1s"
	// DefaultCommitLogSchedule runs the commit-log and fork check every
	// five minutes, as libxmtp's commit-log worker does.
	DefaultCommitLogSchedule = "@every 5m"
	// ScheduleOff disables a job.
	ScheduleOff = "off"
	// defaultJobTimeout bounds one run of a worker job.
	defaultJobTimeout = time.Minute
)

// withDisappearing adds the two disappearing-message attributes to attrs
// when s is set (creation options).
func withDisappearing(attrs map[string]string, s *DisappearingSettings) map[string]string {
	if s != nil {
		attrs[AttrDisappearFromNs] = strconv.FormatInt(s.FromNs, 10)
		attrs[AttrDisappearInNs] = strconv.FormatInt(s.InNs, 10)
	}
	return attrs
}

// disappearingOf reads the disappearing settings from a group context's
// mutable metadata; false when absent or malformed.
func disappearingOf(exts []mls.Extension) (DisappearingSettings, bool) {
	raw, ok := findExt(exts, ExtensionMutableMetadata)
	if !ok {
		return DisappearingSettings{}, false
	}
	var m content.GroupMutableMetadataV1
	if err := proto.Unmarshal(raw, &m); err != nil {
		return DisappearingSettings{}, false
	}
	info := GroupInfo{Attributes: m.GetAttributes()}
	return info.DisappearingSettings()
}

// disappearCache is a group's disappearing settings as parsed from one
// MLS state in one epoch.
type disappearCache struct {
	// from and epoch are the state and epoch they were read in; nil until
	// read.
	from     *mls.Group
	epoch    uint64
	settings DisappearingSettings
	ok       bool
}

// disappearing returns disappearingOf the group's current extensions,
// parsed once per MLS state and epoch: a merged commit (a new epoch) or a
// replaced state (a rollback, a welcome) reads them again.
func (st *groupState) disappearing() (DisappearingSettings, bool) {
	if d := &st.disappear; d.from != st.mls || d.epoch != st.mls.Epoch() {
		d.settings, d.ok = disappearingOf(st.mls.Extensions())
		d.from, d.epoch = st.mls, st.mls.Epoch()
	}
	return st.disappear.settings, st.disappear.ok
}

// expireAtNs is the expiry stamp of an application message stored as
// published now in the group's current epoch: the local clock plus in_ns
// when the group's settings are on, else 0 (never).
func (c *Client) expireAtNs(st *groupState) int64 {
	s, ok := st.disappearing()
	if !ok || !s.Enabled() {
		return 0
	}
	now := c.nowNs()
	if now > 0 && s.InNs > math.MaxInt64-now {
		return math.MaxInt64
	}
	return now + s.InNs
}

// DeleteExpiredMessages runs one disappearing-message sweep over every
// group of the client: it deletes the published application messages
// whose expiry stamp (see above) is at or before the client's clock, and
// returns how many it deleted. It is what the worker runs; calling it
// directly is safe at any time. It does database I/O only.
func (c *Client) DeleteExpiredMessages(ctx context.Context) (int, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return 0, ErrClosed
	}
	n, err := c.db.DeleteExpiredMessages(ctx, c.nowNs())
	if err != nil {
		return 0, fmt.Errorf("delete expired messages: %w", err)
	}
	if n > 0 {
		c.log.Info("expired messages deleted", "messages", n)
	}
	return int(n), nil
}

// hideExpired makes q leave out the messages expired by the client's
// clock that the sweep has not deleted yet, as libxmtp's message queries
// do.
func (c *Client) hideExpired(q *storage.MessageQuery) {
	q.UnexpiredAtNs = c.nowNs()
}

// WorkerOptions configure [Client.StartWorkers]. The zero value runs both
// jobs on their default schedules.
type WorkerOptions struct {
	// DisappearingSchedule is the robfig/cron spec of the
	// disappearing-message sweep ("@every 1s", "*/5 * * * *"…); ""
	// means DefaultDisappearingSchedule and ScheduleOff disables it.
	DisappearingSchedule string
	// CommitLogSchedule is the spec of the commit-log and fork check
	// (Client.CheckForks); "" means DefaultCommitLogSchedule and
	// ScheduleOff disables it.
	CommitLogSchedule string
	// JobTimeout bounds one run of a job; 0 means one minute.
	JobTimeout time.Duration
}

// Workers runs a client's periodic jobs on a robfig/cron scheduler. Each
// job recovers from panics and is skipped while its previous run is still
// going. Stop (or the client's Close) stops it.
type Workers struct {
	c      *Client
	cron   *cron.Cron
	cancel context.CancelFunc
	once   sync.Once
	done   chan struct{}
}

// StartWorkers starts the client's periodic jobs: the disappearing-message
// sweep and the commit-log and fork check. It first runs one sweep (the
// catch-up after a restart: what expired while the client was closed is
// deleted before StartWorkers returns) and fails on a bad schedule. opts
// may be nil. The jobs run until Workers.Stop or Client.Close.
func (c *Client) StartWorkers(ctx context.Context, opts *WorkerOptions) (*Workers, error) {
	if opts == nil {
		opts = &WorkerOptions{}
	}
	timeout := opts.JobTimeout
	if timeout <= 0 {
		timeout = defaultJobTimeout
	}
	lctx, cancel := context.WithCancel(context.Background())
	logger := cronLogger{c.log.With("component", "workers")}
	w := &Workers{c: c, cancel: cancel, done: make(chan struct{}),
		cron: cron.New(cron.WithLogger(logger), cron.WithChain(cron.Recover(logger), cron.SkipIfStillRunning(logger)))}
	jobs := []struct {
		name, spec, def string
		run             func(context.Context) error
	}{
		{"disappearing", opts.DisappearingSchedule, DefaultDisappearingSchedule, func(ctx context.Context) error {
			_, err := c.DeleteExpiredMessages(ctx)
			return err
		}},
		{"commit_log", opts.CommitLogSchedule, DefaultCommitLogSchedule, c.CheckForks},
	}
	for _, j := range jobs {
		spec := j.spec
		if spec == "" {
			spec = j.def
		}
		if spec == ScheduleOff {
			continue
		}
		if _, err := w.cron.AddFunc(spec, w.job(lctx, j.name, timeout, j.run)); err != nil {
			cancel()
			return nil, fmt.Errorf("%w: %s schedule %q: %w", ErrInvalidArgument, j.name, spec, err)
		}
	}
	if opts.DisappearingSchedule != ScheduleOff {
		if _, err := c.DeleteExpiredMessages(ctx); err != nil {
			cancel()
			return nil, fmt.Errorf("start workers: %w", err)
		}
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cancel()
		return nil, ErrClosed
	}
	c.wg.Add(1)
	c.mu.Unlock()
	w.cron.Start()
	go func() {
		defer c.wg.Done()
		select {
		case <-c.stop:
			w.shutdown()
		case <-w.done:
		}
	}()
	return w, nil
}

// job wraps a worker job: its own timeout under the workers' lifetime, and
// errors logged once here.
func (w *Workers) job(lctx context.Context, name string, timeout time.Duration, run func(context.Context) error) func() {
	return func() {
		ctx, cancel := context.WithTimeout(lctx, timeout)
		defer cancel()
		if err := run(ctx); err != nil && lctx.Err() == nil && !errors.Is(err, ErrClosed) {
			w.c.log.Warn("worker job failed", "job", name, "err", err)
		}
	}
}

// shutdown stops the scheduler and waits for the running jobs.
func (w *Workers) shutdown() {
	w.once.Do(func() {
		w.cancel()
		<-w.cron.Stop().Done()
		close(w.done)
	})
}

// Stop stops the jobs and waits for those running, or for ctx. Later
// calls return nil.
func (w *Workers) Stop(ctx context.Context) error {
	stopped := make(chan struct{})
	go func() {
		w.shutdown()
		close(stopped)
	}()
	select {
	case <-stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// cronLogger hands robfig/cron's logs to slog with constant messages.
type cronLogger struct{ l *slog.Logger }

func (l cronLogger) Info(msg string, keysAndValues ...any) {
	l.l.Debug("cron event", append([]any{"event", msg}, keysAndValues...)...)
}

func (l cronLogger) Error(err error, msg string, keysAndValues ...any) {
	l.l.Error("cron job failed", append([]any{"event", msg, "err", err}, keysAndValues...)...)
}
