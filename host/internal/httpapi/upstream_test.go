package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/host/internal/metrics"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
)

// failingMarkets fails every call with err, as the plugin manager's
// errors read: they name the plugin process and its socket.
type failingMarkets struct{ err error }

func (f failingMarkets) Symbols(context.Context, string) (SymbolList, error) {
	return SymbolList{}, f.err
}

func (f failingMarkets) Candles(context.Context, marketdata.Client, string, string, market.Timeframe, int64, int64, int) (market.Series, error) {
	return nil, f.err
}

func (failingMarkets) CandleVersion(string, string, market.Timeframe) (uint64, bool) { return 0, false }

type failingPlugins struct{ err error }

func (failingPlugins) Strategies(context.Context) ([]plugin.Info, error) { return nil, nil }
func (f failingPlugins) Ready(context.Context) error                     { return f.err }
func (f failingPlugins) Brokers(context.Context) ([]plugin.Info, error)  { return nil, f.err }
func (failingPlugins) Status() []pluginmgr.PluginStatus                  { return nil }

// internals are the details the plugin manager's errors carry.
var internals = []string{"pid", "4242", "/var/lib/stc", "plugin3189", "rpc error", "dial unix", "signal: killed"}

// Anonymous error answers carry a stable code and a fixed message; the
// plugin's pid and socket path, which the error text names, go to the log
// only.
func TestUpstreamErrorsKeepInternalsInTheLog(t *testing.T) {
	socket := errors.New(`rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix /var/lib/stc/run/plugin3189: connect: connection refused"`)
	cases := map[string]struct {
		err    error
		status int
		code   string
	}{
		"died during the call": {fmt.Errorf("candles paper/EURUSD-OTC/1m: %w",
			fmt.Errorf("%w: broker/paper (pid 4242) died during the call: %w", pluginmgr.ErrPluginExited, socket)), 502, "broker_unavailable"},
		"timed out": {fmt.Errorf("candles paper/EURUSD-OTC/1m: broker/paper (pid 4242): call timed out (3 in a row): %w",
			context.DeadlineExceeded), 504, "broker_timeout"},
		"breaker open": {fmt.Errorf("%w: broker/paper has failed: plugin process exited (pid 4242, signal: killed)",
			pluginmgr.ErrPluginUnavailable), 503, "broker_unavailable"},
		"anything else": {fmt.Errorf("stored candles: %w", socket), 502, "broker_unavailable"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			s := &Server{cache: newCandleCache(16), markets: failingMarkets{c.err}, plugins: failingPlugins{c.err},
				metrics: metrics.New(), log: hclog.New(&hclog.LoggerOptions{Output: &logs})}
			h := s.routes()
			for _, url := range []string{
				"/api/v2/candles?broker=paper&symbol=EURUSD-OTC&timeframe=1m",
				"/api/v2/symbols?broker=paper",
				"/api/iq/candles?symbol=EURUSD-OTC",
				"/api/iq/symbols",
			} {
				rec, body := do(t, h, "GET", url, c.status)
				assert.Equal(t, c.status, rec.Code, url)
				errObj, ok := body["error"].(map[string]any)
				require.True(t, ok, rec.Body.String())
				assert.Equal(t, c.code, errObj["code"], url)
				assert.NotEmpty(t, errObj["message"])
				for _, leak := range internals {
					assert.NotContains(t, rec.Body.String(), leak, url)
				}
			}
			rec, body := do(t, h, "GET", "/readyz", http.StatusServiceUnavailable)
			assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
			errObj, ok := body["error"].(map[string]any)
			require.True(t, ok, rec.Body.String())
			assert.Equal(t, "not_ready", errObj["code"])
			for _, leak := range internals {
				assert.NotContains(t, rec.Body.String(), leak, "/readyz")
			}
			cause, _, _ := strings.Cut(c.err.Error(), ":")
			assert.Contains(t, logs.String(), cause, "the operator still reads the cause in the log")
		})
	}
}

func TestMetricsAccess(t *testing.T) {
	get := func(h http.Handler, path, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if _, api := h.(*API); api { // MetricsServer is not the API
			checkOpenAPI(t, req, nil, rec)
		}
		return rec
	}
	newAPI := func(access MetricsAccess) http.Handler {
		s, _ := newTestServer()
		s.access = access
		return s.routes()
	}
	const token = "metrics-token-0123456789"

	// Development mode: public, as before.
	rec := get(newAPI(MetricsAccess{}), "/metrics", "")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), "stc_upstream_subscriptions")

	// Off on the API (served on a listener of its own, or not at all).
	rec = get(newAPI(MetricsAccess{Off: true}), "/metrics", token)
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.NotContains(t, rec.Body.String(), "stc_upstream")

	// Behind a token.
	h := newAPI(MetricsAccess{Token: token})
	for _, bad := range []string{"", "wrong", token + "x", token[:len(token)-1]} {
		rec = get(h, "/metrics", bad)
		assert.Equal(t, http.StatusUnauthorized, rec.Code, "token %q", bad)
		assert.NotContains(t, rec.Body.String(), "stc_upstream")
	}
	rec = get(h, "/metrics", token)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), "stc_upstream_subscriptions")

	// The metrics listener serves /metrics only.
	srv := MetricsServer(metrics.New(), token)
	assert.Equal(t, http.StatusOK, get(srv, "/metrics", token).Code)
	assert.Equal(t, http.StatusUnauthorized, get(srv, "/metrics", "").Code)
	assert.Equal(t, http.StatusNotFound, get(srv, "/api/v2/plans", token).Code)
	assert.Equal(t, http.StatusOK, get(MetricsServer(metrics.New(), ""), "/metrics", "").Code)
	assert.True(t, strings.HasPrefix(get(srv, "/", "").Header().Get("Content-Type"), "application/json"))
}
