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
