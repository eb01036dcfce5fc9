package marketdata

import (
	"context"
	"fmt"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// Instruments lists a broker's instruments, live.
func (s *Service) Instruments(ctx context.Context, brokerName string) ([]broker.Instrument, error) {
	b, err := s.sessions.MarketData(ctx, brokerName)
	if err != nil {
		return nil, err
	}
	return b.Instruments(ctx)
}

// Candles answers a history query: from memory when the key's feed holds
// the range, else from the store; when the store lacks the range too (a
// key nobody tracks), from the broker, and what was fetched is stored.
func (s *Service) Candles(ctx context.Context, brokerName, symbol string, tf market.Timeframe, from, to int64, limit int) (market.Series, error) {
	k := Key{Broker: brokerName, Symbol: symbol, Timeframe: tf}
	if err := s.validKey(k); err != nil {
		return nil, err
	}
	if from == 0 && to == 0 {
		if out, _, ok := s.Recent(k, limit); ok {
			s.metrics.CacheRequests.WithLabelValues("candles", "hit").Inc()
			return out, nil
		}
	}
	s.metrics.CacheRequests.WithLabelValues("candles", "miss").Inc()
	stored, err := s.store.Candles(ctx, brokerName, symbol, tf, from, to, limit)
	if err != nil {
		return nil, fmt.Errorf("stored candles: %w", err)
	}
	if len(stored) >= limit {
		return stored, nil
	}
	fetched, err := s.readThrough(ctx, k, from, to, limit)
	if err != nil {
		if len(stored) > 0 {
			return stored, nil // the broker is down: serve what we have
		}
		return nil, err
	}
	if len(fetched) > len(stored) {
		s.writer.enqueue(k, fetched)
		return fetched, nil
	}
	return stored, nil
}

// readThrough fetches candles straight from the broker.
func (s *Service) readThrough(ctx context.Context, k Key, from, to int64, limit int) (market.Series, error) {
	b, err := s.sessions.MarketData(ctx, k.Broker)
	if err != nil {
		return nil, err
	}
	if from != 0 {
		return fetchPages(ctx, b, k, from, to, limit, false)
	}
	// The latest candles: look back far enough, widening the window when
	// closed markets (weekends) leave gaps.
	span := int64(limit) * k.Timeframe.Seconds()
	end := to
	if end == 0 {
		end = s.opts.Now().Unix()
	}
	var out market.Series
	for attempt := 0; attempt < 4; attempt++ {
		out, err = fetchPages(ctx, b, k, k.Timeframe.Align(end-span), to, 0, true)
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

// maxPages bounds one fetch so a wide range cannot hold a caller for long.
const maxPages = 200

// fetchPages pages through [from, to) (to 0 = now): the first limit
// candles, or with all every candle up to maxPages pages.
func fetchPages(ctx context.Context, b broker.Broker, k Key, from, to int64, limit int, all bool) (market.Series, error) {
	var out market.Series
	token := ""
	for page := 0; page < maxPages; page++ {
		p, err := b.Candles(ctx, broker.CandlesRequest{Symbol: k.Symbol, Timeframe: k.Timeframe, From: from, To: to, PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, fmt.Errorf("candles %s: %w", k, err)
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
