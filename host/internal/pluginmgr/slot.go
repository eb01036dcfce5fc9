package pluginmgr

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/semaphore"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
)

// slot supervises the successive processes of one plugin: the shared
// process of a plugin, or the process of one session of a per-session
// broker. It also holds the desired state that a restart re-creates.
type slot struct {
	m       *Manager
	entry   catalog.Entry
	session string
	log     hclog.Logger
	// md bounds the market-data calls in flight on this slot's process,
	// whichever process serves it (see Options.MarketDataConcurrency).
	md *semaphore.Weighted

	mu        sync.Mutex
	state     State
	cur       *proc // non-nil only while Running
	pid       int
	changed   chan struct{} // closed on every state change, then replaced
	lastErr   error
	restarts  int
	recent    []time.Time // restart times inside the breaker's window
	ranBefore bool
	info      plugin.Info
	meta      broker.Metadata
	instances map[string]*desiredInstance
	sessions  map[string]*desiredSession

	reset  chan struct{} // cap 1: operator asks to leave Failed
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns
}

func newSlot(m *Manager, e catalog.Entry, session string) *slot {
	log := m.log.With("plugin", e.Key())
	if session != "" {
		log = log.With("session_id", session)
	}
	return &slot{
		m: m, entry: e, session: session, log: log,
		md:        semaphore.NewWeighted(int64(m.opts.MarketDataConcurrency)),
		state:     StateStarting,
		changed:   make(chan struct{}),
		instances: make(map[string]*desiredInstance),
		sessions:  make(map[string]*desiredSession),
		reset:     make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
}

func (s *slot) name() string {
	if s.session != "" {
		return fmt.Sprintf("%s (session %q)", s.entry.Key(), s.session)
	}
	return s.entry.Key()
}

// setState changes state and wakes every waiter. err, when set, becomes
// the last error.
func (s *slot) setState(st State, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setStateLocked(st, err)
}

func (s *slot) setStateLocked(st State, err error) {
	s.state = st
	if st != StateRunning {
		s.cur = nil
	}
	if err != nil {
		s.lastErr = err
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *slot) emit(e Event) {
	e.Time, e.Kind, e.Name, e.Session = time.Now(), s.entry.Kind, s.entry.Name, s.session
	if e.Restarts == 0 {
		s.mu.Lock()
		e.Restarts = s.restarts
		s.mu.Unlock()
	}
	if s.m.opts.OnEvent != nil {
		s.m.opts.OnEvent(e)
	}
}

// run is the supervisor: launch, watch, restart with backoff, trip the
// breaker. It owns every process of the slot and stops the last one
// before returning; cancel ctx to end it.
func (s *slot) run(ctx context.Context) {
	defer close(s.done)
	defer s.setState(StateStopped, nil)
	o := s.m.opts
	bo := &backoff.ExponentialBackOff{InitialInterval: o.BackoffBase, RandomizationFactor: 0.2, Multiplier: 2, MaxInterval: o.BackoffCap}
	bo.Reset()
	consecutive := 0
	for {
		p, err := s.start(ctx)
		if ctx.Err() != nil {
			if p != nil {
				p.stop(false)
			}
			return
		}
		if err == nil {
			s.running(p)
			reason, force := s.watch(ctx, p)
			s.setState(StateBackoff, nil)
			if ctx.Err() != nil {
				p.stop(false) // Close already destroyed instances; let it exit cleanly
				return
			}
			p.stop(force)
			err = fmt.Errorf("%w: %s (pid %d, %s)", ErrPluginExited, reason, p.pid, p.exitStatus())
			s.log.Warn("plugin process ended", "pid", p.pid, "reason", reason, "status", p.exitStatus())
			s.emit(Event{Type: EventExited, PID: p.pid, Err: err})
			if time.Since(p.started) >= o.StableAfter {
				bo.Reset()
				consecutive = 0
			}
		} else {
			s.log.Error("plugin failed to start", "error", err)
		}
		if permanent(err) || !s.allowRestart() {
			if !s.failed(ctx, err) {
				return
			}
			bo.Reset()
			consecutive = 0
			continue
		}
		// The first restart is immediate: most crashes are one-offs, and
		// every second without the process is a second of missed candles.
		consecutive++
		var delay time.Duration
		if consecutive > 1 {
			delay = min(bo.NextBackOff(), o.BackoffCap)
		}
		s.setState(StateBackoff, err)
		if !sleep(ctx, delay) {
			return
		}
	}
}

// start launches a process and re-creates the desired state in it. The
// slot is Running only afterwards, so no caller sees a process that lacks
// its instances.
func (s *slot) start(ctx context.Context) (*proc, error) {
	s.setState(StateStarting, nil)
	p, err := startProc(ctx, s.m.spec(s.entry, s.log), s.m.opts.CallTimeout)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.info, s.meta, s.pid = p.info, p.meta, p.pid
	s.mu.Unlock()
	if err := s.reconcile(ctx, p); err != nil {
		p.stop(true)
		return nil, err
	}
	return p, nil
}

func (s *slot) running(p *proc) {
	s.mu.Lock()
	restarted := s.ranBefore
	s.ranBefore = true
	s.setStateLocked(StateRunning, nil)
	s.cur = p
	s.mu.Unlock()
	typ := EventStarted
	if restarted {
		typ = EventRestarted
	}
	s.log.Info("plugin running", "pid", p.pid, "version", p.info.Version, "restarted", restarted)
	s.emit(Event{Type: typ, PID: p.pid})
}

// watch returns when p must be replaced, or when ctx ends. force is true
// when p may still be running but stopped answering.
func (s *slot) watch(ctx context.Context, p *proc) (reason string, force bool) {
	o := s.m.opts
	tick := time.NewTicker(o.HealthInterval)
	defer tick.Stop()
	fails := 0
	for {
		select {
		case <-ctx.Done():
			return "manager closing", false
		case <-p.exited.Done():
			return "process exited", false
		case r := <-p.restart:
			return r, true
		case <-tick.C:
			err := p.ping(o.PingTimeout)
			switch {
			case err == nil:
				fails = 0
			case p.gone():
				// the exit case above reports it
			default:
				fails++
				s.log.Warn("plugin health check failed", "pid", p.pid, "failures", fails, "error", err)
				if fails >= o.PingFailures {
					return fmt.Sprintf("%d health checks in a row failed: %v", fails, err), true
				}
			}
		}
	}
}

// allowRestart records a restart, or reports false when the crash-loop
// breaker's budget for the window is spent.
func (s *slot) allowRestart() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	cut := now.Add(-s.m.opts.RestartWindow)
	kept := s.recent[:0]
	for _, t := range s.recent {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	s.recent = kept
	if len(s.recent) >= s.m.opts.MaxRestarts {
		return false
	}
	s.recent = append(s.recent, now)
	s.restarts++
	return true
}

// failed parks the slot in Failed until an operator reset, the cooldown,
// or ctx ends (false).
func (s *slot) failed(ctx context.Context, err error) bool {
	select {
	case <-s.reset: // a stale reset from before this failure must not skip it
	default:
	}
	s.setState(StateFailed, err)
	s.log.Error("plugin failed; calls fail with ErrPluginUnavailable until it is reset", "error", err)
	s.emit(Event{Type: EventFailed, Err: err})
	var cooldown <-chan time.Time
	if d := s.m.opts.FailedCooldown; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		cooldown = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-s.reset:
	case <-cooldown:
	}
	s.mu.Lock()
	s.recent = nil
	s.mu.Unlock()
	s.log.Info("plugin reset; starting it again")
	return true
}

// acquire returns the running process, waiting through restarts until
// ctx ends. It fails fast when the slot is Failed or Stopped. Its errors
// mean the call was never sent, so they never match ErrPluginExited (which
// means "outcome unknown"); only permanent start errors are wrapped, so
// callers can tell a tampered binary from a crash loop.
func (s *slot) acquire(ctx context.Context) (*proc, error) {
	for {
		s.mu.Lock()
		st, p, ch, last := s.state, s.cur, s.changed, s.lastErr
		s.mu.Unlock()
		switch {
		case st == StateRunning && p != nil && !p.gone():
			return p, nil
		case st == StateFailed:
			if permanent(last) {
				return nil, fmt.Errorf("%w: %s has failed; calls fail until it is fixed and reset (Manager.Reset): %w", ErrPluginUnavailable, s.name(), last)
			}
			return nil, fmt.Errorf("%w: %s has failed; calls fail until it is reset (Manager.Reset): %s", ErrPluginUnavailable, s.name(), errText(last))
		case st == StateStopped:
			return nil, fmt.Errorf("%w: %s: %w", ErrPluginUnavailable, s.name(), ErrClosed)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %s is %s; gave up waiting for it: %w (last error: %s)", ErrPluginUnavailable, s.name(), st, ctx.Err(), errText(last))
		}
	}
}

func errText(err error) string {
	if err == nil {
		return "none"
	}
	return err.Error()
}

// requestReset asks a Failed slot to start again; it does nothing in any
// other state, so a reset can never pre-empt a future failure.
func (s *slot) requestReset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != StateFailed {
		return
	}
	select {
	case s.reset <- struct{}{}:
	default:
	}
}

func (s *slot) status() PluginStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := PluginStatus{
		Kind: s.entry.Kind, Name: s.entry.Name, Session: s.session, Version: s.info.Version,
		PID: s.pid, State: s.state, Restarts: s.restarts,
		Instances: len(s.instances) + len(s.sessions),
	}
	if s.lastErr != nil {
		st.LastError, st.Err = s.lastErr.Error(), s.lastErr
	}
	return st
}

// sleep waits d or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
