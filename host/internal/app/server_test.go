package app

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/stc-trading/stc/host/internal/config"
	"github.com/stc-trading/stc/host/internal/metrics"
)

// freeAddr is a loopback address nothing listens on now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// With STC_METRICS_ADDR the metrics have a listener of their own, behind
// the token when one is set, and the API listener does not serve them;
// a production host with neither setting serves them nowhere and says so.
func TestMetricsListener(t *testing.T) {
	const token = "0123456789abcdef0123"
	cfg := config.Defaults()
	cfg.MetricsAddr, cfg.MetricsToken = freeAddr(t), token
	var logs bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &logs})
	access := metricsAccess(cfg, log)
	assert.True(t, access.Off, "not on the API listener")

	srv, err := metricsServer(cfg, metrics.New(), log)
	require.NoError(t, err)
	_, err = metricsServer(cfg, metrics.New(), log)
	require.ErrorContains(t, err, "STC_METRICS_ADDR", "a taken address stops the start")
	ctx, cancel := context.WithCancel(t.Context())
	var g errgroup.Group
	srv.serve(ctx, &g)

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(path, bearer string) (int, string) {
		req, err := http.NewRequestWithContext(t.Context(), "GET", "http://"+cfg.MetricsAddr+path, nil)
		require.NoError(t, err)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	code, body := get("/metrics", token)
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "go_goroutines")
	code, _ = get("/metrics", "")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _ = get("/api/v2/plans", token)
	assert.Equal(t, http.StatusNotFound, code)
	cancel()
	require.NoError(t, g.Wait())
	_, err = net.Dial("tcp", cfg.MetricsAddr)
	assert.Error(t, err, "the listener is closed")

	prod := config.Defaults()
	assert.True(t, metricsAccess(prod, log).Off)
	assert.Contains(t, logs.String(), "/metrics is not served")
	prod.Dev = true
	assert.False(t, metricsAccess(prod, log).Off, "development mode serves them on the API listener")
	none, err := metricsServer(prod, metrics.New(), log)
	require.NoError(t, err)
	assert.Nil(t, none)
}
