package pluginmgr

import (
	"context"
	"fmt"
	"maps"
	"sync"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
)

// ReopenFunc returns the request that (re-)opens a broker session. The
// manager calls it for the first open and again after every restart, so
// credentials are decrypted on demand and never kept by the manager. It
// may be called concurrently for different sessions.
type ReopenFunc func(ctx context.Context) (broker.OpenRequest, error)

// The desired state is recorded before the call that creates it, so that
// a restart racing with the call re-creates it too (an extra, idempotent
// create is harmless; a missing instance is not). A failed call restores
// what was there before.

type desiredInstance struct {
	cfg     plugin.InstanceConfig
	pending bool
	prev    *plugin.InstanceConfig // committed config to restore on failure
}

type desiredSession struct {
	reopen  ReopenFunc
	pending bool
	prev    ReopenFunc
}

func (s *slot) beginInstance(id string, cfg plugin.InstanceConfig) {
	cfg.Params = maps.Clone(cfg.Params) // the caller may reuse its map
	s.mu.Lock()
	defer s.mu.Unlock()
	d := &desiredInstance{cfg: cfg, pending: true}
	if old := s.instances[id]; old != nil {
		d.prev = old.prev
		if !old.pending {
			d.prev = &old.cfg
		}
	}
	s.instances[id] = d
}

func (s *slot) endInstance(id string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.instances[id]
	switch {
	case d == nil:
	case ok:
		d.pending, d.prev = false, nil
	case d.prev != nil:
		s.instances[id] = &desiredInstance{cfg: *d.prev}
	default:
		delete(s.instances, id)
	}
}

func (s *slot) forgetInstance(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.instances, id)
}

func (s *slot) beginSession(id string, reopen ReopenFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := &desiredSession{reopen: reopen, pending: true}
	if old := s.sessions[id]; old != nil {
		d.prev = old.prev
		if !old.pending {
			d.prev = old.reopen
		}
	}
	s.sessions[id] = d
}

// endSession settles a pending open and returns how many sessions the slot
// still has.
func (s *slot) endSession(id string, ok bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.sessions[id]
	switch {
	case d == nil:
	case ok:
		d.pending, d.prev = false, nil
	case d.prev != nil:
		s.sessions[id] = &desiredSession{reopen: d.prev}
	default:
		delete(s.sessions, id)
	}
	return len(s.sessions)
}

// forgetSession drops a session and returns how many remain.
func (s *slot) forgetSession(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, id)
	return len(s.sessions)
}

func (s *slot) snapshot() (map[string]plugin.InstanceConfig, map[string]ReopenFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	insts := make(map[string]plugin.InstanceConfig, len(s.instances))
	for id, d := range s.instances {
		insts[id] = d.cfg
	}
	sess := make(map[string]ReopenFunc, len(s.sessions))
	for id, d := range s.sessions {
		sess[id] = d.reopen
	}
	return insts, sess
}

// reconcile re-creates every desired instance and session in a new
// process. One failure does not stop the others: it is logged and
// reported as EventInstanceRecreateFailed. Only the process dying fails
// the whole reconcile.
func (s *slot) reconcile(ctx context.Context, p *proc) error {
	insts, sessions := s.snapshot()
	if len(insts)+len(sessions) == 0 {
		return nil
	}
	o := s.m.opts
	type failure struct {
		id  string
		err error
	}
	var (
		mu       sync.Mutex
		failures []failure
		wg       sync.WaitGroup
		sem      = make(chan struct{}, o.ReconcileConcurrency)
	)
	do := func(id string, f func(ctx context.Context) error) {
		wg.Go(func() { // owned by reconcile, which waits below
			sem <- struct{}{}
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, o.CallTimeout)
			defer cancel()
			if err := f(cctx); err != nil {
				mu.Lock()
				failures = append(failures, failure{id, err})
				mu.Unlock()
			}
		})
	}
	for id, cfg := range insts {
		do(id, func(ctx context.Context) error {
			_, err := p.strategy.CreateInstance(ctx, id, cfg)
			return err
		})
	}
	for id, reopen := range sessions {
		do(id, func(ctx context.Context) error {
			req, err := reopen(ctx)
			if err != nil {
				return fmt.Errorf("reopen credentials: %w", err)
			}
			_, err = p.broker.Session(id).Open(ctx, req)
			return err
		})
	}
	wg.Wait()
	if p.gone() || ctx.Err() != nil {
		return fmt.Errorf("%w while re-creating %d instances and %d sessions", ErrPluginExited, len(insts), len(sessions))
	}
	for _, f := range failures {
		err := fmt.Errorf("re-create %q in %s: %w", f.id, s.name(), f.err)
		s.log.Error("could not re-create instance after restart", "instance", f.id, "error", f.err)
		s.emit(Event{Type: EventInstanceRecreateFailed, PID: p.pid, Instance: f.id, Err: err})
	}
	s.log.Info("re-created desired state", "instances", len(insts), "sessions", len(sessions), "failed", len(failures))
	return nil
}

// shutdown destroys instances and closes sessions best-effort with ctx,
// then stops the supervisor and waits for it, whatever ctx says.
func (s *slot) shutdown(ctx context.Context) error {
	s.mu.Lock()
	p := s.cur
	if s.state != StateRunning || (p != nil && p.gone()) {
		p = nil
	}
	s.mu.Unlock()
	if p != nil {
		insts, sessions := s.snapshot()
		var wg sync.WaitGroup
		sem := make(chan struct{}, s.m.opts.ReconcileConcurrency)
		cleanup := func(id string, f func() error) {
			wg.Go(func() { // owned by shutdown, which waits below
				sem <- struct{}{}
				defer func() { <-sem }()
				if err := f(); err != nil {
					s.log.Warn("cleanup on close failed", "instance", id, "error", err)
				}
			})
		}
		for id := range insts {
			cleanup(id, func() error { return p.strategy.DestroyInstance(ctx, id) })
		}
		for id := range sessions {
			cleanup(id, func() error { return p.broker.Session(id).Close(ctx) })
		}
		wg.Wait()
	}
	s.cancel()
	<-s.done
	return nil
}

func (s *slot) snapshotSessions() map[string]ReopenFunc {
	_, sessions := s.snapshot()
	return sessions
}
