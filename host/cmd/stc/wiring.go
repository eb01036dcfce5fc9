package main

import (
	"context"

	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/market"
)

// candleStore adapts the store to the candle service's consumer interface.
type candleStore struct{ s *store.Store }

func (c candleStore) InsertCandles(ctx context.Context, b, sym string, tf market.Timeframe, cs market.Series) (marketdata.WriteResult, error) {
	r, err := c.s.InsertCandles(ctx, b, sym, tf, cs)
	return marketdata.WriteResult{Inserted: r.Inserted, Duplicates: r.Duplicates, Rejected: r.Rejected}, err
}

func (c candleStore) Candles(ctx context.Context, b, sym string, tf market.Timeframe, from, to int64, limit int) (market.Series, error) {
	return c.s.Candles(ctx, b, sym, tf, from, to, limit, store.OrderAuto)
}

func (c candleStore) LatestCandleTime(ctx context.Context, b, sym string, tf market.Timeframe) (int64, bool, error) {
	return c.s.LatestCandleTime(ctx, b, sym, tf)
}
