package trading

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
)

// Run settles and reconciles trades until ctx ends: it reconciles every
// active trade once, then every PollInterval it keeps one OrderResults
// watcher running per account with active trades (starting one as soon as
// a trade opens on an account without) and sweeps the trades that are due
// (open trades past expiry the stream did not settle, unknown trades,
// pending trades a crash left behind). Its applier writes the settlements
// and PlaceBatch's outcomes. It returns when ctx is done and every
// goroutine it started has stopped.
func (s *Service) Run(ctx context.Context) {
	if n, err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("startup reconciliation incomplete; the sweep retries", "resolved", n, "error", err)
	} else if n > 0 {
		s.log.Info("startup reconciliation", "resolved", n)
	}
	// One applier writes what every account's watcher pushes; it and the
	// watchers end with ctx (results not yet written are polled later).
	var applier sync.WaitGroup
	defer applier.Wait()
	applier.Go(func() { s.applyStream(ctx) })
	ws := &watchers{m: make(map[int64]*watcher)}
	defer ws.stopAll()
	tick := time.NewTicker(s.opts.PollInterval)
	defer tick.Stop()
	for {
		if err := s.syncWatchers(ctx, ws); err != nil && ctx.Err() == nil {
			s.log.Warn("could not list accounts with active trades", "error", err)
		}
		if _, err := s.sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("settlement sweep incomplete", "error", err)
		}
		if !s.untilTick(ctx, tick, ws) {
			return
		}
	}
}

// untilTick waits for the next tick, starting the watchers of accounts
// where trades open meanwhile. It returns false when ctx ends.
func (s *Service) untilTick(ctx context.Context, tick *time.Ticker, ws *watchers) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
			return true
		case <-s.wake:
			for _, r := range s.takeOpened() {
				s.startWatcher(ctx, ws, r)
			}
		}
	}
}

// resultWindow is how long the applier gathers pushed results after the
// first before it writes them: a candle's trades settle together, and one
// transaction for all of them costs far less than one each. It delays a
// settlement by at most this much, or by Options.ResultHold while orders
// are being placed.
const resultWindow = 20 * time.Millisecond

// resultHeld bounds what the applier holds; past it the watchers wait
// (the paper broker and the stream keep the rest for them).
const resultHeld = 20 * bulkRows

// applyStream applies what the watchers push and the outcomes PlaceBatch
// queues, in batches gathered over resultWindow and written in
// transactions of at most 2 × bulkRows, until ctx ends.
//
// While orders are being placed it keeps gathering, up to
// Options.ResultHold: trades that expire at a candle close settle while
// the bots' orders of that close are being written, and the outcomes of
// the first orders arrive while the rest are being written. The orders
// are the latency that matters (the price moves); an outcome or a
// settlement recorded a moment later costs no one anything; and all of
// them compete for the same database. Outcomes still queued when ctx ends
// are left to reconciliation: their trades stay pending.
func (s *Service) applyStream(ctx context.Context) {
	s.outMu.Lock()
	s.applying = true
	s.outMu.Unlock()
	defer func() {
		for _, c := range s.takeOutcomes(true) {
			s.endFlight(c.id)
		}
	}()
	for {
		var batch []pushed
		select {
		case <-ctx.Done():
			return
		case p := <-s.results:
			batch = append(batch, p)
		case <-s.outcomeWake:
		}
		hold := time.Now().Add(s.opts.ResultHold)
		window := time.NewTimer(resultWindow)
	gather:
		for len(batch) < resultHeld {
			select {
			case p := <-s.results:
				batch = append(batch, p)
			case <-s.outcomeWake: // they wait in s.outcomes
			case <-window.C:
				if left := time.Until(hold); left > 0 && s.placing.Load() > 0 {
					window.Reset(min(resultWindow, left))
					continue
				}
				break gather
			case <-ctx.Done():
				window.Stop()
				return
			}
		}
		window.Stop()
		// Outcomes first: they were queued before any result of their
		// orders could exist (the order applies either way: a result
		// settles a pending trade too, and an outcome does not apply to a
		// settled one).
		s.recordOutcomes(ctx, s.takeOutcomes(false))
		for len(batch) > 0 {
			n := min(len(batch), 2*bulkRows)
			if _, err := s.applyPushed(ctx, batch[:n]); err != nil && ctx.Err() == nil {
				s.log.Warn("could not apply order results; the sweep will poll them", "orders", n, "error", err)
			}
			batch = batch[n:]
		}
	}
}

