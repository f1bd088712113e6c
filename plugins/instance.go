package plugins

import (
	"context"
	"errors"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// instance is one running plugin in one group. Every call into p holds
// sem, so calls never overlap.
type instance struct {
	m    *Manager
	g    *group
	info Info
	p    Plugin
	host *Host

	sem    chan struct{} // capacity 1; held during each call into p
	life   context.Context
	cancel context.CancelFunc

	// inViolation is set while p handles a Violation (see Host.Report).
	inViolation atomic.Bool

	mu        sync.Mutex // guards the fields below
	stopped   bool
	timers    map[uint64]func() bool
	nextTimer uint64
}

func (m *Manager) newInstance(g *group, info Info, p Plugin) *instance {
	inst := &instance{m: m, g: g, info: info, p: p, sem: make(chan struct{}, 1), timers: map[uint64]func() bool{}}
	inst.life, inst.cancel = context.WithCancel(m.lifetime())
	inst.host = &Host{inst: inst, log: m.log.With("plugin", string(info.ID), "group_id", string(g.id))}
	return inst
}

func (inst *instance) isStopped() bool {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	return inst.stopped
}

// call runs fn as a call into the plugin named call: serialized with every
// other call into the instance, bounded by the manager's call timeout, and
// with panics recovered as *PanicError. It returns ErrStopped without
// calling fn when the instance has stopped (except for the stop call).
func (inst *instance) call(ctx context.Context, call string, fn func(ctx context.Context) error) error {
	select {
	case inst.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-inst.sem }()
	if call != "stop" && inst.isStopped() {
		return ErrStopped
	}
	ctx, cancel := context.WithTimeout(ctx, inst.m.timeout)
	defer cancel()
	return protect(inst.info.ID, call, func() error { return fn(ctx) })
}

// protect runs fn, turning a panic into a *PanicError.
func protect(id ID, call string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Plugin: id, Call: call, Value: r, Stack: debug.Stack()}
		}
	}()
	return fn()
}

// schedule implements Host.Schedule.
func (inst *instance) schedule(d time.Duration, f func(ctx context.Context)) func() {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if inst.stopped || f == nil {
		return func() {}
	}
	id := inst.nextTimer
	inst.nextTimer++
	inst.timers[id] = inst.m.clock.AfterFunc(d, func() { inst.fire(id, f) })
	return func() {
		inst.mu.Lock()
		stop, ok := inst.timers[id]
		delete(inst.timers, id)
		inst.mu.Unlock()
		if ok {
			stop()
		}
	}
}

// fire runs scheduled func id unless it was cancelled, the instance
// stopped or the manager is stopping.
func (inst *instance) fire(id uint64, f func(ctx context.Context)) {
	inst.mu.Lock()
	_, pending := inst.timers[id]
	delete(inst.timers, id)
	inst.mu.Unlock()
	if !pending || !inst.m.track() {
		return
	}
	defer inst.m.wg.Done()
	err := inst.call(inst.life, "scheduled", func(ctx context.Context) error {
		f(ctx)
		return nil
	})
	inst.m.logCallError(inst, "scheduled", err)
	inst.m.drain(inst.life, inst.g)
}

// stop cancels the instance's schedules and lifetime, then calls its
// Stopper (when started is set), waiting for a call in progress to return
// (or ctx to end).
func (inst *instance) stop(ctx context.Context, started bool) {
	inst.mu.Lock()
	if inst.stopped {
		inst.mu.Unlock()
		return
	}
	inst.stopped = true
	timers := inst.timers
	inst.timers = nil
	inst.mu.Unlock()
	for _, stop := range timers {
		stop()
	}
	inst.cancel()
	// The stop call also waits for a call in progress, so that p is idle
	// when stop returns.
	err := inst.call(ctx, "stop", func(ctx context.Context) error {
		if s, ok := inst.p.(Stopper); ok && started {
			return s.Stop(ctx)
		}
		return nil
	})
	inst.m.logCallError(inst, "stop", err)
}

// logCallError logs err from a call into inst, once: panics at Error with
// the stack, other failures at Warn. Stopped instances are not an error.
func (m *Manager) logCallError(inst *instance, call string, err error) {
	switch pe, isPanic := errors.AsType[*PanicError](err); {
	case err == nil || errors.Is(err, ErrStopped):
	case errors.Is(err, context.Canceled) && inst.isStopped():
		// Stopped while waiting for its turn: nothing failed.
	case isPanic:
		inst.host.log.Error("plugin panicked", "call", call, "panic", pe.Value, "stack", string(pe.Stack))
	default:
		inst.host.log.Warn("plugin call failed", "call", call, "error", err)
	}
}
