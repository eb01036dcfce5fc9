package trading

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/stc-trading/stc/host/internal/keylock"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
)

// Options tune a Service. Zero values take the defaults in the comments.
type Options struct {
	// Now is the host clock (UTC day boundaries, deadlines, created_at);
	// nil means time.Now. Tests inject a clock they can move.
	Now func() time.Time
	// PlaceTimeout bounds one PlaceOrder call. Default 5 s. A trade is not
	// declared "never reached the broker" before twice this long after it
	// was written (see quietAfter), so no call for it can still be in
	// flight, in this process or in a plugin that outlived a crashed host.
	PlaceTimeout time.Duration
	// CallTimeout bounds GetOrder and Instruments calls. Default 5 s.
	CallTimeout time.Duration
	// PollInterval is the period of Run's sweep: settlement polling of open
	// trades past expiry, reconciliation of pending and unknown trades, and
	// the start of order-result watchers. Default 1 s.
	PollInterval time.Duration
	// SettleGrace is how long after an open trade's expiry (host clock) the
	// sweep first asks GetOrder, so the stream normally wins. Default 2 s.
	SettleGrace time.Duration
	// RecheckInterval is how long the sweep waits before asking the broker
	// again about a trade it could not resolve. Default 5 s.
	RecheckInterval time.Duration
	// UnknownDeadline is how long a pending or unknown trade (from its
	// creation), or an open one (from its expiry), may stay unresolvable
	// before it becomes StatusUnresolved. Default 10 min.
	UnknownDeadline time.Duration
	// Concurrency bounds parallel GetOrder calls of a sweep or Reconcile.
	// Default 8.
	Concurrency int
	// SendConcurrency bounds the accounts whose orders one batch sends at
	// once (one PlaceOrders call each). Default 256: the calls wait on
	// brokers, not on this host, and a few slow accounts must not hold
	// back the orders of the others in the batch.
	SendConcurrency int
	// BatchCheckTTL is how long PlaceBatch reuses an account's session
	// and a user's entitlement answer from an earlier batch (see
	// checkCache). Default 1 s; Place always asks afresh.
	BatchCheckTTL time.Duration
	// ResultHold is how long Run's applier keeps gathering order outcomes
	// and settlements, instead of writing them, while orders are being
	// placed (see applyStream). Default 1 s.
	ResultHold time.Duration
	// IdempotencyTTL is how long an Idempotency-Key is remembered (and
	// kept by PruneIdempotencyKeys). Default 24 h: clients retry within
	// minutes, and a day covers a retry after any outage.
	IdempotencyTTL time.Duration
	// InstrumentTTL is how long a broker's instrument list (stake bounds,
	// expiries) is cached for validation. Default 1 min.
	InstrumentTTL time.Duration
	// Events receives every change of a trade's state (the pending row,
	// open, won, lost, draw, rejected, unknown, unresolved) as the Trade
	// after the change, in the transaction that makes it, so the user's
	// stream sees each state exactly when it is committed. Nil records
	// none.
	Events EventLog
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	def(&o.PlaceTimeout, 5*time.Second)
	def(&o.CallTimeout, 5*time.Second)
	def(&o.PollInterval, time.Second)
	def(&o.SettleGrace, 2*time.Second)
	def(&o.RecheckInterval, 5*time.Second)
	def(&o.UnknownDeadline, 10*time.Minute)
	def(&o.InstrumentTTL, time.Minute)
	def(&o.BatchCheckTTL, time.Second)
	def(&o.ResultHold, time.Second)
	def(&o.IdempotencyTTL, 24*time.Hour)
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.SendConcurrency <= 0 {
		o.SendConcurrency = 256
	}
	return o
}

// Service places, settles, reconciles and reports trades. It is safe for
// concurrent use; only Run starts goroutines that outlive a call, and they
// end before Run returns.
type Service struct {
	st       *store.Store
	accts    Accounts
	policy   Policy
	opts     Options
	log      hclog.Logger
	postgres bool

	// inflight holds the ids of trades whose PlaceOrder call is running in
	// this process; the sweep and Reconcile leave them alone.
	mu       sync.Mutex
	inflight map[int64]struct{}

	// wake tells Run that trades opened on the accounts in opened (under
	// mu), so their result watchers start without waiting for the next
	// tick, and without the tick's database query: a candle close opens
	// trades on a hundred accounts in a few dozen batches.
	wake   chan struct{}
	opened map[int64]accountRef

	instruments instrumentCache
	checks      checkCache
	users       keylock.Map

	// results carries what the accounts' result streams push to Run's
	// applier.
	results chan pushed
	// placing counts the Place and PlaceBatch calls writing or sending
	// orders; the applier holds outcomes and settlements back while it is
	// not zero.
	placing atomic.Int64

	// outcomes are PlaceBatch outcomes queued for Run's applier while
	// applying (it runs); outcomeWake tells the applier of new ones.
	outMu       sync.Mutex
	applying    bool
	outcomes    []idChange
	outcomeWake chan struct{}
}

