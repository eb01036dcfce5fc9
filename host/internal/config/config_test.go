package config

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	c, err := Load([]string{"-http-addr", "127.0.0.1:9999"}, env(map[string]string{
		"STC_HTTP_ADDR": "127.0.0.1:7000", "STC_PLUGIN_DIR": dir, "STC_PAPER_TIME_SCALE": "60", "STC_PLUGIN_CALL_TIMEOUT": "3s",
	}))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9999", c.HTTPAddr, "flags win over the environment")
	assert.Equal(t, dir, c.PluginDir)
	assert.InDelta(t, 60, c.PaperTimeScale, 0)
	assert.Equal(t, 3*time.Second, c.CallTimeout)
}

func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := Load(nil, env(map[string]string{
		"STC_HTTP_ADDR": "nonsense", "STC_PLUGIN_DIR": "/definitely/not/here", "STC_PAPER_TIME_SCALE": "-1",
		"STC_DATABASE_URL": "mysql://x", "STC_LOG_LEVEL": "loud",
	}))
	require.Error(t, err)
	for _, want := range []string{"STC_HTTP_ADDR", "STC_PLUGIN_DIR", "make build", "STC_PAPER_TIME_SCALE", "STC_DATABASE_URL", "STC_LOG_LEVEL"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/stc.conf"
	require.NoError(t, os.WriteFile(path, []byte("# STC settings\nSTC_HTTP_ADDR=127.0.0.1:7001\nSTC_PLUGIN_DIR=\""+dir+"\"\nSTC_TRACK=paper:EURUSD-OTC:5m\n"), 0o600))

	c, err := Load([]string{"-config", path}, env(nil))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:7001", c.HTTPAddr)
	assert.Equal(t, []string{"paper:EURUSD-OTC:5m"}, c.Track)

	c, err = Load([]string{"-config=" + path}, env(map[string]string{"STC_HTTP_ADDR": "127.0.0.1:7002"}))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:7002", c.HTTPAddr, "the environment wins over the file")

	c, err = Load([]string{"-http-addr", "127.0.0.1:7003"}, env(map[string]string{"STC_CONFIG_FILE": path}))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:7003", c.HTTPAddr, "flags win over everything")

	require.NoError(t, os.WriteFile(path, []byte("STC_HTTP_ADRR=x\n"), 0o600))
	_, err = Load([]string{"-config", path}, env(nil))
	assert.ErrorContains(t, err, "unknown setting STC_HTTP_ADRR")
	_, err = Load([]string{"-config", dir + "/missing"}, env(nil))
	assert.Error(t, err)
}

