// Package marketdata serves candles and instruments to the API.
//
// Current state: reads go straight to the broker plugin (paginated
// GetCandles). The shared candle service — one upstream subscription per
// (broker, symbol, timeframe), an in-memory ring, fan-out, batched
// persistence and gap backfill — is built on top of this type next.
package marketdata

import (
	"context"
	"fmt"
	"time"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// Sessions gives the market-data session of a broker by name.
type Sessions interface {
	MarketData(ctx context.Context, brokerName string) (broker.Broker, error)
}

// Service reads market data from brokers.
type Service struct {
	sessions Sessions
	now      func() time.Time
}

// New returns a Service; now may be nil.
func New(s Sessions, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{sessions: s, now: now}
}

// Instruments lists a broker's instruments.
func (s *Service) Instruments(ctx context.Context, brokerName string) ([]broker.Instrument, error) {
	b, err := s.sessions.MarketData(ctx, brokerName)
	if err != nil {
		return nil, err
	}
	return b.Instruments(ctx)
}

// maxPages bounds one request's pagination so a wide range cannot hold a
// request for long.
const maxPages = 200

// Candles returns up to limit closed candles, ascending. With from set it
// returns the first limit candles at or after from (and before to, when
// set); without, the latest limit candles before to (or now).
func (s *Service) Candles(ctx context.Context, brokerName, symbol string, tf market.Timeframe, from, to int64, limit int) (market.Series, error) {
	b, err := s.sessions.MarketData(ctx, brokerName)
	if err != nil {
		return nil, err
	}
	if from != 0 {
		return fetch(ctx, b, symbol, tf, from, to, limit, false)
	}
	// Latest candles: look back far enough for limit candles, widening the
	// window when closed markets (weekends) leave gaps.
	span := int64(limit) * tf.Seconds()
	end := to
	if end == 0 {
		end = s.now().Unix()
	}
	var out market.Series
	for attempt := 0; attempt < 4; attempt++ {
		out, err = fetch(ctx, b, symbol, tf, tf.Align(end-span), to, 0, true)
		if err != nil || len(out) >= limit {
			break
		}
		span *= 3
	}
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, err
}

func fetch(ctx context.Context, b broker.Broker, symbol string, tf market.Timeframe, from, to int64, limit int, all bool) (market.Series, error) {
	var out market.Series
	token := ""
	for page := 0; page < maxPages; page++ {
		p, err := b.Candles(ctx, broker.CandlesRequest{Symbol: symbol, Timeframe: tf, From: from, To: to, PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, fmt.Errorf("candles %s %s: %w", symbol, tf, err)
		}
		out = append(out, p.Candles...)
		if (!all && len(out) >= limit) || p.NextPageToken == "" {
			break
		}
		token = p.NextPageToken
	}
	if !all && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
