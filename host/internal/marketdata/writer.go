package marketdata

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/stc-trading/stc/host/internal/metrics"
	"github.com/stc-trading/stc/sdk/market"
)

// writer batches closed candles and persists them, so a thousand keys
// closing a candle in the same second cost a few store round trips, not a
// thousand.
type writer struct {
	store   Store
	metrics *metrics.Metrics
	log     hclog.Logger
	opts    Options

	mu      sync.Mutex
	pending map[Key]market.Series
	rows    int
	kick    chan struct{}
}

func newWriter(s Store, m *metrics.Metrics, log hclog.Logger, opts Options) *writer {
	return &writer{store: s, metrics: m, log: log, opts: opts, pending: make(map[Key]market.Series), kick: make(chan struct{}, 1)}
}

func (w *writer) enqueue(k Key, c market.Series) {
	w.mu.Lock()
	w.pending[k] = append(w.pending[k], c...)
	w.rows += len(c)
	full := w.rows >= w.opts.FlushRows
	w.mu.Unlock()
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// run flushes on a timer or when enough rows are pending, and once more
// when ctx ends.
func (w *writer) run(ctx context.Context) {
	t := time.NewTicker(w.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// Final flush on a fresh context: the service is closing, the
			// candles are still worth keeping.
			fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			w.flush(fctx)
			cancel()
			return
		case <-t.C:
			w.flush(ctx)
		case <-w.kick:
			w.flush(ctx)
		}
	}
}

func (w *writer) flush(ctx context.Context) {
	w.mu.Lock()
	batch := w.pending
	w.pending = make(map[Key]market.Series)
	w.rows = 0
	w.mu.Unlock()
	for k, candles := range batch {
		res, err := w.store.InsertCandles(ctx, k.Broker, k.Symbol, k.Timeframe, candles)
		if err != nil {
			// Keep them for the next flush; the broker's history would
			// also refill the gap on the next start.
			w.log.Warn("storing candles failed; will retry", "feed", k.String(), "candles", len(candles), "error", err)
			w.mu.Lock()
			w.pending[k] = append(candles, w.pending[k]...)
			w.rows += len(candles)
			w.mu.Unlock()
			continue
		}
		w.metrics.CandlesIngested.WithLabelValues(k.Broker).Add(float64(res.Inserted))
		w.metrics.CandlesDuplicate.WithLabelValues(k.Broker).Add(float64(res.Duplicates))
		w.metrics.CandlesRejected.WithLabelValues(k.Broker).Add(float64(res.Rejected))
	}
}
