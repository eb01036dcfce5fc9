package config

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	c, err := Load([]string{"-http-addr", "127.0.0.1:9999"}, env(map[string]string{
		"STC_HTTP_ADDR": "127.0.0.1:7000", "STC_PLUGIN_DIR": dir, "STC_PLUGIN_CALL_TIMEOUT": "3s",
	}))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9999", c.HTTPAddr, "flags win over the environment")
	assert.Equal(t, dir, c.PluginDir)
	assert.Equal(t, 3*time.Second, c.CallTimeout)
	assert.Empty(t, c.Track, "no tracked keys by default: the host names no broker")
}

func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := Load(nil, env(map[string]string{
		"STC_HTTP_ADDR": "nonsense", "STC_PLUGIN_DIR": "/definitely/not/here", "STC_TRACK": "demo:EURUSD",
		"STC_DATABASE_URL": "mysql://x", "STC_LOG_LEVEL": "loud",
	}))
	require.Error(t, err)
	for _, want := range []string{"STC_HTTP_ADDR", "STC_PLUGIN_DIR", "make build", "STC_TRACK", "STC_DATABASE_URL", "STC_LOG_LEVEL"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/stc.conf"
	require.NoError(t, os.WriteFile(path, []byte("# STC settings\nSTC_HTTP_ADDR=127.0.0.1:7001\nSTC_PLUGIN_DIR=\""+dir+"\"\n"+
		"STC_TRACK=demo:EURUSD-OTC:5m\nSTC_ENCRYPTION_KEY=k1:abc\n\n# a plugin's settings\nSTC_DEMO_TIME_SCALE=60\nSTC_DEMO_TOKEN=\"x y\"\n"), 0o600))

	c, err := Load([]string{"-config", path}, env(nil))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:7001", c.HTTPAddr)
	assert.Equal(t, []string{"demo:EURUSD-OTC:5m"}, c.Track)
	assert.Equal(t, "k1:abc", c.EncryptionKey, "secrets may come from the file (never from flags)")
	assert.Equal(t, map[string]string{"STC_DEMO_TIME_SCALE": "60", "STC_DEMO_TOKEN": "x y"}, c.PluginSettings,
		"other STC_ names are plugin settings, checked against the plugins' declarations at start")

	c, err = Load([]string{"-config=" + path}, env(map[string]string{"STC_HTTP_ADDR": "127.0.0.1:7002"}))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:7002", c.HTTPAddr, "the environment wins over the file")

	c, err = Load([]string{"-http-addr", "127.0.0.1:7003"}, env(map[string]string{"STC_CONFIG_FILE": path}))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:7003", c.HTTPAddr, "flags win over everything")

	for _, bad := range []string{"HTTP_ADDR=x", "stc_http_addr=x", "STC_HTTP_ADDR", "STC_CONFIG_FILE=/etc/other.conf"} {
		require.NoError(t, os.WriteFile(path, []byte(bad+"\n"), 0o600))
		_, err = Load([]string{"-config", path}, env(nil))
		assert.ErrorContains(t, err, path+":1:", bad)
	}
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

// Every setting the environment takes may come from the configuration
// file, secrets included (docs/CONFIG.md); names Load does not read are
// left to the plugins' declarations (package pluginsettings refuses a
// name no installed plugin declares).
func TestConfigFileTakesEverySetting(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/stc.conf"
	key := "k1:" + strings.Repeat("A", 43) + "="
	require.NoError(t, os.WriteFile(path, []byte("STC_PLUGIN_DIR="+dir+"\nSTC_DEV=true\nSTC_ENCRYPTION_KEY="+key+
		"\nSTC_RATE_LIMIT_IP=7\nSTC_METRICS_ADDR=127.0.0.1:9100\nSTC_METRICS_TOKEN=0123456789abcdef0123\nSTC_TRUSTED_PROXIES=10.0.0.0/8\n"), 0o600))
	c, err := Load([]string{"-config", path}, env(nil))
	require.NoError(t, err)
	assert.True(t, c.Dev)
	assert.Equal(t, key, c.EncryptionKey)
	assert.Equal(t, 7, c.RateLimitIP)
	assert.Equal(t, "127.0.0.1:9100", c.MetricsAddr)
	assert.Equal(t, "0123456789abcdef0123", c.MetricsToken)
	assert.Len(t, c.TrustedProxies, 1)

	require.NoError(t, os.WriteFile(path, []byte("STC_PLUGIN_DIR="+dir+"\n\nSTC_METRICS_TOKN=x\n"), 0o600))
	c, err = Load([]string{"-config", path}, env(nil))
	require.NoError(t, err)
	assert.Empty(t, c.MetricsToken)
	assert.Equal(t, map[string]string{"STC_METRICS_TOKN": "x"}, c.PluginSettings)
}

// /metrics: public on the API listener in development mode, as before;
// outside it only behind a token; never on the API listener when it has a
// listener of its own.
func TestMetricsSettings(t *testing.T) {
	dir := t.TempDir()
	load := func(m map[string]string) (Config, error) {
		m["STC_PLUGIN_DIR"] = dir
		return Load(nil, env(m))
	}
	for name, c := range map[string]struct {
		env   map[string]string
		onAPI bool
	}{
		"development":                  {map[string]string{"STC_DEV": "true"}, true},
		"development, own listener":    {map[string]string{"STC_DEV": "true", "STC_METRICS_ADDR": "127.0.0.1:9100"}, false},
		"production":                   {map[string]string{}, false},
		"production with a token":      {map[string]string{"STC_METRICS_TOKEN": "0123456789abcdef0123"}, true},
		"production with own listener": {map[string]string{"STC_METRICS_ADDR": "127.0.0.1:9100", "STC_METRICS_TOKEN": "0123456789abcdef0123"}, false},
	} {
		cfg, err := load(c.env)
		require.NoError(t, err, name)
		assert.Equal(t, c.onAPI, cfg.MetricsOnAPI(), name)
	}
	for value, want := range map[string]string{
		"STC_METRICS_ADDR=nonsense":                   "STC_METRICS_ADDR",
		"STC_METRICS_ADDR=127.0.0.1:8080":             "must differ from STC_HTTP_ADDR",
		"STC_METRICS_TOKEN=short":                     "STC_METRICS_TOKEN",
		"STC_METRICS_TOKEN=with a space in the token": "STC_METRICS_TOKEN",
	} {
		k, v, _ := strings.Cut(value, "=")
		_, err := load(map[string]string{k: v})
		assert.ErrorContains(t, err, want, value)
	}
}

// TestHostSettingsListed: every variable Load reads is a host setting, so
// a configuration file line for it is the host's and no plugin can
// declare it; and nothing else is.
func TestHostSettingsListed(t *testing.T) {
	dir := t.TempDir()
	read := map[string]bool{}
	_, err := Load(nil, func(k string) string {
		read[k] = true
		if k == "STC_PLUGIN_DIR" {
			return dir
		}
		return ""
	})
	require.NoError(t, err)
	for k := range read {
		assert.True(t, IsHostSetting(k), "%s is read by Load but not listed as a host setting", k)
	}
	for k := range hostSettings {
		assert.True(t, read[k], "%s is listed as a host setting but Load never reads it", k)
	}
	assert.False(t, IsHostSetting("STC_DEMO_TIME_SCALE"))
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
