// Package marketdata is the shared candle service: one upstream
// subscription per (broker, symbol, timeframe) however many bots and API
// clients need it, an in-memory ring of recent candles per key, fan-out of
// closed candles to in-process subscribers, batched persistence, and gap
// backfill from broker history at start and after every reconnect.
//
// Ownership: the Service owns every goroutine it starts (one per running
// feed, one writer); Close stops them and flushes what is unwritten.
package marketdata

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/singleflight"

	"github.com/stc-trading/stc/host/internal/metrics"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// Key names one candle feed.
type Key struct {
	Broker    string
	Symbol    string
	Timeframe market.Timeframe
}

// String renders the key for logs: "paper/EURUSD-OTC/1m".
func (k Key) String() string { return k.Broker + "/" + k.Symbol + "/" + k.Timeframe.String() }

// Sessions gives the market-data session of a broker by name.
type Sessions interface {
	MarketData(ctx context.Context, brokerName string) (broker.Broker, error)
}

// WriteResult counts what a store write did.
type WriteResult struct {
	Inserted, Duplicates, Rejected int
}

// Store persists and serves candles.
type Store interface {
	// InsertCandles stores closed candles, ignoring ones it already has and
	// rejecting invalid ones.
	InsertCandles(ctx context.Context, brokerName, symbol string, tf market.Timeframe, c market.Series) (WriteResult, error)
	// Candles returns stored candles ascending: the first limit at or after
	// from when from > 0, else the latest limit before to (to 0 = no bound).
	Candles(ctx context.Context, brokerName, symbol string, tf market.Timeframe, from, to int64, limit int) (market.Series, error)
	// LatestCandleTime is the newest stored open time of a key.
	LatestCandleTime(ctx context.Context, brokerName, symbol string, tf market.Timeframe) (int64, bool, error)
}

// Options tune the service; zero values take the defaults in comments.
type Options struct {
	RingSize         int           // candles kept in memory per key; default 1000
	PollInterval     time.Duration // for brokers that cannot stream; default 5 s
	FlushInterval    time.Duration // writer flush period; default 500 ms
	FlushRows        int           // flush early at this many pending rows; default 5000
	SubscriberBuffer int           // closed candles buffered per subscriber; default 256
	ReconnectBase    time.Duration // first reconnect delay; default 500 ms
	ReconnectCap     time.Duration // longest reconnect delay; default 30 s
	MaxBackfill      int           // candles fetched to fill one gap at most; default 100,000
	Budget           Budget        // what API clients may make the service fetch (CandlesFor)
	Now              func() time.Time
}

func (o Options) withDefaults() Options {
	if o.RingSize <= 0 {
		o.RingSize = 1000
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 500 * time.Millisecond
	}
	if o.FlushRows <= 0 {
		o.FlushRows = 5000
	}
	if o.SubscriberBuffer <= 0 {
		o.SubscriberBuffer = 256
	}
	if o.ReconnectBase <= 0 {
		o.ReconnectBase = 500 * time.Millisecond
	}
	if o.ReconnectCap <= 0 {
		o.ReconnectCap = 30 * time.Second
	}
	if o.MaxBackfill <= 0 {
		o.MaxBackfill = 100_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("marketdata: service closed")

// Service is the shared candle service. It is safe for concurrent use.
type Service struct {
	sessions Sessions
	store    Store
	metrics  *metrics.Metrics
	log      hclog.Logger
	opts     Options
	writer   *writer
	budget   *budget
	coverage *coverage
	flights  singleflight.Group // broker fetches in flight, by key

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	feeds  map[Key]*feed
	closed bool
}

// New starts a service. Close stops it.
func New(sessions Sessions, store Store, m *metrics.Metrics, log hclog.Logger, opts Options) *Service {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{
		sessions: sessions, store: store, metrics: m, log: log, opts: opts.withDefaults(),
		ctx: ctx, cancel: cancel, feeds: make(map[Key]*feed), coverage: newCoverage(),
	}
	s.budget = newBudget(s.opts.Budget, s.opts.Now)
	s.writer = newWriter(store, m, log.Named("writer"), s.opts)
	s.wg.Go(func() { s.writer.run(ctx) })
	return s
}

// Close stops every feed, then flushes the writer.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("marketdata close: %w", ctx.Err())
	}
}

