package marketdata

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"
)

// Client is who asks for candles. Budgets apply to what a client makes the
// service fetch from brokers; answers from memory or the store cost
// nothing here (the API's per-address rate limit covers them).
type Client struct {
	// ID names the client: "user:42", or "ip:192.0.2.1" for an anonymous
	// one. Empty is the host itself (bots, feeds): no budget applies.
	ID string
	// Anonymous clients get the smallest budgets.
	Anonymous bool
}

func (c Client) isHost() bool { return c.ID == "" }

// Budget bounds the broker fetches API clients can cause. Zero fields
// take the defaults in the comments; a negative value turns that limit
// off.
type Budget struct {
	// MaxSpanAnonymous and MaxSpanUser bound the market time one request
	// may cover (limit × timeframe, or to − from when shorter), so no
	// single request can cost a broker more than that. Defaults 366 days
	// and 3,660 days.
	MaxSpanAnonymous, MaxSpanUser time.Duration
	// DaysPerMinuteAnonymous is the market time, in days, that broker
	// fetches started by one anonymous address may cover per minute
	// (default 2,000); DaysPerMinuteUser per signed-in user (default
	// 20,000). A fetch costs what it covers — a year of daily candles
	// 366, an hour of minutes 1 (at least 1) — because that is what it
	// costs a broker that computes or pages through history. Only fetches
	// a client starts count: not requests answered from memory or the
	// store, nor ones that share another request's fetch in flight.
	DaysPerMinuteAnonymous, DaysPerMinuteUser int
	// DaysPerMinuteAnonymousTotal is the same for all anonymous clients
	// together (default 4,000), so rotating addresses does not multiply
	// the budget.
	DaysPerMinuteAnonymousTotal int
	// Concurrency is broker fetches in flight for API clients, host-wide
	// (default 2); ConcurrencyAnonymous of them at most for anonymous
	// clients together (default 1). Fetches for bots and tracked feeds
	// are not counted.
	Concurrency, ConcurrencyAnonymous int
	// QueueWait is how long a signed-in client's fetch waits for a free
	// slot before it is refused (default 5 s; negative: it never waits).
	// Anonymous fetches never wait.
	QueueWait time.Duration
}

// A client has at most this many requests waiting on broker fetches at
// once (its own or shared with others asking for the same candles).
const (
	clientInflightAnonymous = 1
	clientInflightUser      = 4
)

const day = 24 * time.Hour

func (b Budget) withDefaults() Budget {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n == 0 {
			*n = v
		}
	}
	def(&b.MaxSpanAnonymous, 366*day)
	def(&b.MaxSpanUser, 3660*day)
	defInt(&b.DaysPerMinuteAnonymous, 2000)
	defInt(&b.DaysPerMinuteUser, 20000)
	defInt(&b.DaysPerMinuteAnonymousTotal, 4000)
	defInt(&b.Concurrency, 2)
	defInt(&b.ConcurrencyAnonymous, 1)
	def(&b.QueueWait, 5*time.Second)
	return b
}

// ErrSpanTooLarge is wrapped by *SpanError.
var ErrSpanTooLarge = errors.New("candle request spans too much market time")

// SpanError refuses a request that covers more market time than the
// client may ask for at once. It is the client's to fix: fewer candles, a
// smaller timeframe, or a shorter from/to range.
type SpanError struct {
	Requested, Max time.Duration
	Anonymous      bool
}

func (e *SpanError) Error() string {
	who := "a signed-in client"
	if e.Anonymous {
		who = "an anonymous client"
	}
	return fmt.Sprintf("%v: the request covers %s of market time (limit × timeframe); %s may ask for at most %s at once",
		ErrSpanTooLarge, days(e.Requested), who, days(e.Max))
}

// Unwrap makes errors.Is(err, ErrSpanTooLarge) true.
func (e *SpanError) Unwrap() error { return ErrSpanTooLarge }

func days(d time.Duration) string {
	if d >= day {
		return fmt.Sprintf("%.4g days", d.Hours()/24)
	}
	return d.String()
}

// ErrBudgetExceeded is wrapped by *BudgetError.
var ErrBudgetExceeded = errors.New("market-data budget exceeded")

