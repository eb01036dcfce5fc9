package pluginsettings

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/plugintest"
	"github.com/stc-trading/stc/sdk/plugin"
)

// shortDir is a temporary directory short enough for plugin sockets.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "stcps") //nolint:usetesting // t.TempDir paths are too long for the plugin sockets under it
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func entries(t *testing.T) []catalog.Entry {
	t.Helper()
	found, err := catalog.Discover(pluginDir)
	require.NoError(t, err)
	require.Len(t, found.Entries, 2, "%v", found.Problems)
	return found.Entries
}

// stcVars keeps the STC_ variables of an environment.
func stcVars(environ []string) map[string]string {
	out := map[string]string{}
	for _, kv := range environ {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "STC_") {
			out[k] = v
		}
	}
	return out
}

// TestRealPluginsGetOnlyWhatTheyDeclare launches real plugin processes the
// way `stc serve` does: each learns its declared settings from the host's
// environment and configuration file, a canary of its own prefix and the
// host's secrets never reach it, and its data directory is its own.
func TestRealPluginsGetOnlyWhatTheyDeclare(t *testing.T) {
	ctx := context.Background()
	data := shortDir(t)
	environ := []string{
		"STC_ENVPROBE_TOKEN=t0k", "STC_ENVPROBE_CANARY=tweet-envprobe", "STC_PAPER_TIME_SCALE=60", "STC_PAPER_CANARY=tweet-paper",
		"STC_ENCRYPTION_KEY=k1:c2VjcmV0", "STC_DATABASE_URL=postgres://secret@db/stc", "STC_PLUGIN_DIR=" + pluginDir,
	}
	res, err := Load(ctx, entries(t), Options{
		DataDir: data, LogLevel: "warn", SocketDir: filepath.Join(data, "run"),
		Sources: Sources{Environ: environ, File: map[string]string{"STC_ENVPROBE_GREETING": "from the file", "STC_ENVPROBE_TOKEN": "loses to the environment"}},
	})
	require.NoError(t, err)
	assert.Len(t, res.Warnings, 2, "the canaries: %v", res.Warnings)

	m := plugintest.Manager(t, pluginDir, plugintest.Options{
		Manager: pluginmgr.Options{Env: res.Env, SocketDir: filepath.Join(data, "run")},
	})

	_, err = m.Strategy(ctx, "envprobe")
	require.NoError(t, err)
	raw, err := os.ReadFile(filepath.Join(data, "strategy-envprobe", "environ.json"))
	require.NoError(t, err, "the real launch writes into its own data directory, created by the host")
	var seen struct {
		Environ  []string          `json:"environ"`
		Settings map[string]string `json:"settings"`
	}
	require.NoError(t, json.Unmarshal(raw, &seen))
	vars := stcVars(seen.Environ)
	delete(vars, plugin.Handshake().MagicCookieKey) // go-plugin's handshake
	assert.Equal(t, map[string]string{
		"STC_PLUGIN_LOG_LEVEL": "warn", "STC_PLUGIN_DATA_DIR": filepath.Join(data, "strategy-envprobe"),
		"STC_ENVPROBE_TOKEN": "t0k", "STC_ENVPROBE_GREETING": "from the file",
	}, vars, "exactly the declared settings the operator set, and the host's two")
	assert.Equal(t, map[string]string{"greeting": "from the file", "token": "t0k", "speed": "1"}, seen.Settings, "what the plugin reads with the SDK")
	assert.NotContains(t, string(raw), "tweet", "the canary")
	assert.NotContains(t, string(raw), "secret", "the host's secrets")

	// The paper broker: its accounts land in <data>/paper, as they always
	// did, and its process has its declared time scale but not the canary.
	_, err = m.MarketData(ctx, "paper")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(data, "paper", "LOCK"))
	require.NoError(t, err, "paper keeps its accounts in the host's STC_PLUGIN_DATA_DIR")
	for _, s := range m.Status() {
		if s.Name != "paper" {
			continue
		}
		environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", s.PID))
		if err != nil {
			t.Logf("cannot read the paper process's environment here: %v", err)
			continue
		}
		vars := stcVars(strings.Split(string(environ), "\x00"))
		assert.Equal(t, "60", vars["STC_PAPER_TIME_SCALE"])
		assert.NotContains(t, vars, "STC_PAPER_CANARY")
		assert.NotContains(t, vars, "STC_ENCRYPTION_KEY")
		assert.Equal(t, filepath.Join(data, "paper"), vars["STC_PLUGIN_DATA_DIR"])
	}
}

// TestBadSettingsStopTheHost: a value the real plugin's declaration
// rejects, and a missing required setting, fail Load before any plugin
// runs for real (and the fingerprint launches leave nothing in the data
// directory).
func TestBadSettingsStopTheHost(t *testing.T) {
	data := shortDir(t)
	_, err := Load(context.Background(), entries(t), Options{
		DataDir: data, LogLevel: "warn", SocketDir: filepath.Join(data, "run"),
		Sources: Sources{Environ: []string{"STC_PAPER_TIME_SCALE=0", "STC_ENVPROBE_SPEED=11"}},
	})
	require.Error(t, err)
	for _, want := range []string{
		`broker/paper: STC_PAPER_TIME_SCALE="0": must be at least 0.001`,
		`strategy/envprobe: STC_ENVPROBE_SPEED="11": must be at most 10`,
		`strategy/envprobe: STC_ENVPROBE_TOKEN: required`,
	} {
		assert.Contains(t, err.Error(), want)
	}
	left, err := os.ReadDir(data)
	require.NoError(t, err)
	for _, e := range left {
		assert.Equal(t, "run", e.Name(), "only the socket directory: no plugin data directory before the settings are good")
	}
}
