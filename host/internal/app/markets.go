package app

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/stc-trading/stc/host/internal/config"
	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/host/internal/metrics"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/symbols"
	"github.com/stc-trading/stc/sdk/market"
)

// symbolsTTL is how long a broker's instrument list is served from the
// cache, and how often the refresher renews the lists asked for.
const symbolsTTL = 5 * time.Minute

// marketsAPI is the market data as the API serves it.
type marketsAPI struct {
	plugins pluginBackend
	data    *marketdata.Service
	syms    *symbols.Service
	metrics *metrics.Metrics
}

// Symbols lists an installed broker's instruments.
func (a marketsAPI) Symbols(ctx context.Context, name string) (httpapi.SymbolList, error) {
	// The built-in list stands in for an installed broker that is down,
	// never for one this host does not have.
	if !a.plugins.hasBroker(name) {
		return httpapi.SymbolList{}, fmt.Errorf("%w %q", httpapi.ErrUnknownBroker, name)
	}
	items, src, err := a.syms.List(ctx, name)
	result := "miss"
	if src == symbols.SourceCache {
		result = "hit"
	}
	a.metrics.CacheRequests.WithLabelValues("symbols", result).Inc()
	return httpapi.SymbolList{Items: items, Source: src}, err
}

// Candles reads history for client c within its budget.
func (a marketsAPI) Candles(ctx context.Context, c marketdata.Client, b, s string, tf market.Timeframe, from, to int64, limit int) (market.Series, error) {
	return a.data.CandlesFor(ctx, c, b, s, tf, from, to, limit)
}

// CandleVersion is the candle service's version of a live key.
func (a marketsAPI) CandleVersion(b, s string, tf market.Timeframe) (uint64, bool) {
	return a.data.Version(marketdata.Key{Broker: b, Symbol: s, Timeframe: tf})
}

// candleBudget turns the configured budget (days; negative: off) into
// the candle service's.
func candleBudget(c config.CandleBudget) marketdata.Budget {
	days := func(n int) time.Duration {
		if n < 0 {
			return -1
		}
		return time.Duration(n) * 24 * time.Hour
	}
	return marketdata.Budget{
		MaxSpanAnonymous: days(c.MaxDaysAnon), MaxSpanUser: days(c.MaxDaysUser),
		DaysPerMinuteAnonymous: c.FetchDaysAnon, DaysPerMinuteUser: c.FetchDaysUser, DaysPerMinuteAnonymousTotal: c.FetchDaysAnonTotal,
		Concurrency: c.Concurrency, ConcurrencyAnonymous: c.ConcurrencyAnon,
	}
}

// trackKeys starts the feeds of the operator's keys and of every key
// stored as tracked (keys bots needed in earlier runs).
func trackKeys(ctx context.Context, db *store.Store, data *marketdata.Service, keys []string, log hclog.Logger) error {
	for _, text := range keys {
		k, err := marketdata.ParseKey(text)
		if err != nil {
			return err
		}
		if _, err := db.TrackSymbol(ctx, k.Broker, k.Symbol, k.Timeframe, "config"); err != nil {
			return err
		}
	}
	tracked, err := db.TrackedSymbols(ctx, "")
	if err != nil {
		return err
	}
	for _, t := range tracked {
		k := marketdata.Key{Broker: t.Broker, Symbol: t.Symbol, Timeframe: t.Timeframe}
		if err := data.Track(k); err != nil {
			log.Warn("cannot track candles", "feed", k.String(), "error", err)
		}
	}
	return nil
}

// tryPath is the request the start banner suggests: the candles of the
// first tracked key, or the API description.
func tryPath(track []string) string {
	if len(track) > 0 {
		if k, err := marketdata.ParseKey(track[0]); err == nil {
			return fmt.Sprintf("/api/v2/candles?broker=%s&symbol=%s&timeframe=%s&limit=100", k.Broker, k.Symbol, k.Timeframe)
		}
	}
	return "/api/openapi.json"
}
