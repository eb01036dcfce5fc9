package iqoption_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/plugins/broker/iqoption"
	"github.com/stc-trading/stc/sdk/plugin"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigFromEnvDefaults(t *testing.T) {
	cfg, err := iqoption.ConfigFromEnv(env(nil))
	require.NoError(t, err)
	assert.Equal(t, "https://auth.iqoption.com/api/v2/login", cfg.AuthURL)
	assert.Equal(t, "https://auth.iqoption.com/api/v2/verify/2fa", cfg.VerifyURL)
	assert.Equal(t, "wss://ws.iqoption.com/echo/websocket", cfg.WSURL)
	assert.Equal(t, 15*time.Second, cfg.RequestTimeout)
	assert.Equal(t, 60*time.Second, cfg.TimeSyncTimeout)
	assert.True(t, cfg.HeartbeatReply)
}

func TestConfigFromEnvOverrides(t *testing.T) {
	cfg, err := iqoption.ConfigFromEnv(env(map[string]string{
		"STC_IQOPTION_AUTH_URL": "http://127.0.0.1:9/api/v2/login", "STC_IQOPTION_WS_URL": "ws://127.0.0.1:9/echo/websocket",
		"STC_IQOPTION_REQUEST_TIMEOUT": "3s", "STC_IQOPTION_TIMESYNC_TIMEOUT": "20s", "STC_IQOPTION_HEARTBEAT_REPLY": "false",
		"STC_IQOPTION_DATA_DIR": "/var/lib/stc/iqoption",
	}))
	require.NoError(t, err)
	assert.Equal(t, "/var/lib/stc/iqoption", cfg.DataDir)
	assert.Equal(t, "http://127.0.0.1:9/api/v2/verify/2fa", cfg.VerifyURL)
	assert.Equal(t, 3*time.Second, cfg.RequestTimeout)
	assert.Equal(t, 20*time.Second, cfg.TimeSyncTimeout)
	assert.Equal(t, 10*time.Second, cfg.WatchdogInterval)
	assert.False(t, cfg.HeartbeatReply)
}

func TestConfigFromEnvDataDir(t *testing.T) {
	cfg, err := iqoption.ConfigFromEnv(env(map[string]string{"STC_PLUGIN_DATA_DIR": "/srv/stc/iqoption", "STC_IQOPTION_DATA_DIR": "/old/place"}))
	require.NoError(t, err)
	assert.Equal(t, "/srv/stc/iqoption", cfg.DataDir, "the host's generic data directory wins over the older name")
	cfg, err = iqoption.ConfigFromEnv(env(nil))
	require.NoError(t, err)
	assert.Empty(t, cfg.DataDir, "no journal unless a directory is given")
}

// TestSettingsAreValid: the declarations GetInfo sends pass the SDK's own
// check, so the plugin serves (an invalid list is refused at start).
func TestSettingsAreValid(t *testing.T) {
	require.NoError(t, plugin.CheckSettings(iqoption.Settings))
}

func TestConfigFromEnvRejectsBadValues(t *testing.T) {
	for k, v := range map[string]string{
		"STC_IQOPTION_REQUEST_TIMEOUT": "soon", "STC_IQOPTION_DIAL_TIMEOUT": "-1s", "STC_IQOPTION_HEARTBEAT_REPLY": "maybe",
		"STC_IQOPTION_CATALOG_TTL": "0s",
		"STC_IQOPTION_WS_URL":      "https://ws.iqoption.com/echo/websocket", "STC_IQOPTION_AUTH_URL": "not a url",
	} {
		_, err := iqoption.ConfigFromEnv(env(map[string]string{k: v}))
		assert.Error(t, err, "%s=%s", k, v)
	}
}
