package paper

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/plugin"
)

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestConfigFromEnvDefaults(t *testing.T) {
	cfg, err := ConfigFromEnv(envOf(nil))
	require.NoError(t, err)
	assert.Equal(t, Config{DataDir: "./data/paper", TimeScale: 1, Seed: 1, SecondFactorCode: "000000"}, cfg)
}

func TestConfigFromEnvOverrides(t *testing.T) {
	cfg, err := ConfigFromEnv(envOf(map[string]string{
		"STC_PAPER_DATA_DIR":    "/var/lib/stc/paper",
		"STC_PAPER_TIME_SCALE":  "60",
		"STC_PAPER_SEED":        "18446744073709551615",
		"STC_PAPER_REQUIRE_2FA": "true",
		"STC_PAPER_2FA_CODE":    "123456",
	}))
	require.NoError(t, err)
	assert.Equal(t, Config{DataDir: "/var/lib/stc/paper", TimeScale: 60, Seed: 18446744073709551615, Require2FA: true, SecondFactorCode: "123456"}, cfg)
}

func TestConfigFromEnvDataDir(t *testing.T) {
	cfg, err := ConfigFromEnv(envOf(map[string]string{"STC_PLUGIN_DATA_DIR": "/srv/stc/paper", "STC_PAPER_DATA_DIR": "/old/place"}))
	require.NoError(t, err)
	assert.Equal(t, "/srv/stc/paper", cfg.DataDir, "the host's generic data directory wins over the older name")
	cfg, err = ConfigFromEnv(envOf(map[string]string{"STC_PAPER_DATA_DIR": "/old/place"}))
	require.NoError(t, err)
	assert.Equal(t, "/old/place", cfg.DataDir, "the older name still works")
}

// TestSettingsAreValid: the declarations GetInfo sends pass the SDK's own
// check, so the plugin serves (an invalid list is refused at start).
func TestSettingsAreValid(t *testing.T) {
	require.NoError(t, plugin.CheckSettings(Settings))
}

func TestConfigFromEnvRejects(t *testing.T) {
	tests := []struct {
		key, value, want string
	}{
		{"STC_PAPER_TIME_SCALE", "0", `STC_PAPER_TIME_SCALE="0": must be at least 0.001`},
		{"STC_PAPER_TIME_SCALE", "-2", "STC_PAPER_TIME_SCALE"},
		{"STC_PAPER_TIME_SCALE", "86401", `STC_PAPER_TIME_SCALE="86401": must be at most 86400`},
		{"STC_PAPER_TIME_SCALE", "fast", "STC_PAPER_TIME_SCALE"},
		{"STC_PAPER_TIME_SCALE", "NaN", "STC_PAPER_TIME_SCALE"},
		{"STC_PAPER_TIME_SCALE", "+Inf", "STC_PAPER_TIME_SCALE"},
		{"STC_PAPER_SEED", "-1", "STC_PAPER_SEED"},
		{"STC_PAPER_REQUIRE_2FA", "maybe", "STC_PAPER_REQUIRE_2FA"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			_, err := ConfigFromEnv(envOf(map[string]string{tt.key: tt.value}))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := New(Config{})
	require.ErrorContains(t, err, "DataDir")
	_, err = New(Config{DataDir: t.TempDir(), TimeScale: -1})
	require.ErrorContains(t, err, "TimeScale")
}

func TestDataDirIsLocked(t *testing.T) {
	dir := t.TempDir()
	clk := newFakeClock(wednesdayNoon())
	m := newMarket(t, dir, clk)
	_, err := New(Config{DataDir: dir, Now: clk.Now})
	require.ErrorContains(t, err, "in use")
	require.NoError(t, m.Close())
	m2, err := New(Config{DataDir: dir, Now: clk.Now})
	require.NoError(t, err)
	require.NoError(t, m2.Close())
}

func TestClockScaleAndMonotone(t *testing.T) {
	start := wednesdayNoon()
	clk := newFakeClock(start)
	m := newMarket(t, t.TempDir(), clk, func(c *Config) { c.TimeScale = 60 })
	assert.Equal(t, start, m.Now(), "market time starts at the wall time")
	clk.Advance(1500 * time.Millisecond)
	assert.Equal(t, start.Add(90*time.Second), m.Now(), "60× scale")
	clk.Advance(-time.Second) // wall clock stepped back
	assert.Equal(t, start.Add(90*time.Second), m.Now(), "market time never goes backwards")
}

func TestClockResumesFromMarkAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	start := wednesdayNoon()
	clk := newFakeClock(start)
	fast := func(c *Config) { c.TimeScale = 3600 }
	m, err := New(Config{DataDir: dir, TimeScale: 3600, Now: clk.Now})
	require.NoError(t, err)
	clk.Advance(2 * time.Second) // two market hours
	ahead := m.Now()
	require.Equal(t, start.Add(2*time.Hour), ahead)
	require.NoError(t, m.Close())

	m2 := newMarket(t, dir, clk, fast)
	assert.False(t, m2.Now().Before(ahead), "a restart must not move market time back to the wall clock")

	// At scale 1 the mark never runs ahead, so market time is wall time.
	dir1 := t.TempDir()
	m3, err := New(Config{DataDir: dir1, Now: clk.Now})
	require.NoError(t, err)
	require.NoError(t, m3.Close())
	clk.Advance(time.Minute)
	m4 := newMarket(t, dir1, clk)
	assert.Equal(t, clk.Now(), m4.Now())
}
