package marketdata

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// feed is one key's upstream subscription, ring and subscribers.
type feed struct {
	svc    *Service
	key    Key
	cancel context.CancelFunc

	mu         sync.Mutex
	ring       *ring
	version    uint64
	lastClosed int64 // open time of the newest accepted candle
	ready      bool  // loaded from the store and backfilled once
	tracked    bool
	subs       map[*Subscription]struct{}
}

func newFeed(s *Service, k Key) *feed {
	return &feed{svc: s, key: k, ring: newRing(s.opts.RingSize), subs: make(map[*Subscription]struct{})}
}

// run keeps the feed alive: load recent history from the store, then
// forever (re)connect, backfill the gap and follow the live stream (or
// poll), with jittered exponential backoff between attempts.
func (f *feed) run(ctx context.Context) {
	log := f.svc.log.With("feed", f.key.String())
	if err := f.loadFromStore(ctx); err != nil && ctx.Err() == nil {
		log.Warn("loading recent candles from the store failed", "error", err)
	}
	delay := f.svc.opts.ReconnectBase
	for ctx.Err() == nil {
		start := time.Now()
		err := f.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			delay = f.svc.opts.ReconnectBase // it ran fine for a while: start the backoff over
		}
		log.Warn("candle feed interrupted; reconnecting", "error", err, "in", delay)
		jitter := time.Duration(rand.Int64N(int64(delay)/2 + 1))
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay/2 + jitter):
		}
		delay = min(delay*2, f.svc.opts.ReconnectCap)
	}
}

func (f *feed) loadFromStore(ctx context.Context) error {
	recent, err := f.svc.store.Candles(ctx, f.key.Broker, f.key.Symbol, f.key.Timeframe, 0, 0, f.svc.opts.RingSize)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range recent {
		if c.Time > f.lastClosed {
			f.ring.push(c)
			f.lastClosed = c.Time
		}
	}
	f.version++
	return nil
}

// follow runs one connection: backfill, then stream or poll until error.
func (f *feed) follow(ctx context.Context) error {
	b, err := f.svc.sessions.MarketData(ctx, f.key.Broker)
	if err != nil {
		return err
	}
	// Subscribe before backfilling so nothing closes unseen in between;
	// accept() drops what the backfill already delivered.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := b.SubscribeCandles(sctx, broker.SubscribeRequest{Symbol: f.key.Symbol, Timeframe: f.key.Timeframe})
	streaming := err == nil
	if err != nil && !errors.Is(err, broker.ErrUnsupported) {
		return fmt.Errorf("subscribe: %w", err)
	}
	if streaming {
		f.svc.metrics.UpstreamSubscriptions.Inc()
		defer f.svc.metrics.UpstreamSubscriptions.Dec()
	}
	if err := f.backfill(ctx, b); err != nil {
		return fmt.Errorf("backfill: %w", err)
	}
	f.mu.Lock()
	f.ready = true
	f.mu.Unlock()
	if !streaming {
		return f.poll(ctx, b)
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-events:
			if !ok {
				return errors.New("candle stream ended")
			}
			if ev.Err != nil {
				return ev.Err
			}
			if !ev.Closed {
				continue
			}
			if gapStart := f.nextTime(); gapStart != 0 && ev.Candle.Time > gapStart {
				// The stream skipped candles (reconnect inside the plugin,
				// dropped message): fetch them before going on.
				if err := f.fetchRange(ctx, b, gapStart, ev.Candle.Time); err != nil {
					return fmt.Errorf("gap backfill: %w", err)
				}
			}
			f.accept(market.Series{ev.Candle})
		}
	}
}

// nextTime is the open time of the candle after the newest accepted one,
// or 0 when nothing was accepted yet.
func (f *feed) nextTime() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lastClosed == 0 {
		return 0
	}
	return f.lastClosed + f.key.Timeframe.Seconds()
}

// backfill fetches everything after the newest known candle (or the last
// RingSize timeframes when nothing is known).
func (f *feed) backfill(ctx context.Context, b broker.Broker) error {
	from := f.nextTime()
	if from == 0 {
		latest, ok, err := f.svc.store.LatestCandleTime(ctx, f.key.Broker, f.key.Symbol, f.key.Timeframe)
		if err != nil {
			return err
		}
		if ok {
			from = latest + f.key.Timeframe.Seconds()
		} else {
			from = f.key.Timeframe.Align(f.svc.opts.Now().Unix() - int64(f.svc.opts.RingSize)*f.key.Timeframe.Seconds())
		}
	}
	return f.fetchRange(ctx, b, from, 0)
}

// fetchRange fetches [from, to) (to 0 = now), at most MaxBackfill
// candles, and accepts them.
func (f *feed) fetchRange(ctx context.Context, b broker.Broker, from, to int64) error {
	limit := f.svc.opts.MaxBackfill
	candles, _, err := fetchPages(ctx, b, f.key, from, to, limit)
	if err != nil {
		return err
	}
	f.accept(candles)
	if len(candles) == limit {
		f.svc.log.Warn("gap larger than the backfill limit; the rest follows on the next poll or reconnect", "feed", f.key.String(), "limit", limit)
	}
	return nil
}

// poll asks for new closed candles every PollInterval, for brokers that
// cannot stream.
func (f *feed) poll(ctx context.Context, b broker.Broker) error {
	t := time.NewTicker(f.svc.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if err := f.backfill(ctx, b); err != nil {
				return err
			}
		}
	}
}

// accept takes closed candles in ascending order: it drops ones already
// seen and invalid ones, updates the ring, fans out and queues the rest for
// the store.
func (f *feed) accept(candles market.Series) {
	if len(candles) == 0 {
		return
	}
	fresh := make(market.Series, 0, len(candles))
	rejected := 0
	f.mu.Lock()
	for _, c := range candles {
		if c.Time <= f.lastClosed {
			continue
		}
		if err := c.Validate(f.key.Timeframe); err != nil {
			rejected++
			continue
		}
		f.ring.push(c)
		f.lastClosed = c.Time
		fresh = append(fresh, c)
	}
	if len(fresh) > 0 {
		f.version++
		for sub := range f.subs {
			for _, c := range fresh {
				select {
				case sub.c <- c:
				default:
					sub.mu.Lock()
					sub.dropped++
					sub.mu.Unlock()
				}
			}
		}
	}
	f.mu.Unlock()
	if rejected > 0 {
		f.svc.metrics.CandlesRejected.WithLabelValues(f.key.Broker).Add(float64(rejected))
	}
	if len(fresh) > 0 {
		f.svc.writer.enqueue(f.key, fresh)
	}
}
