package bots

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/apperr"
	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/schema"
	"github.com/stc-trading/stc/sdk/strategy"
)

// errNotRunning: Run is not running, so a started bot waits for it.
var errNotRunning = errors.New("bots: runner not running")

// runner owns the running bots of this host: their dispatchers, the order
// workers and the status writer, all started by Run and stopped before Run
// returns.
type runner struct {
	s *Service

	mu     sync.Mutex
	ctx    context.Context // Run's; nil while Run is not running
	wg     *sync.WaitGroup
	keys   map[marketdata.Key]*dispatcher
	bots   map[int64]*runBot
	byUser map[int64]map[int64]struct{}
	// orders holds one queue per order worker: a user's signals go to one
	// worker, so concurrent batches do not share users (whose row locks
	// the risk checks take). A full queue spills into overflow, which
	// every worker drains, so one worker held up by a slow broker does
	// not stall the dispatchers.
	orders   []chan orderJob
	overflow chan orderJob
	last     *lastWriter
	ents     *entCache
	// placing counts the signals enqueued and not yet done with (placed
	// and finished, or dropped): while it is above zero the last-signal
	// writer holds back.
	placing atomic.Int64
}

// runBot is one running bot as the runner sees it. It is immutable once
// built; a changed bot is a new runBot.
type runBot struct {
	Bot
	mode     broker.Mode
	instance string
	warmup   int
	// group identifies bots whose signals are equal by the strategy
	// contract: same strategy, key and effective parameters.
	group  string
	handle *pluginmgr.StrategyHandle

	// gate counts the bot's Trader.Place calls in flight, so that Stop
	// returns only after the last one and no new one starts after it.
	gate struct {
		mu       sync.Mutex
		cond     *sync.Cond
		inflight int
		closed   bool
	}
}

// enter admits one Place call; false once the bot was taken off the
// runner.
func (b *runBot) enter() bool {
	b.gate.mu.Lock()
	defer b.gate.mu.Unlock()
	if b.gate.closed {
		return false
	}
	b.gate.inflight++
	return true
}

func (b *runBot) leave() {
	b.gate.mu.Lock()
	defer b.gate.mu.Unlock()
	b.gate.inflight--
	if b.gate.inflight == 0 && b.gate.cond != nil {
		b.gate.cond.Broadcast()
	}
}

// close admits no more Place calls and waits for those in flight.
func (b *runBot) close() {
	b.gate.mu.Lock()
	defer b.gate.mu.Unlock()
	b.gate.closed = true
	if b.gate.cond == nil {
		b.gate.cond = sync.NewCond(&b.gate.mu)
	}
	for b.gate.inflight > 0 {
		b.gate.cond.Wait()
	}
}

// enqueue hands j to its user's worker, or to the overflow queue when
// that worker's queue is full; it blocks only when both are full, and
// reports false when ctx ends first.
func (r *runner) enqueue(ctx context.Context, j orderJob) bool {
	r.placing.Add(1)
	select {
	case r.orders[uint64(j.bot.UserID)%uint64(len(r.orders))] <- j:
		return true
	default:
	}
	select {
	case r.overflow <- j:
		return true
	case <-ctx.Done():
		r.placing.Add(-1)
		return false
	}
}

func newRunner(s *Service) *runner {
	return &runner{
		s: s, keys: make(map[marketdata.Key]*dispatcher), bots: make(map[int64]*runBot),
		byUser: make(map[int64]map[int64]struct{}),
	}
}