// recordOutcomes writes queued PlaceBatch outcomes, 2 × bulkRows per
// transaction, and ends their trades' flights. Those it cannot write stay
// pending for the sweep.
func (s *Service) recordOutcomes(ctx context.Context, list []idChange) {
	for len(list) > 0 {
		n := min(len(list), 2*bulkRows)
		err := s.st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
			_, err := s.applyMany(tx, list[:n])
			return err
		})
		if err != nil && ctx.Err() == nil {
			s.log.Error("could not record the outcomes of orders; reconciliation resolves them", "orders", n, "error", err)
		}
		for _, c := range list[:n] {
			s.endFlight(c.id)
		}
		list = list[n:]
	}
}

// watcher is one account's OrderResults stream consumer.
type watcher struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// watchers are Run's running watchers by account id. Only Run's goroutine
// touches the map; wg tracks every watcher goroutine ever started.
type watchers struct {
	m  map[int64]*watcher
	wg sync.WaitGroup
}

// stopAll cancels every watcher and waits for all of them.
func (ws *watchers) stopAll() {
	for id, w := range ws.m {
		w.cancel()
		delete(ws.m, id)
	}
	ws.wg.Wait()
}

// accountRef is an account with active trades.
type accountRef struct {
	UserID    int64 `db:"user_id"`
	AccountID int64 `db:"account_id"`
}

// syncWatchers starts a watcher for each account with active trades that
// has none (or whose stream ended) and stops those of accounts without.
func (s *Service) syncWatchers(ctx context.Context, ws *watchers) error {
	var refs []accountRef
	err := s.st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
		return tx.Select(&refs, `SELECT DISTINCT user_id, account_id FROM trades WHERE status IN `+activeStatuses)
	})
	if err != nil {
		return fmt.Errorf("trading: accounts with active trades: %w", err)
	}
	want := make(map[int64]accountRef, len(refs))
	for _, r := range refs {
		want[r.AccountID] = r
	}
	for id, w := range ws.m {
		select {
		case <-w.done: // the stream ended (plugin restart, disconnect): start again below
			delete(ws.m, id)
			continue
		default:
		}
		if _, ok := want[id]; !ok {
			w.cancel()
			delete(ws.m, id)
		}
	}
	for _, r := range want {
		s.startWatcher(ctx, ws, r)
	}
	return nil
}

// startWatcher starts account r's watcher unless one is running (or its
// stream ended and syncWatchers has not yet noticed: it restarts it).
func (s *Service) startWatcher(ctx context.Context, ws *watchers, r accountRef) {
	if _, ok := ws.m[r.AccountID]; ok {
		return
	}
	wctx, cancel := context.WithCancel(ctx)
	w := &watcher{cancel: cancel, done: make(chan struct{})}
	ws.m[r.AccountID] = w
	ws.wg.Go(func() { // owned by ws: cancelled by syncWatchers or stopAll, awaited by stopAll
		defer close(w.done)
		defer cancel()
		s.watch(wctx, r)
	})
}

// watch applies account r's pushed order results until ctx ends or the
// stream breaks. Missed results are not lost: the sweep polls GetOrder.
func (s *Service) watch(ctx context.Context, r accountRef) {
	log := s.log.With("user_id", r.UserID, "account_id", r.AccountID)
	b, _, err := s.accts.Session(ctx, r.UserID, r.AccountID)
	if err != nil {
		log.Debug("no session for the result stream; polling only", "error", err)
		return
	}
	if !b.Metadata().Capabilities.OrderStream {
		// Park until cancelled, so the watcher is not restarted every tick;
		// the sweep polls this account's trades.
		<-ctx.Done()
		return
	}
	ch, err := b.OrderResults(ctx)
	if err != nil {
		log.Debug("order result stream unavailable; polling only", "error", err)
		return
	}
	for {
		var (
			o  broker.Order
			ok bool
		)
		select {
		case <-ctx.Done():
			return
		case o, ok = <-ch:
		}
		if !ok {
			log.Debug("order result stream ended")
			return
		}
		select {
		case s.results <- pushed{accountID: r.AccountID, order: o}:
		case <-ctx.Done():
			return
		}
	}
}
