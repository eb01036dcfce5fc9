package bots

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/strategy"
)

// ErrSignalExpired is the Err of an EventOrdered whose signal was dropped
// because it waited longer than one candle for an order worker.
var ErrSignalExpired = errors.New("bots: signal expired before it could be placed")

// orderJob is a signal to turn into an order.
type orderJob struct {
	bot      *runBot
	signal   strategy.Signal
	candle   market.Candle
	received time.Time
}

func (r *runner) observe(ev Event) {
	if f := r.s.opts.Observer; f != nil {
		if ev.At.IsZero() {
			ev.At = r.s.opts.Now()
		}
		f(ev)
	}
}

// orderWorker places orders until ctx ends. Jobs still queued then are
// dropped: they were never sent, and the next candle decides afresh. With
// a BatchTrader it takes every job already queued (up to OrderBatch) and
// places them in one call: a candle close's signals then cost a few
// transactions and broker calls, not one each.
func (r *runner) orderWorker(ctx context.Context, queue <-chan orderJob) {
	bt, batching := r.s.deps.Trader.(BatchTrader)
	for {
		var j orderJob
		select {
		case <-ctx.Done():
			return
		case j = <-queue:
		case j = <-r.overflow:
		}
		if !batching {
			if p, ok := r.prepare(ctx, j); ok && p.job.bot.enter() {
				err := r.s.deps.Trader.Place(ctx, p.req)
				p.job.bot.leave()
				r.finish(ctx, p, err)
			}
			r.placing.Add(-1)
			continue
		}
		jobs := []orderJob{j}
	drain:
		for len(jobs) < r.s.opts.OrderBatch {
			select {
			case j = <-queue:
				jobs = append(jobs, j)
			case j = <-r.overflow:
				jobs = append(jobs, j)
			default:
				break drain
			}
		}
		// Every signal is prepared (which may pause a bot, taking its
		// lock) before any bot's gate is entered, and every gate is left
		// before any outcome is finished (which may pause too): a pause
		// holding bot locks waits for the gates of those bots, so a
		// worker holding a gate must never wait for a bot lock.
		var ready []prepared
		for _, j := range jobs {
			if p, ok := r.prepare(ctx, j); ok {
				ready = append(ready, p)
			}
		}
		ready = slices.DeleteFunc(ready, func(p prepared) bool { return !p.job.bot.enter() })
		r.placeBatch(ctx, bt, ready)
		r.placing.Add(-int64(len(jobs)))
	}
}

// placeBatch places prepared signals whose bots entered their gates with
// one BatchTrader call, leaves the gates, and finishes each.
func (r *runner) placeBatch(ctx context.Context, bt BatchTrader, ready []prepared) {
	if len(ready) == 0 {
		return
	}
	reqs := make([]OrderRequest, 0, len(ready))
	for _, p := range ready {
		reqs = append(reqs, p.req)
	}
	errs := bt.PlaceBatch(ctx, reqs)
	for _, p := range ready {
		p.job.bot.leave()
	}
	for i, p := range ready {
		var err error
		if i < len(errs) {
			err = errs[i]
		} else {
			err = fmt.Errorf("trader answered %d results for %d orders", len(errs), len(reqs))
		}
		r.finish(ctx, p, err)
	}
}

// prepared is a signal ready to be placed once the bot has entered its
// gate (a false enter means it was stopped meanwhile; after a true one,
// leave it after the Trader call).
type prepared struct {
	job   orderJob
	req   OrderRequest
	stake decimal.Decimal
}