// Budget scopes: whose budget a refused fetch exceeded.
const (
	ScopeClient    = "client"    // this client's rate or concurrency
	ScopeAnonymous = "anonymous" // all anonymous clients together
	ScopeHost      = "host"      // every fetch slot of the host is busy
)

// BudgetError refuses a request that needs a broker fetch the budget does
// not allow now; RetryAfter is when one is likely to.
type BudgetError struct {
	Scope      string
	RetryAfter time.Duration
}

func (e *BudgetError) Error() string {
	var why string
	switch e.Scope {
	case ScopeClient:
		why = "this client's broker fetches are used up for now"
	case ScopeAnonymous:
		why = "anonymous clients' broker fetches are used up for now; sign in for a budget of your own"
	default:
		why = "every broker fetch slot is busy"
	}
	return fmt.Sprintf("%v: %s; retry in %s", ErrBudgetExceeded, why, e.RetryAfter.Round(time.Second))
}

// Unwrap makes errors.Is(err, ErrBudgetExceeded) true.
func (e *BudgetError) Unwrap() error { return ErrBudgetExceeded }

// maxClients bounds the per-client table; idle entries are dropped first,
// and a dropped client simply starts with a full budget (the anonymous
// total still holds).
const maxClients = 100_000

// budget enforces Budget. It is safe for concurrent use.
type budget struct {
	opts      Budget
	now       func() time.Time
	anonTotal *rate.Limiter       // nil: off
	slots     *semaphore.Weighted // nil: off
	anonSlots *semaphore.Weighted // nil: off
	mu        sync.Mutex
	clients   map[string]*clientBudget
}

type clientBudget struct {
	lim      *rate.Limiter // nil: off
	inflight int
	seen     time.Time
}

func newBudget(o Budget, now func() time.Time) *budget {
	b := &budget{opts: o.withDefaults(), now: now, clients: make(map[string]*clientBudget)}
	b.anonTotal = perMinute(b.opts.DaysPerMinuteAnonymousTotal)
	if n := b.opts.Concurrency; n > 0 {
		b.slots = semaphore.NewWeighted(int64(n))
	}
	if n := b.opts.ConcurrencyAnonymous; n > 0 {
		b.anonSlots = semaphore.NewWeighted(int64(n))
	}
	return b
}

// perMinute is a token bucket of n per minute with a burst of n; nil when
// n < 0 (off).
func perMinute(n int) *rate.Limiter {
	if n < 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(float64(n)/60), n)
}

// checkSpan refuses a request of c that covers more than c's maximum
// span, and returns that maximum (0: none).
func (b *budget) checkSpan(c Client, requested time.Duration) (time.Duration, error) {
	if c.isHost() {
		return 0, nil
	}
	limit := b.opts.MaxSpanUser
	if c.Anonymous {
		limit = b.opts.MaxSpanAnonymous
	}
	if limit < 0 {
		return 0, nil
	}
	if requested > limit {
		return 0, &SpanError{Requested: requested, Max: limit, Anonymous: c.Anonymous}
	}
	return limit, nil
}

// enter counts a request of c that waits on a broker fetch (its own or
// one it shares) until release, and refuses one beyond c's in-flight
// limit.
func (b *budget) enter(c Client) (release func(), err error) {
	if c.isHost() {
		return func() {}, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cb := b.client(c, b.now())
	most := clientInflightUser
	if c.Anonymous {
		most = clientInflightAnonymous
	}
	if cb.inflight >= most {
		return nil, &BudgetError{Scope: ScopeClient, RetryAfter: time.Second}
	}
	cb.inflight++
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		cb.inflight--
		cb.seen = b.now()
	}, nil
}