func TestTrustedProxies(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(nil, env(map[string]string{"STC_PLUGIN_DIR": dir, "STC_TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.7 ,fd00::/8,10.1.2.3/8"}))
	require.NoError(t, err)
	var got []string
	for _, p := range c.TrustedProxies {
		got = append(got, p.String())
	}
	assert.Equal(t, []string{"10.0.0.0/8", "192.0.2.7/32", "fd00::/8", "10.0.0.0/8"}, got, "single addresses are /32 or /128; prefixes are masked")

	c, err = Load(nil, env(map[string]string{"STC_PLUGIN_DIR": dir}))
	require.NoError(t, err)
	assert.Empty(t, c.TrustedProxies, "none by default: X-Forwarded-For is not believed")

	_, err = Load(nil, env(map[string]string{"STC_PLUGIN_DIR": dir, "STC_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `STC_TRUSTED_PROXIES: "proxy.local": want an address or a CIDR prefix`)
}

func TestRetention(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(nil, env(map[string]string{"STC_PLUGIN_DIR": dir}))
	require.NoError(t, err)
	assert.Equal(t, 24*time.Hour, c.IdempotencyTTL)
	assert.Equal(t, 720*time.Hour, c.RetainBillingEvents)
	assert.Equal(t, 720*time.Hour, c.RetainEndedTokens)

	c, err = Load(nil, env(map[string]string{"STC_PLUGIN_DIR": dir,
		"STC_IDEMPOTENCY_TTL": "48h", "STC_RETAIN_BILLING_EVENTS": "2160h", "STC_RETAIN_ENDED_TOKENS": "0s"}))
	require.NoError(t, err)
	assert.Equal(t, 48*time.Hour, c.IdempotencyTTL)
	assert.Equal(t, 2160*time.Hour, c.RetainBillingEvents)
	assert.Zero(t, c.RetainEndedTokens)

	_, err = Load(nil, env(map[string]string{"STC_PLUGIN_DIR": dir,
		"STC_IDEMPOTENCY_TTL": "10m", "STC_RETAIN_BILLING_EVENTS": "24h", "STC_RETAIN_ENDED_TOKENS": "soon"}))
	require.Error(t, err)
	for _, want := range []string{"STC_IDEMPOTENCY_TTL=10m0s: want at least 1h", "STC_RETAIN_BILLING_EVENTS=24h0m0s: want at least 168h", `STC_RETAIN_ENDED_TOKENS="soon"`} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestMarketDataSettings(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(nil, env(map[string]string{"STC_PLUGIN_DIR": dir}))
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, c.MarketDataTimeout)
	assert.Equal(t, 4, c.MarketDataConcurrency)
	assert.Equal(t, CandleBudget{MaxDaysAnon: 366, MaxDaysUser: 3660, FetchDaysAnon: 2000, FetchDaysUser: 20000, FetchDaysAnonTotal: 4000,
		Concurrency: 2, ConcurrencyAnon: 1}, c.Candles)

	path := dir + "/stc.conf"
	require.NoError(t, os.WriteFile(path, []byte("STC_PLUGIN_DIR="+dir+"\nSTC_CANDLES_FETCH_DAYS_ANON=300\n"), 0o600))
	c, err = Load([]string{"-config", path}, env(map[string]string{
		"STC_PLUGIN_MARKETDATA_TIMEOUT": "1m", "STC_PLUGIN_MARKETDATA_CONCURRENCY": "2",
		"STC_CANDLES_MAX_DAYS_ANON": "30", "STC_CANDLES_MAX_DAYS_USER": "-1", "STC_CANDLES_FETCH_DAYS_USER": "5000",
		"STC_CANDLES_FETCH_DAYS_ANON_TOTAL": "-1", "STC_CANDLES_FETCH_CONCURRENCY": "4", "STC_CANDLES_FETCH_CONCURRENCY_ANON": "2",
	}))
	require.NoError(t, err)
	assert.Equal(t, time.Minute, c.MarketDataTimeout)
	assert.Equal(t, 2, c.MarketDataConcurrency)
	assert.Equal(t, CandleBudget{MaxDaysAnon: 30, MaxDaysUser: -1, FetchDaysAnon: 300, FetchDaysUser: 5000, FetchDaysAnonTotal: -1,
		Concurrency: 4, ConcurrencyAnon: 2}, c.Candles, "negative turns a limit off; the file's settings apply too")

	_, err = Load(nil, env(map[string]string{"STC_PLUGIN_DIR": dir,
		"STC_PLUGIN_MARKETDATA_TIMEOUT": "0s", "STC_PLUGIN_MARKETDATA_CONCURRENCY": "0", "STC_CANDLES_FETCH_DAYS_ANON": "0", "STC_CANDLES_MAX_DAYS_USER": "lots"}))
	require.Error(t, err)
	for _, want := range []string{"STC_PLUGIN_MARKETDATA_TIMEOUT must be positive", "STC_PLUGIN_MARKETDATA_CONCURRENCY=0", "STC_CANDLES_*: 0 would refuse", `STC_CANDLES_MAX_DAYS_USER="lots"`} {
		assert.Contains(t, err.Error(), want)
	}
}