func (s *Service) validKey(k Key) error {
	if k.Broker == "" || k.Symbol == "" || !k.Timeframe.Valid() {
		return fmt.Errorf("marketdata: invalid key %q", k.String())
	}
	return nil
}

// feedFor returns the key's feed, starting it when needed.
func (s *Service) feedFor(k Key) (*feed, error) {
	if err := s.validKey(k); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	f := s.feeds[k]
	if f == nil {
		f = newFeed(s, k)
		s.feeds[k] = f
		fctx, cancel := context.WithCancel(s.ctx)
		f.cancel = cancel
		s.wg.Go(func() { f.run(fctx) })
	}
	return f, nil
}

// stopIfIdle stops an untracked feed without subscribers.
func (s *Service) stopIfIdle(f *feed) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.mu.Lock()
	idle := !f.tracked && len(f.subs) == 0
	f.mu.Unlock()
	if idle && s.feeds[f.key] == f {
		delete(s.feeds, f.key)
		f.cancel()
	}
}

// Track keeps a key's feed running for good (the operator's tracked set,
// and keys bots need).
func (s *Service) Track(k Key) error {
	f, err := s.feedFor(k)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.tracked = true
	f.mu.Unlock()
	return nil
}

// Tracked lists the running feeds' keys.
func (s *Service) Tracked() []Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Key, 0, len(s.feeds))
	for k := range s.feeds {
		out = append(out, k)
	}
	return out
}

// Subscription delivers a key's closed candles in order. If the consumer
// falls more than the buffer behind, candles are dropped for it alone
// (Dropped counts them); the ring and the store still have them.
type Subscription struct {
	C    <-chan market.Candle
	c    chan market.Candle
	feed *feed
	once sync.Once

	mu      sync.Mutex
	dropped int
}

// Dropped is how many candles this subscriber missed by being slow.
func (sub *Subscription) Dropped() int {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.dropped
}

// Close ends the subscription; the feed stops when nothing else needs it.
func (sub *Subscription) Close() {
	sub.once.Do(func() {
		f := sub.feed
		f.mu.Lock()
		delete(f.subs, sub)
		f.mu.Unlock()
		f.svc.stopIfIdle(f)
	})
}

// Subscribe delivers k's closed candles from now on, starting its feed if
// it is not running.
func (s *Service) Subscribe(k Key) (*Subscription, error) {
	f, err := s.feedFor(k)
	if err != nil {
		return nil, err
	}
	c := make(chan market.Candle, s.opts.SubscriberBuffer)
	sub := &Subscription{C: c, c: c, feed: f}
	f.mu.Lock()
	f.subs[sub] = struct{}{}
	f.mu.Unlock()
	return sub, nil
}

// Recent returns the newest limit closed candles of k from memory and the
// ring's version (it changes whenever a candle closes); ok is false when
// the feed is not running or holds fewer than limit candles.
func (s *Service) Recent(k Key, limit int) (market.Series, uint64, bool) {
	s.mu.Lock()
	f := s.feeds[k]
	s.mu.Unlock()
	if f == nil {
		return nil, 0, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.ready || f.ring.len() < limit {
		return nil, 0, false
	}
	return f.ring.last(limit), f.version, true
}

// Version returns k's ring version and whether its feed is running.
func (s *Service) Version(k Key) (uint64, bool) {
	s.mu.Lock()
	f := s.feeds[k]
	s.mu.Unlock()
	if f == nil {
		return 0, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.version, f.ready
}

// ParseKey parses "broker:symbol:timeframe", e.g. "paper:EURUSD-OTC:1m".
func ParseKey(s string) (Key, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return Key{}, fmt.Errorf("candle key %q: want broker:symbol:timeframe", s)
	}
	tf, err := market.ParseTimeframe(parts[2])
	if err != nil {
		return Key{}, fmt.Errorf("candle key %q: %w", s, err)
	}
	return Key{Broker: parts[0], Symbol: parts[1], Timeframe: tf}, nil
}