// prepare turns one signal into an order request: entitlement check
// (cached), stake from the progression. ok is false when the signal is
// dropped (bot stopped, signal too late, not entitled, progression
// unknown); the reason is recorded on the bot.
func (r *runner) prepare(ctx context.Context, j orderJob) (prepared, bool) {
	b := j.bot
	if !r.current(b) {
		return prepared{}, false // stopped or paused since the candle closed
	}
	if late := r.s.opts.Now().Sub(j.received); late > b.Timeframe.Duration() {
		// Under overload a queued signal can outlive its candle; acting on
		// it would trade on a price a whole candle old. The next candle
		// decides afresh.
		r.last.recordError(b, fmt.Sprintf("signal of candle %d dropped: %s late", j.candle.Time, late.Round(time.Millisecond)), r.s.opts.Now())
		r.observe(Event{Kind: EventOrdered, BotID: b.ID, UserID: b.UserID, Candle: j.candle, Received: j.received, Signal: j.signal, Err: ErrSignalExpired})
		return prepared{}, false
	}
	ent, err := r.ents.get(ctx, b.UserID)
	if err != nil {
		// Billing unreachable: do not trade blind, do not pause either.
		r.last.recordError(b, fmt.Sprintf("entitlements: %v", err), r.s.opts.Now())
		return prepared{}, false
	}
	if err := allowed(b.Bot, b.mode, ent, r.rank(b)); err != nil {
		r.pause(ctx, j, ReasonNotEntitled, err)
		return prepared{}, false
	}
	stake := b.Amount
	if n := b.Progression.historyNeeded(); n > 0 {
		recent, err := r.s.deps.Trader.RecentSettled(ctx, b.UserID, b.ID, n)
		if err != nil {
			// Trading without knowing the streak could break the caps'
			// intent; skip this signal.
			r.last.recordError(b, fmt.Sprintf("progression: %v", err), r.s.opts.Now())
			return prepared{}, false
		}
		stake = b.Progression.stake(b.Amount, recent)
	}
	side := market.Call
	if j.signal.Action == strategy.ActionPut {
		side = market.Put
	}
	exp := b.Expiration
	if j.signal.Expiry >= MinExpiration && j.signal.Expiry <= MaxExpiration {
		exp = j.signal.Expiry
	}
	req := OrderRequest{
		UserID: b.UserID, AccountID: b.AccountID, BotID: b.ID, Broker: b.Broker, Symbol: b.Symbol,
		Direction: side, Amount: stake, Expiration: exp, Limits: b.Limits,
		Cooldown: time.Duration(b.Limits.CooldownCandles) * b.Timeframe.Duration(),
		Reason:   j.signal.Reason,
	}
	return prepared{job: j, req: req, stake: stake}, true
}

// finish records a placed order's outcome on its bot: the event, the last
// signal, and a pause when the account or the plan no longer allows
// trading.
func (r *runner) finish(ctx context.Context, p prepared, err error) {
	j, b := p.job, p.job.bot
	now := r.s.opts.Now()
	r.observe(Event{Kind: EventOrdered, BotID: b.ID, UserID: b.UserID, Candle: j.candle, Received: j.received, Signal: j.signal, Stake: p.stake, Err: err, At: now})
	r.last.recordSignal(b, j.signal, now)
	switch {
	case err == nil:
	case errors.Is(err, ErrAccountNotConnected):
		r.pause(ctx, j, ReasonAccountNotConnected, err)
	case errors.Is(err, ErrNotEntitled):
		r.ents.forget(b.UserID)
		r.pause(ctx, j, ReasonNotEntitled, err)
	default:
		// Risk refusals (ErrRiskLimit), broker rejections, timeouts: the
		// trade record has the details; the bot keeps running.
		r.last.recordError(b, err.Error(), now)
	}
}

func (r *runner) pause(ctx context.Context, j orderJob, reason string, cause error) {
	b := j.bot
	if _, err := r.s.pause(ctx, b.UserID, b.ID, reason, cause.Error()); err != nil {
		r.s.log.Error("pausing a bot failed", "bot_id", b.ID, "error", err)
		return
	}
	r.observe(Event{Kind: EventPaused, BotID: b.ID, UserID: b.UserID, Candle: j.candle, Received: j.received, Reason: reason, Err: cause})
}

