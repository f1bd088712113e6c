package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"google.golang.org/protobuf/proto"

	"mlsbridge/mls"
	"mlsbridge/wire/content"
)

// Disappearing messages (xmtp-groups.md §9).
//
// A group's settings are its message_disappear_from_ns and
// message_disappear_in_ns attributes; they are on when both are positive.
// This client expires a message from what it stored: a published
// application message sent (by the node's clock) after from_ns expires
// in_ns after it was sent, under the group's settings at the time of the
// sweep. Nothing is kept in memory, so a client reopened after a pause
// deletes at once what expired meanwhile. Membership-change records, our
// messages not yet published and failed ones never expire.
//
// libxmtp 1.9.1 differs: it stamps each message with local time + in_ns
// when storing it (from_ns only has to be positive), keeps that stamp if
// the settings change later, and deletes once a second.

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

// DeleteExpiredMessages runs one disappearing-message sweep over every
// group of the client (see the rules above) and returns how many messages
// it deleted. It is what the worker runs; calling it directly is safe at
// any time. It does database I/O only.
func (c *Client) DeleteExpiredMessages(ctx context.Context) (int, error) {
	rows, err := c.db.Groups(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete expired messages: %w", err)
	}
	now := c.nowNs()
	total := 0
	var errs []error
	for _, r := range rows {
		n, err := c.deleteExpired(ctx, r.GroupID, now)
		total += n
		if err != nil && !errors.Is(err, ErrGroupNotFound) {
			errs = append(errs, fmt.Errorf("group %s: %w", GroupID(r.GroupID), err))
		}
	}
	if total > 0 {
		c.log.Info("expired messages deleted", "messages", total)
	}
	if err := errors.Join(errs...); err != nil {
		return total, fmt.Errorf("delete expired messages: %w", err)
	}
	return total, nil
}

// deleteExpired deletes one group's expired messages, reading its settings
// on the group's goroutine.
func (c *Client) deleteExpired(ctx context.Context, id []byte, now int64) (int, error) {
	var n int64
	err := c.withGroup(ctx, id, func(ctx context.Context, st *groupState) error {
		s, ok := disappearingOf(st.mls.Extensions())
		if !ok || !s.Enabled() {
			return nil
		}
		var err error
		n, err = c.db.DeleteExpiredMessages(ctx, st.row.GroupID, s.FromNs, s.InNs, now)
		return err
	})
	return int(n), err
}

// hideExpired deletes the expired messages of the groups a query reads, so
// that no query returns a message the worker has not swept yet.
func (c *Client) hideExpired(ctx context.Context, ids []GroupID) error {
	now := c.nowNs()
	for _, id := range ids {
		if _, err := c.deleteExpired(ctx, id, now); err != nil && !errors.Is(err, ErrGroupNotFound) {
			return err
		}
	}
	return nil
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