// Run resumes every running bot (after a host restart), runs the bots
// until ctx ends, then stops them all (they stay running in the database,
// so the next Run resumes them) and returns nil. It returns an error only
// when it cannot list the bots; a second concurrent Run is an error too.
func (s *Service) Run(ctx context.Context) error {
	r := s.run
	var wg sync.WaitGroup
	r.mu.Lock()
	if r.ctx != nil {
		r.mu.Unlock()
		return errors.New("bots: Run is already running")
	}
	r.ctx, r.wg = ctx, &wg
	// With a BatchTrader, room for a whole batch per worker, so a candle
	// close's signals queue up for the batches instead of blocking the
	// dispatchers.
	depth := 4
	if _, ok := s.deps.Trader.(BatchTrader); ok {
		depth = s.opts.OrderBatch
	}
	r.orders = make([]chan orderJob, s.opts.OrderWorkers)
	for i := range r.orders {
		r.orders[i] = make(chan orderJob, depth)
	}
	r.overflow = make(chan orderJob, depth)
	r.placing.Store(0) // the last Run's queued signals went with its queues
	r.last = newLastWriter(s)
	r.ents = newEntCache(s)
	r.mu.Unlock()

	for _, q := range r.orders {
		wg.Go(func() { r.orderWorker(ctx, q) })
	}
	wg.Go(func() { r.last.run(ctx) })

	var running []Bot
	err := s.st.View(ctx, store.System(), func(tx *sqlx.Tx) (err error) {
		running, err = runningBots(tx)
		return err
	})
	if err == nil {
		r.resumeAll(ctx, running)
		<-ctx.Done()
	}
	r.mu.Lock()
	ds := slices.Collect(maps.Values(r.keys))
	r.keys = make(map[marketdata.Key]*dispatcher)
	r.bots = make(map[int64]*runBot)
	r.byUser = make(map[int64]map[int64]struct{})
	r.ctx = nil
	r.mu.Unlock()
	for _, d := range ds {
		d.stop()
	}
	wg.Wait()
	if err != nil {
		return fmt.Errorf("bots: resume: %w", err)
	}
	return nil
}

// RunningAccounts returns the accounts that running bots trade on, of
// every user: the host re-opens their sessions first at start
// (accounts.ResumeOptions.First), so bots need not wait for every other
// account.
func (s *Service) RunningAccounts(ctx context.Context) ([]int64, error) {
	var ids []int64
	err := s.st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
		return tx.Select(&ids, tx.Rebind(`SELECT DISTINCT account_id FROM bots WHERE status = ? ORDER BY account_id`),
			string(StatusRunning))
	})
	if err != nil {
		return nil, fmt.Errorf("bots: accounts of running bots: %w", err)
	}
	return ids, nil
}

// resumeAll starts the bots found running, a few at a time. A bot that
// cannot start for a lasting reason goes to error (strategy gone) or
// paused (account gone, plan lapsed); a transient failure (plugin
// restarting) is retried in the background.
func (r *runner) resumeAll(ctx context.Context, bots []Bot) {
	if len(bots) == 0 {
		return
	}
	sem := make(chan struct{}, r.s.opts.ResumeConcurrency)
	var wg sync.WaitGroup
	for _, b := range bots {
		sem <- struct{}{}
		wg.Go(func() { // owned by resumeAll, which waits below
			defer func() { <-sem }()
			if !r.resume(ctx, b) {
				r.wg.Go(func() { r.retry(ctx, b) }) // owned by Run's group
			}
		})
	}
	wg.Wait()
	r.s.log.Info("resumed running bots", "bots", len(bots))
}

// resume starts one bot found running; false means "try again later".
func (r *runner) resume(ctx context.Context, b Bot) bool {
	s := r.s
	acct, err := s.deps.Accounts.Get(ctx, b.UserID, b.AccountID)
	if err == nil && acct.Status != accounts.StatusConnected {
		err = apperr.Refuse(ErrAccountNotConnected, "account %d is %s", b.AccountID, acct.Status)
	}
	if err == nil {
		err = r.activate(ctx, b, acct.Mode)
	}
	if err == nil || ctx.Err() != nil {
		return true
	}
	if errors.Is(err, ErrAccountNotConnected) {
		_, perr := s.pause(ctx, b.UserID, b.ID, ReasonAccountNotConnected, err.Error())
		return perr == nil
	}
	if permanent(err) {
		st, reason := statusFor(err)
		s.log.Warn("bot cannot resume", "bot_id", b.ID, "error", err)
		return s.setStatus(ctx, b, st, reason) == nil
	}
	s.log.Warn("bot could not resume; retrying", "bot_id", b.ID, "error", err)
	return false
}

