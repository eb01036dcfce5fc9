package marketdata

import (
	"context"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/market"
)

// FromStore adapts the host's store to the candle service's Store (and
// BatchWriter).
func FromStore(s *store.Store) Store { return storeAdapter{s} }

type storeAdapter struct{ s *store.Store }

func (a storeAdapter) InsertCandles(ctx context.Context, b, sym string, tf market.Timeframe, c market.Series) (WriteResult, error) {
	r, err := a.s.InsertCandles(ctx, b, sym, tf, c)
	return WriteResult{Inserted: r.Inserted, Duplicates: r.Duplicates, Rejected: r.Rejected}, err
}

func (a storeAdapter) Candles(ctx context.Context, b, sym string, tf market.Timeframe, from, to int64, limit int) (market.Series, error) {
	return a.s.Candles(ctx, b, sym, tf, from, to, limit, store.OrderAuto)
}

func (a storeAdapter) LatestCandleTime(ctx context.Context, b, sym string, tf market.Timeframe) (int64, bool, error) {
	return a.s.LatestCandleTime(ctx, b, sym, tf)
}

// InsertBatch writes many keys in one store transaction.
func (a storeAdapter) InsertBatch(ctx context.Context, batch map[Key]market.Series) (WriteResult, error) {
	in := make([]store.KeyedCandles, 0, len(batch))
	for k, c := range batch {
		in = append(in, store.KeyedCandles{Broker: k.Broker, Symbol: k.Symbol, Timeframe: k.Timeframe, Candles: c})
	}
	r, err := a.s.InsertBatch(ctx, in)
	return WriteResult{Inserted: r.Inserted, Duplicates: r.Duplicates, Rejected: r.Rejected}, err
}