// entCache keeps users' entitlements for EntitlementTTL, so the per-order
// check costs a database read per user and TTL, not per order.
type entCache struct {
	s  *Service
	mu sync.Mutex
	m  map[int64]entEntry
	// gen counts forgets, so an answer read before a forget is not stored
	// after it (it may predate the change that caused the forget).
	gen uint64
}

type entEntry struct {
	ent billing.Entitlements
	at  time.Time
}

func newEntCache(s *Service) *entCache { return &entCache{s: s, m: make(map[int64]entEntry)} }

func (c *entCache) get(ctx context.Context, userID int64) (billing.Entitlements, error) {
	now := c.s.opts.Now()
	c.mu.Lock()
	e, ok := c.m[userID]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.s.opts.EntitlementTTL {
		return e.ent, nil
	}
	ent, err := c.s.deps.Entitlements.Entitlements(ctx, userID)
	if err != nil {
		return billing.Entitlements{}, err
	}
	c.mu.Lock()
	if c.gen == gen {
		c.m[userID] = entEntry{ent: ent, at: now}
	}
	c.mu.Unlock()
	return ent, nil
}

func (c *entCache) forget(userID int64) {
	c.mu.Lock()
	delete(c.m, userID)
	c.gen++
	c.mu.Unlock()
}

// lastWriter batches the bots' last signals and errors into one
// transaction every StatusFlush, off the order path: at 10,000 bots a
// write per signal would cost more than the signals.
type lastWriter struct {
	s       *Service
	mu      sync.Mutex
	pending map[lastKey]lastUpdate
}

type lastKey struct {
	id    int64
	isErr bool
}

func newLastWriter(s *Service) *lastWriter {
	return &lastWriter{s: s, pending: make(map[lastKey]lastUpdate)}
}

func (w *lastWriter) recordSignal(b *runBot, sig strategy.Signal, at time.Time) {
	w.put(lastKey{id: b.ID}, lastUpdate{id: b.ID, userID: b.UserID, signal: sig.Action.String(), reason: sig.Reason, at: at.UnixMilli()})
}

func (w *lastWriter) recordError(b *runBot, msg string, at time.Time) {
	const maxLen = 1000
	if len(msg) > maxLen {
		msg = msg[:maxLen]
	}
	w.put(lastKey{id: b.ID, isErr: true}, lastUpdate{id: b.ID, userID: b.UserID, err: msg, at: at.UnixMilli()})
}

func (w *lastWriter) put(k lastKey, u lastUpdate) {
	w.mu.Lock()
	w.pending[k] = u
	w.mu.Unlock()
}

// run flushes every StatusFlush until ctx ends, then once more. While
// orders are being placed it holds back, for up to StatusHold.
func (w *lastWriter) run(ctx context.Context) {
	t := time.NewTicker(w.s.opts.StatusFlush)
	defer t.Stop()
	var held time.Duration
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			w.flush(fctx)
			cancel()
			return
		case <-t.C:
			if held < w.s.opts.StatusHold && w.s.run.placing.Load() > 0 {
				held += w.s.opts.StatusFlush
				continue
			}
			held = 0
			w.flush(ctx)
		}
	}
}

func (w *lastWriter) flush(ctx context.Context) {
	w.mu.Lock()
	if len(w.pending) == 0 {
		w.mu.Unlock()
		return
	}
	batch := make([]lastUpdate, 0, len(w.pending))
	for _, u := range w.pending {
		batch = append(batch, u)
	}
	w.pending = make(map[lastKey]lastUpdate, len(batch))
	w.mu.Unlock()
	err := w.s.st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
		changed, err := writeLast(tx, w.s.st.Dialect() == store.DialectPostgres, w.s.deps.Events != nil, batch)
		if err != nil {
			return err
		}
		for _, b := range changed {
			if err := w.s.record(tx, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		w.s.log.Warn("writing bots' last signals failed", "bots", len(batch), "error", err)
	}
}
