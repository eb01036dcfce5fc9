package config

import (
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
