package httpapi_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/hashicorp/go-hclog"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/host/internal/metrics"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/market"
)

// budgetMarkets serves the candle routes from a real candle service (the
// paper plugin process, the store), the way `stc serve` wires it.
type budgetMarkets struct {
	noMarkets
	data *marketdata.Service
}

func (m budgetMarkets) Candles(ctx context.Context, c marketdata.Client, b, s string, tf market.Timeframe, from, to int64, limit int) (market.Series, error) {
	return m.data.CandlesFor(ctx, c, b, s, tf, from, to, limit)
}

func (m budgetMarkets) CandleVersion(b, s string, tf market.Timeframe) (uint64, bool) {
	return m.data.Version(marketdata.Key{Broker: b, Symbol: s, Timeframe: tf})
}

// fetched is how many broker fetches the service made.
func fetched(t *testing.T, met *metrics.Metrics) int {
	t.Helper()
	var m dto.Metric
	require.NoError(t, met.CandleFetches.WithLabelValues("fetched").Write(&m))
	return int(m.GetCounter().GetValue())
}

// The probe's request — 5,000 daily candles, no token — is refused up
// front as too wide for an anonymous client (it cost the paper broker
// 11–16 s of two cores, every time); a client that spent its broker
// fetches gets 429 with Retry-After while what is stored is still
// served; a signed-in client has the larger budget, and a bad token is
// refused rather than treated as anonymous.
func TestCandleRequestsHaveAMarketDataBudget(t *testing.T) {
	st := storetest.OpenPostgres(t)
	met := metrics.New()
	e := newEnv(t, st, noLimits)
	// A candle service with a small budget on the env's paper plugin, and
	// the router again around it.
	data := marketdata.New(e.plugins, marketdata.FromStore(st), met, hclog.NewNullLogger(), marketdata.Options{
		Budget: marketdata.Budget{DaysPerMinuteAnonymous: 2 * 366},
	})
	t.Cleanup(func() { require.NoError(t, data.Close(context.Background())) })
	e.h = httpapi.New(httpapi.Deps{Markets: budgetMarkets{data: data}, Plugins: noPlugins{}, Users: e.users, Billing: e.billing,
		Limits: noLimits, Metrics: metrics.New(), Log: hclog.NewNullLogger()})
	alice := e.register("alice")

	// 2020-01-21: the paper history begins on 2020-01-01, so these cost
	// the broker little however many candles they ask for.
	const early = "&to=1579564800"
	r := e.call("GET", "/api/v2/candles?broker=paper&symbol=EURUSD-OTC&timeframe=1d&limit=5000", "", "")
	require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
	assert.Equal(t, "candle_span_too_large", r.errorCode())
	details := jsonObj(t, jsonObj(t, r.JSON["error"])["details"])
	assert.InDelta(t, 366, details["max_days"], 0)
	assert.InDelta(t, 5000, details["requested_days"], 0)
	r = e.call("GET", "/api/iq/candles?symbol=EURUSD&timeframe=1d&count=5000", "", "")
	assert.Equal(t, "candle_span_too_large", r.errorCode(), "the legacy route has the same budget: %s", r.Raw)
	assert.Zero(t, fetched(t, met), "refused before any broker call")

	// Two years of daily candles a minute from this address.
	for _, sym := range []string{"EURUSD-OTC", "GBPUSD-OTC"} {
		r = e.call("GET", "/api/v2/candles?broker=paper&symbol="+sym+"&timeframe=1d&limit=366"+early, "", "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		assert.Len(t, r.JSON["candles"], 20)
	}
	r = e.call("GET", "/api/v2/candles?broker=paper&symbol=USDJPY-OTC&timeframe=1d&limit=366"+early, "", "")
	require.Equal(t, http.StatusTooManyRequests, r.Status, r.Raw)
	assert.Equal(t, "market_data_rate_limited", r.errorCode())
	assert.Equal(t, "client", jsonObj(t, jsonObj(t, r.JSON["error"])["details"])["scope"])
	wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After: %q", r.Header.Get("Retry-After"))
	assert.Positive(t, wait)
	assert.LessOrEqual(t, wait, 60)
	assert.Equal(t, 2, fetched(t, met))
	// What was fetched is served again, from the store, budget or not.
	r = e.call("GET", "/api/v2/candles?broker=paper&symbol=GBPUSD-OTC&timeframe=1d&limit=366"+early, "", "")
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Len(t, r.JSON["candles"], 20)
	assert.Equal(t, 2, fetched(t, met))

	// Signed in: a budget of its own, and 1,000 daily candles at once.
	r = e.call("GET", "/api/v2/candles?broker=paper&symbol=USDJPY-OTC&timeframe=1d&limit=1000"+early, alice.token, "")
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Len(t, r.JSON["candles"], 20)
	r = e.call("GET", "/api/v2/candles?broker=paper&symbol=USDJPY-OTC&timeframe=1d&limit=1000"+early, alice.readKey, "")
	require.Equal(t, http.StatusOK, r.Status, "an API key of any scope signs in: %s", r.Raw)
	// 20 of 1,000: the service looked back 1,000 days, then 3,000, then
	// the signed-in maximum of 3,660 — each stretch fetched once.
	assert.Equal(t, 5, fetched(t, met))
	r = e.call("GET", "/api/v2/candles?broker=paper&symbol=USDJPY-OTC&timeframe=1d&limit=1000"+early, "stc_s_not-a-real-token", "")
	require.Equal(t, http.StatusUnauthorized, r.Status, r.Raw)
	assert.Equal(t, "unauthenticated", r.errorCode())
	r = e.call("GET", "/api/v2/candles?broker=paper&symbol=USDJPY-OTC&timeframe=1d&limit=5000", alice.token, "")
	assert.Equal(t, "candle_span_too_large", r.errorCode(), "signed-in clients have a limit too: %s", r.Raw)
}