// retry resumes a bot with capped, jittered exponential backoff until it
// starts, stops being wanted, or ctx ends.
func (r *runner) retry(ctx context.Context, b Bot) {
	delay := r.s.opts.RetryBase
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay/2 + mrand.N(delay/2+1)):
		}
		cur, err := r.s.Get(ctx, b.UserID, b.ID)
		if err != nil || cur.Status != StatusRunning {
			return
		}
		if r.resume(ctx, cur) {
			return
		}
		delay = min(2*delay, r.s.opts.RetryCap)
	}
}

// permanent reports whether a start error will not go away by itself.
func permanent(err error) bool {
	return errors.Is(err, pluginmgr.ErrUnknownPlugin) || errors.Is(err, strategy.ErrInvalidParams) ||
		errors.Is(err, schema.ErrInvalid) || errors.Is(err, ErrInvalidSpec)
}

// statusFor is the status a bot takes when it cannot start.
func statusFor(err error) (Status, string) {
	if errors.Is(err, ErrAccountNotConnected) {
		return StatusPaused, ReasonAccountNotConnected
	}
	return StatusError, ReasonStrategyUnavailable
}

// activate creates the bot's strategy instance, makes sure its candle key
// is tracked and adds it to the key's dispatcher. It replaces a running
// copy of the same bot.
func (r *runner) activate(ctx context.Context, b Bot, mode broker.Mode) error {
	r.mu.Lock()
	running := r.ctx != nil
	r.mu.Unlock()
	if !running {
		return errNotRunning
	}
	s := r.s
	h, err := s.deps.Strategies.Strategy(ctx, b.Strategy)
	if err != nil {
		return fmt.Errorf("strategy %s: %w", b.Strategy, err)
	}
	id := InstanceID(b.ID)
	inst, err := h.CreateInstance(ctx, id, plugin.InstanceConfig{Params: b.Params, Symbol: b.Symbol, Timeframe: b.Timeframe})
	if err != nil {
		return fmt.Errorf("strategy %s: create instance: %w", b.Strategy, err)
	}
	key := marketdata.Key{Broker: b.Broker, Symbol: b.Symbol, Timeframe: b.Timeframe}
	if _, err := s.st.TrackSymbol(ctx, key.Broker, key.Symbol, key.Timeframe, store.SourceBot); err != nil {
		return fmt.Errorf("track %s: %w", key, err)
	}
	if err := s.deps.Market.Track(key); err != nil {
		return fmt.Errorf("track %s: %w", key, err)
	}
	rb := &runBot{
		Bot: b, mode: mode, instance: id, warmup: max(inst.Warmup, 1), handle: h,
		group: groupKey(b, inst.Params),
	}
	if s.opts.EvaluateEachBot {
		rb.group = id
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx == nil {
		return errNotRunning
	}
	if old := r.bots[b.ID]; old != nil {
		r.removeLocked(old)
	}
	d := r.keys[key]
	if d == nil {
		if d, err = newDispatcher(r, key); err != nil {
			return err
		}
		r.keys[key] = d
		r.wg.Go(d.run) // owned by Run's group; stop or Run's end ends it
	}
	d.add(rb)
	r.bots[b.ID] = rb
	if r.byUser[b.UserID] == nil {
		r.byUser[b.UserID] = make(map[int64]struct{})
	}
	r.byUser[b.UserID][b.ID] = struct{}{}
	return nil
}

// deactivate takes a bot off the runner and destroys its instance. It
// never waits for the bot's orders in flight.
func (r *runner) deactivate(ctx context.Context, id int64) {
	r.mu.Lock()
	rb := r.bots[id]
	if rb != nil {
		r.removeLocked(rb)
	}
	r.mu.Unlock()
	if rb == nil {
		return
	}
	rb.close()
	if err := rb.handle.DestroyInstance(ctx, rb.instance); err != nil {
		r.s.log.Warn("destroying a bot's strategy instance failed", "bot_id", id, "error", err)
	}
}

func (r *runner) removeLocked(rb *runBot) {
	delete(r.bots, rb.ID)
	if u := r.byUser[rb.UserID]; u != nil {
		delete(u, rb.ID)
		if len(u) == 0 {
			delete(r.byUser, rb.UserID)
		}
	}
	key := marketdata.Key{Broker: rb.Broker, Symbol: rb.Symbol, Timeframe: rb.Timeframe}
	if d := r.keys[key]; d != nil && d.remove(rb.ID) == 0 {
		delete(r.keys, key)
		d.stop()
	}
}

// current returns the running copy of a bot, or nil once it was stopped,
// paused or replaced.
func (r *runner) current(rb *runBot) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bots[rb.ID] == rb
}

