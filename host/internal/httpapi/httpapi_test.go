package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/host/internal/metrics"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
)

type fakeMarkets struct {
	lastLimit int
	calls     int
	version   uint64
	live      bool
}

func (f *fakeMarkets) Symbols(_ context.Context, b string) (SymbolList, error) {
	if b != "paper" {
		return SymbolList{}, ErrUnknownBroker
	}
	return SymbolList{Items: []broker.Instrument{{Symbol: "EURUSD-OTC", PayoutPercent: 85}}, Source: "live"}, nil
}

func (f *fakeMarkets) Candles(_ context.Context, _ marketdata.Client, b, s string, tf market.Timeframe, from, to int64, limit int) (market.Series, error) {
	if b != "paper" {
		return nil, ErrUnknownBroker
	}
	if s != "EURUSD-OTC" {
		return nil, broker.ErrUnknownInstrument
	}
	f.lastLimit = limit
	f.calls++
	out := make(market.Series, limit)
	for i := range out {
		out[i] = market.Candle{Time: int64(i+1) * 60, Open: 1, High: 2, Low: 0.5, Close: 1.5 + float64(f.version)}
	}
	return out, nil
}

func (f *fakeMarkets) CandleVersion(string, string, market.Timeframe) (uint64, bool) {
	return f.version, f.live
}

type fakePlugins struct{}

func (fakePlugins) Strategies(context.Context) ([]plugin.Info, error) { return nil, nil }
func (fakePlugins) Ready(context.Context) error                       { return nil }
func (fakePlugins) Brokers(context.Context) ([]plugin.Info, error)    { return nil, nil }
func (fakePlugins) Status() []pluginmgr.PluginStatus                  { return nil }

func newTestServer() (*Server, *fakeMarkets) {
	fm := &fakeMarkets{}
	return &Server{cache: newCandleCache(16), markets: fm, plugins: fakePlugins{}, metrics: metrics.New(), log: hclog.NewNullLogger()}, fm
}

func TestOpenAPIMatchesRouter(t *testing.T) {
	s, _ := newTestServer()
	var routes []string
	require.NoError(t, s.routes().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return err
		}
		methods, err := route.GetMethods()
		if err != nil {
			return err
		}
		for _, m := range methods {
			routes = append(routes, strings.ToLower(m)+" "+tpl)
		}
		return nil
	}))
	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(openAPISpec, &spec))
	var documented []string
	for path, ops := range spec.Paths {
		for method := range ops {
			documented = append(documented, method+" "+path)
		}
	}
	sort.Strings(routes)
	sort.Strings(documented)
	assert.Equal(t, routes, documented, "openapi.json and the router must list the same routes")
}

// do sends a request without a body. Any 5xx answer fails the test
// unless its status is among allow5xx (an upstream failure the test
// provokes on purpose): no client input may cause one.
func do(t *testing.T, h http.Handler, method, url string, allow5xx ...int) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, url, nil)
	h.ServeHTTP(rec, req)
	checkOpenAPI(t, req, nil, rec)
	var body map[string]any
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	}
	if rec.Code >= 500 && !slices.Contains(allow5xx, rec.Code) {
		t.Errorf("%s %s answered %d; no client input may cause a 5xx: %s", method, url, rec.Code, rec.Body.String())
	}
	return rec, body
}

func TestClientMistakesGetTheErrorEnvelope(t *testing.T) {
	s, _ := newTestServer()
	h := s.routes()
	tests := map[string]struct {
		url    string
		method string
		status int
		code   string
	}{
		"no broker":          {"/api/v2/symbols", "GET", 400, "validation_failed"},
		"unknown broker":     {"/api/v2/symbols?broker=nope", "GET", 400, "unknown_broker"},
		"bad timeframe":      {"/api/v2/candles?broker=paper&symbol=EURUSD-OTC&timeframe=2m", "GET", 400, "validation_failed"},
		"limit too big":      {"/api/v2/candles?broker=paper&symbol=EURUSD-OTC&timeframe=1m&limit=5001", "GET", 400, "validation_failed"},
		"limit not a number": {"/api/v2/candles?broker=paper&symbol=EURUSD-OTC&timeframe=1m&limit=ten", "GET", 400, "validation_failed"},
		"from after to":      {"/api/v2/candles?broker=paper&symbol=EURUSD-OTC&timeframe=1m&from=200&to=100", "GET", 400, "validation_failed"},
		"unknown symbol":     {"/api/v2/candles?broker=paper&symbol=NOPE&timeframe=1m", "GET", 400, "unknown_symbol"},
		"no such route":      {"/api/v2/nothing", "GET", 404, "not_found"},
		"wrong method":       {"/api/v2/candles", "DELETE", 405, "method_not_allowed"},
		"legacy no symbol":   {"/api/iq/candles", "GET", 400, "validation_failed"},
		"legacy no plugin":   {"/api/iq/candles?symbol=EURUSD", "GET", 503, "broker_not_installed"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var allow []int
			if tc.status >= 500 {
				allow = []int{tc.status} // the iqoption plugin is not installed
			}
			rec, body := do(t, h, tc.method, tc.url, allow...)
			assert.Equal(t, tc.status, rec.Code)
			errObj, ok := body["error"].(map[string]any)
			require.True(t, ok, "body %s", rec.Body.String())
			assert.Equal(t, tc.code, errObj["code"])
			assert.NotEmpty(t, errObj["message"])
		})
	}
}

func TestCandlesAndSymbols(t *testing.T) {
	s, fm := newTestServer()
	h := s.routes()
	rec, body := do(t, h, "GET", "/api/v2/candles?broker=paper&symbol=EURUSD-OTC&timeframe=1m")
	require.Equal(t, 200, rec.Code)
	assert.Equal(t, 100, fm.lastLimit, "limit defaults to 100")
	candles, ok := body["candles"].([]any)
	require.True(t, ok)
	assert.Len(t, candles, 100)

	rec, body = do(t, h, "GET", "/api/v2/symbols?broker=paper")
	require.Equal(t, 200, rec.Code)
	assert.Equal(t, "live", body["source"])

	rec, _ = do(t, h, "GET", "/metrics")
	require.Equal(t, 200, rec.Code)
	assert.Contains(t, rec.Body.String(), `stc_http_request_duration_seconds_count{code="200",method="GET",route="/api/v2/symbols"} 1`)
}

func TestLatestCandlesAreServedFromTheEncodedCache(t *testing.T) {
	s, fm := newTestServer()
	h := s.routes()
	url := "/api/v2/candles?broker=paper&symbol=EURUSD-OTC&timeframe=1m&limit=5"
	fm.live, fm.version = true, 1
	_, first := do(t, h, "GET", url)
	_, second := do(t, h, "GET", url)
	assert.Equal(t, 1, fm.calls, "the second answer comes from the cache")
	assert.Equal(t, first, second)

	fm.version = 2 // a candle closed
	_, third := do(t, h, "GET", url)
	assert.Equal(t, 2, fm.calls)
	assert.NotEqual(t, first, third, "a new version is never answered from the old bytes")

	do(t, h, "GET", url+"&from=60")
	do(t, h, "GET", url+"&from=60")
	assert.Equal(t, 4, fm.calls, "ranges are not cached")

	fm.live = false
	do(t, h, "GET", url)
	assert.Equal(t, 5, fm.calls, "no live feed, no cache")
}
