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

// BatchWriter is implemented by a Store that can write many keys in one
// transaction; the writer then flushes each broker's keys in one round
// trip instead of one per key.
type BatchWriter interface {
	InsertBatch(ctx context.Context, batch map[Key]market.Series) (WriteResult, error)
}

func (w *writer) flush(ctx context.Context) {
	w.mu.Lock()
	batch := w.pending
	w.pending = make(map[Key]market.Series)
	w.rows = 0
	w.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	bw, ok := w.store.(BatchWriter)
	if !ok {
		for k, candles := range batch {
			res, err := w.store.InsertCandles(ctx, k.Broker, k.Symbol, k.Timeframe, candles)
			w.done(k.Broker, map[Key]market.Series{k: candles}, res, err)
		}
		return
	}
	// One transaction per broker keeps the metrics' broker label exact.
	byBroker := make(map[string]map[Key]market.Series)
	for k, candles := range batch {
		if byBroker[k.Broker] == nil {
			byBroker[k.Broker] = make(map[Key]market.Series)
		}
		byBroker[k.Broker][k] = candles
	}
	for brokerName, part := range byBroker {
		res, err := bw.InsertBatch(ctx, part)
		w.done(brokerName, part, res, err)
	}
}

// done records a write's outcome, or puts the candles back for the next
// flush when it failed (the broker's history would also refill the gap at
// the next start).
func (w *writer) done(brokerName string, part map[Key]market.Series, res WriteResult, err error) {
	if err != nil {
		rows := 0
		w.mu.Lock()
		for k, candles := range part {
			w.pending[k] = append(candles, w.pending[k]...)
			w.rows += len(candles)
			rows += len(candles)
		}
		w.mu.Unlock()
		w.log.Warn("storing candles failed; will retry", "broker", brokerName, "keys", len(part), "candles", rows, "error", err)
		return
	}
	w.metrics.CandlesIngested.WithLabelValues(brokerName).Add(float64(res.Inserted))
	w.metrics.CandlesDuplicate.WithLabelValues(brokerName).Add(float64(res.Duplicates))
	w.metrics.CandlesRejected.WithLabelValues(brokerName).Add(float64(res.Rejected))
}
