package pluginmgr

import (
	"context"
	"fmt"
	"time"
)

// exitGrace is how long a call that failed with a transport error waits
// for go-plugin to report the process gone: the connection breaks a
// moment before the process is reaped.
const exitGrace = time.Second

// withDefaultTimeout applies d when ctx has no deadline of its own.
func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// call runs f on the current process under the manager's call policy:
// a default deadline, waiting through a restart, ErrPluginExited when the
// process dies under the call, and (when counted) consecutive-timeout
// accounting. f is called at most once: nothing is ever resent.
func (s *slot) call(ctx context.Context, timeout time.Duration, counted bool, f func(ctx context.Context, p *proc) error) error {
	return s.callWith(ctx, timeout, counted, nil, f)
}

// marketDataCall runs f, a market-data read, on the current process: it
// waits for one of the slot's MarketDataConcurrency slots, runs under
// MarketDataTimeout (when ctx has no deadline), and a timeout never counts
// toward a restart. Waiting for a slot counts against the deadline, and an
// order or account call never waits for one: history reads, however many
// and however slow, cannot crowd the order path out of the plugin.
func (s *slot) marketDataCall(ctx context.Context, f func(ctx context.Context, p *proc) error) error {
	ctx, cancel := withDefaultTimeout(ctx, s.m.opts.MarketDataTimeout)
	defer cancel()
	if err := s.md.Acquire(ctx, 1); err != nil {
		return fmt.Errorf("%w: %s: %d market-data calls in flight; gave up waiting: %w",
			ErrMarketDataBusy, s.name(), s.m.opts.MarketDataConcurrency, err)
	}
	defer s.md.Release(1)
	p, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	return s.outcome(ctx, p, false, f(ctx, p))
}

// callWith is call with a hook that runs once a process is at hand and
// before f: desired state is recorded there, after a new per-session
// process has started (so its first reconcile does not log in twice) and
// before the call (so a restart racing with the call re-creates it).
func (s *slot) callWith(ctx context.Context, timeout time.Duration, counted bool, before func(), f func(ctx context.Context, p *proc) error) error {
	ctx, cancel := withDefaultTimeout(ctx, timeout)
	defer cancel()
	p, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	if before != nil {
		before()
	}
	return s.outcome(ctx, p, counted, f(ctx, p))
}

// outcome classifies the result of a call made on p with ctx.
func (s *slot) outcome(ctx context.Context, p *proc, counted bool, err error) error {
	if err == nil {
		if counted {
			p.timeouts.Store(0)
		}
		return nil
	}
	// Only a transport failure can mean the process died under the call:
	// an application error proves the plugin answered, even if it died
	// right afterwards.
	if maybeTransport(ctx, err) && p.waitGone(exitGrace) {
		return fmt.Errorf("%w: %s (pid %d) died during the call: %w", ErrPluginExited, s.name(), p.pid, err)
	}
	if !counted {
		return err
	}
	if isTimeout(err) && deadlinePassed(ctx) {
		n := int(p.timeouts.Add(1))
		if limit := s.m.opts.TimeoutsBeforeRestart; n >= limit {
			s.log.Warn("plugin is unresponsive; restarting it", "pid", p.pid, "timeouts", n)
			p.requestRestart(fmt.Sprintf("%d calls in a row timed out", n))
		}
		return fmt.Errorf("%s (pid %d): call timed out (%d in a row): %w", s.name(), p.pid, n, err)
	}
	// Any answer, even an error, shows author code is responsive.
	p.timeouts.Store(0)
	return err
}

// deadlinePassed reports whether the call's own deadline is over, as
// opposed to a DeadlineExceeded that the plugin returned for a timeout of
// its own (a slow broker API). It reads the clock as well as ctx.Err():
// gRPC can fail a call at its deadline a moment before ctx's timer fires,
// which on a loaded host would let a timeout slip through uncounted.
func deadlinePassed(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}