// fetch admits one broker fetch led by c that covers days of market
// time: it takes one of the host's fetch slots — at once or not at all for
// an anonymous client, within QueueWait for a signed-in one — until
// release, and charges the days to c's rate (and for an anonymous client
// to the anonymous total). A refusal charges nothing. The host's own
// fetches are not limited.
func (b *budget) fetch(ctx context.Context, c Client, days int) (release func(), err error) {
	if c.isHost() {
		return func() {}, nil
	}
	// Check the rates first, so a client out of budget never waits for a
	// slot; charge them only once the slot is held (a token taken cannot
	// be given back once time has passed).
	if err := b.charge(c, days, true); err != nil {
		return nil, err
	}
	release, err = b.slot(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := b.charge(c, days, false); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// charge takes days tokens from c's rate and, for an anonymous client,
// from the anonymous total, or refuses with the wait and takes none;
// check only looks.
func (b *budget) charge(c Client, days int, check bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	cb := b.client(c, now)
	own, err := reserve(cb.lim, now, days, ScopeClient)
	if err != nil {
		return err
	}
	var total *rate.Reservation
	if c.Anonymous {
		if total, err = reserve(b.anonTotal, now, days, ScopeAnonymous); err != nil {
			cancel(own, now)
			return err
		}
	}
	if check {
		cancel(own, now)
		cancel(total, now)
	}
	return nil
}

// cancel returns a reservation's token, if there is one; only at the
// instant it was made (x/time/rate restores nothing later).
func cancel(r *rate.Reservation, now time.Time) {
	if r != nil {
		r.CancelAt(now)
	}
}

// reserve takes n tokens from lim at now (at most its burst: a fetch
// larger than a whole minute's budget may still run, alone), or refuses
// with the wait and takes none; a nil limiter allows everything.
func reserve(lim *rate.Limiter, now time.Time, n int, scope string) (*rate.Reservation, error) {
	if lim == nil {
		return nil, nil
	}
	r := lim.ReserveN(now, min(max(n, 1), lim.Burst()))
	if !r.OK() {
		return nil, &BudgetError{Scope: scope, RetryAfter: time.Minute}
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return nil, &BudgetError{Scope: scope, RetryAfter: d}
	}
	return r, nil
}

// client returns c's entry, creating it; b.mu is held.
func (b *budget) client(c Client, now time.Time) *clientBudget {
	if cb, ok := b.clients[c.ID]; ok {
		return cb
	}
	if len(b.clients) >= maxClients {
		b.prune(now)
	}
	n := b.opts.DaysPerMinuteUser
	if c.Anonymous {
		n = b.opts.DaysPerMinuteAnonymous
	}
	cb := &clientBudget{lim: perMinute(n), seen: now}
	b.clients[c.ID] = cb
	return cb
}

// prune drops clients idle for a minute (their bucket is full again, so
// forgetting them changes nothing), or, when none is, any idle client;
// b.mu is held.
func (b *budget) prune(now time.Time) {
	for id, cb := range b.clients {
		if cb.inflight == 0 && now.Sub(cb.seen) > time.Minute {
			delete(b.clients, id)
		}
	}
	for id, cb := range b.clients {
		if len(b.clients) < maxClients {
			return
		}
		if cb.inflight == 0 {
			delete(b.clients, id)
		}
	}
}

// slot takes one of the host's fetch slots for a fetch led by c (see
// fetch).
func (b *budget) slot(ctx context.Context, c Client) (release func(), err error) {
	var held []*semaphore.Weighted
	release = func() {
		for _, s := range held {
			s.Release(1)
		}
	}
	if c.Anonymous {
		for _, s := range []struct {
			sem   *semaphore.Weighted
			scope string
		}{{b.anonSlots, ScopeAnonymous}, {b.slots, ScopeHost}} {
			if s.sem == nil {
				continue
			}
			if !s.sem.TryAcquire(1) {
				release()
				return nil, &BudgetError{Scope: s.scope, RetryAfter: time.Second}
			}
			held = append(held, s.sem)
		}
		return release, nil
	}
	if b.slots == nil {
		return release, nil
	}
	if b.opts.QueueWait < 0 {
		if !b.slots.TryAcquire(1) {
			return nil, &BudgetError{Scope: ScopeHost, RetryAfter: time.Second}
		}
		held = append(held, b.slots)
		return release, nil
	}
	wctx, cancel := context.WithTimeout(ctx, b.opts.QueueWait)
	defer cancel()
	if err := b.slots.Acquire(wctx, 1); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &BudgetError{Scope: ScopeHost, RetryAfter: time.Second}
	}
	held = append(held, b.slots)
	return release, nil
}