// queueOutcomes hands list to Run's applier and reports whether it did:
// not when the applier is not running (the caller records them itself).
// The trades stay in flight until the applier has recorded them.
func (s *Service) queueOutcomes(list []idChange) bool {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	if !s.applying {
		return false
	}
	s.outcomes = append(s.outcomes, list...)
	select {
	case s.outcomeWake <- struct{}{}:
	default:
	}
	return true
}

// takeOutcomes returns the queued outcomes and empties the queue; with
// stop, it also stops taking more (the applier is leaving).
func (s *Service) takeOutcomes(stop bool) []idChange {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	out := s.outcomes
	s.outcomes = nil
	if stop {
		s.applying = false
	}
	return out
}

// NewService returns a Service. log may be nil.
func NewService(st *store.Store, accts Accounts, policy Policy, opts Options, log hclog.Logger) *Service {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Service{
		st: st, accts: accts, policy: policy,
		opts:        opts.withDefaults(),
		log:         log.Named("trading"),
		postgres:    st.Dialect() == store.DialectPostgres,
		inflight:    make(map[int64]struct{}),
		wake:        make(chan struct{}, 1),
		opened:      make(map[int64]accountRef),
		instruments: instrumentCache{m: make(map[string]instrumentEntry)},
		results:     make(chan pushed, 4*bulkRows),
		outcomeWake: make(chan struct{}, 1),
	}
}

// now is the host clock in UTC, at the millisecond resolution of the
// schema.
func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Millisecond) }

// quietAfter returns the time after which no PlaceOrder call for a trade
// written at created can still be running: twice the call's deadline,
// which covers the time between writing the row and starting the call.
func (s *Service) quietAfter(created time.Time) time.Time {
	return created.Add(2 * s.opts.PlaceTimeout)
}

// takeOpened returns and forgets the accounts nudge was told about.
func (s *Service) takeOpened() []accountRef {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]accountRef, 0, len(s.opened))
	for id, r := range s.opened {
		out = append(out, r)
		delete(s.opened, id)
	}
	return out
}

// beginFlight records that trade id's PlaceOrder is running.
func (s *Service) beginFlight(id int64) {
	s.mu.Lock()
	s.inflight[id] = struct{}{}
	s.mu.Unlock()
}

// endFlight forgets trade id's PlaceOrder call.
func (s *Service) endFlight(id int64) {
	s.mu.Lock()
	delete(s.inflight, id)
	s.mu.Unlock()
}

// inFlight reports whether trade id's PlaceOrder is running here.
func (s *Service) inFlight(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.inflight[id]
	return ok
}

// nudge tells Run, without blocking, that a trade opened on account r.
func (s *Service) nudge(r accountRef) {
	s.mu.Lock()
	s.opened[r.AccountID] = r
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// newClientOrderID returns a fresh client order id: "stc-" and 128 random
// bits in hex (36 bytes), unique without coordination and well within the
// brokers' 64-byte limit.
func newClientOrderID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return "stc-" + hex.EncodeToString(b[:])
}

// instrumentEntry is one broker's cached instrument list.
type instrumentEntry struct {
	at   time.Time
	list map[string]broker.Instrument
}

// instrumentCache keeps each broker's instruments for InstrumentTTL, so
// validating a trade does not cost a plugin call each time.
type instrumentCache struct {
	mu sync.Mutex
	m  map[string]instrumentEntry
}

// lookup returns the instrument symbol of brokerName and whether the list
// is known; found is false when the known list lacks the symbol.
func (s *Service) lookup(ctx context.Context, b broker.Broker, brokerName, symbol string) (in broker.Instrument, known, found bool) {
	c := &s.instruments
	now := s.opts.Now()
	c.mu.Lock()
	e, ok := c.m[brokerName]
	c.mu.Unlock()
	if !ok || now.Sub(e.at) >= s.opts.InstrumentTTL || now.Before(e.at) {
		cctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
		list, err := b.Instruments(cctx)
		cancel()
		if err != nil {
			// Unknown conditions: the broker itself checks the order.
			s.log.Debug("instrument list unavailable; skipping the stake bounds check", "broker", brokerName, "error", err)
			return broker.Instrument{}, false, false
		}
		e = instrumentEntry{at: now, list: make(map[string]broker.Instrument, len(list))}
		for _, in := range list {
			e.list[in.Symbol] = in
		}
		c.mu.Lock()
		c.m[brokerName] = e
		c.mu.Unlock()
	}
	in, found = e.list[symbol]
	return in, true, found
}