// rank is the bot's position among its user's running bots on this host,
// oldest first: with a plan of n bots the first n keep running.
func (r *runner) rank(rb *runBot) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for id := range r.byUser[rb.UserID] {
		if id < rb.ID {
			n++
		}
	}
	return n
}

// groupKey names the bots whose windows and signals are equal.
func groupKey(b Bot, effective map[string]string) string {
	names := slices.Sorted(maps.Keys(effective))
	var sb strings.Builder
	sb.WriteString(b.Strategy)
	sb.WriteByte('|')
	for _, n := range names {
		sb.WriteString(n)
		sb.WriteByte('=')
		sb.WriteString(effective[n])
		sb.WriteByte(';')
	}
	return sb.String()
}

// probe checks that the strategy accepts the spec's parameters by creating
// and destroying a throw-away instance.
func (s *Service) probe(ctx context.Context, spec Spec) error {
	h, err := s.deps.Strategies.Strategy(ctx, spec.Strategy)
	if errors.Is(err, pluginmgr.ErrUnknownPlugin) {
		return invalid("strategy", "must name an installed strategy; %q is not installed", spec.Strategy)
	}
	if err != nil {
		return fmt.Errorf("bots: strategy %s: %w", spec.Strategy, err)
	}
	// The parameters are checked against the schema the strategy declares
	// first, so that a refusal names the parameter at fault; the plugin
	// checks them again, with the rules a schema cannot express.
	info, err := h.Info(ctx)
	if err != nil {
		return fmt.Errorf("bots: strategy %s: %w", spec.Strategy, err)
	}
	if _, err := schema.Resolve(info.Fields, spec.Params); err != nil {
		return paramsError(err)
	}
	var raw [8]byte
	_, _ = rand.Read(raw[:]) // never fails on the platforms STC runs on
	id := "probe-" + hex.EncodeToString(raw[:])
	_, err = h.CreateInstance(ctx, id, plugin.InstanceConfig{Params: spec.Params, Symbol: spec.Symbol, Timeframe: spec.Timeframe})
	if err != nil {
		if msg, ok := plugin.RefusalMessage(err); ok {
			return invalid("params", "are refused by the %s strategy: %s", spec.Strategy, msg)
		}
		return fmt.Errorf("bots: strategy %s: %w", spec.Strategy, err)
	}
	if err := h.DestroyInstance(ctx, id); err != nil {
		s.log.Warn("destroying a probe instance failed", "strategy", spec.Strategy, "error", err)
	}
	return nil
}

// paramsError turns the schema's verdict on a bot's parameters into the
// refusal of the first parameter at fault (they come sorted by name).
func paramsError(err error) error {
	var problems schema.Errors
	if errors.As(err, &problems) && len(problems) > 0 {
		p := problems[0]
		return apperr.Invalid(ErrInvalidSpec, "params."+p.Field, "params.%s: %s", p.Field, p.Problem)
	}
	return invalid("params", "are not what the strategy declares")
}
