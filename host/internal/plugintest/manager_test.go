package plugintest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/sdk/plugin"
)

// environOf reads the environment a probe wrote to path.
func environOf(t *testing.T, path string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var kvs []string
	require.NoError(t, json.Unmarshal(raw, &kvs))
	env := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// TestManagerEnvironment: each plugin gets the base environment, then
// Options.Env, a data directory of its own unless the test chose one, and
// GORACE exactly when it is race-built; the manager options reach the
// manager.
func TestManagerEnvironment(t *testing.T) {
	ctx := context.Background()
	report := filepath.Join(t.TempDir(), "probea.json")
	chosen := t.TempDir()
	var mu sync.Mutex
	var started []string
	m := Manager(t, pluginDir, Options{
		Env: map[string]map[string]string{
			"strategy/probea": {"STC_OVER": "options", "STC_EXTRA": "x", "STC_PROBE_REPORT": report},
			"strategy/probeb": {plugin.DataDirEnv: chosen},
		},
		Manager: pluginmgr.Options{
			Env: func(e catalog.Entry) map[string]string {
				if e.Name == "probea" {
					return map[string]string{"STC_BASE": "base", "STC_OVER": "base"}
				}
				return nil // a base that has nothing for a plugin
			},
			OnEvent: func(ev pluginmgr.Event) {
				if ev.Type == pluginmgr.EventStarted {
					mu.Lock()
					started = append(started, ev.Name)
					mu.Unlock()
				}
			},
		},
	})
	_, err := m.Strategy(ctx, "probea")
	require.NoError(t, err)
	_, err = m.Strategy(ctx, "probeb")
	require.NoError(t, err)

	a := environOf(t, report)
	assert.Equal(t, "base", a["STC_BASE"])
	assert.Equal(t, "options", a["STC_OVER"], "Options.Env extends the base")
	assert.Equal(t, "x", a["STC_EXTRA"])
	dataA := a[plugin.DataDirEnv]
	require.True(t, filepath.IsAbs(dataA), "probea's data directory %q", dataA)
	assert.FileExists(t, filepath.Join(dataA, "environ.json"), "the probe wrote into the data directory it was given")

	b := environOf(t, filepath.Join(chosen, "environ.json"))
	assert.Equal(t, chosen, b[plugin.DataDirEnv], "Options.Env chooses the data directory")
	assert.NotContains(t, b, "STC_BASE")
	assert.NotContains(t, b, "STC_PROBE_REPORT", "one plugin's variables are its own")
	assert.NotEqual(t, dataA, b[plugin.DataDirEnv])

	for name, env := range map[string]map[string]string{"probea": a, "probeb": b} {
		if raceEnabled {
			assert.Equal(t, raceEnv, env["GORACE"], name)
		} else {
			assert.NotContains(t, env, "GORACE", name)
		}
	}
	mu.Lock()
	assert.ElementsMatch(t, []string{"probea", "probeb"}, started, "Options.Manager.OnEvent")
	mu.Unlock()
}

// TestManagerDefaultDataDirsAreDistinct: two plugins left to the
// fixture's defaults get two directories.
func TestManagerDefaultDataDirsAreDistinct(t *testing.T) {
	reports := t.TempDir()
	m := Manager(t, pluginDir, Options{Env: map[string]map[string]string{
		"strategy/probea": {"STC_PROBE_REPORT": filepath.Join(reports, "a.json")},
		"strategy/probeb": {"STC_PROBE_REPORT": filepath.Join(reports, "b.json")},
	}})
	for _, name := range []string{"probea", "probeb"} {
		_, err := m.Strategy(context.Background(), name)
		require.NoError(t, err)
	}
	a := environOf(t, filepath.Join(reports, "a.json"))[plugin.DataDirEnv]
	b := environOf(t, filepath.Join(reports, "b.json"))[plugin.DataDirEnv]
	assert.DirExists(t, a)
	assert.DirExists(t, b)
	assert.NotEqual(t, a, b)
}

// TestManagerClosesAtCleanup: when the test ends, the plugin processes
// are gone, the manager is closed and the short socket directory the
// fixture made is removed; a test that closed the manager itself (a host
// restart) ends cleanly too.
func TestManagerClosesAtCleanup(t *testing.T) {
	var m *pluginmgr.Manager
	var pid int
	var socks string
	t.Run("running", func(t *testing.T) {
		report := filepath.Join(t.TempDir(), "probea.json")
		m = Manager(t, pluginDir, Options{Env: map[string]map[string]string{"strategy/probea": {"STC_PROBE_REPORT": report}}})
		_, err := m.Strategy(context.Background(), "probea")
		require.NoError(t, err)
		// go-plugin's socket directory is the manager's private one
		// inside the fixture's.
		socks = filepath.Dir(environOf(t, report)["PLUGIN_UNIX_SOCKET_DIR"])
		require.True(t, strings.HasPrefix(filepath.Base(socks), "stcpt"), "socket directory %q", socks)
		require.DirExists(t, socks)
		for _, s := range m.Status() {
			if s.Name == "probea" {
				pid = s.PID
			}
		}
		require.Positive(t, pid)
		require.NoError(t, syscall.Kill(pid, 0), "the plugin process runs")
	})
	_, err := m.Strategy(context.Background(), "probea")
	require.ErrorIs(t, err, pluginmgr.ErrClosed)
	assert.NoDirExists(t, socks)
	assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "the plugin process is gone")

	t.Run("closed by the test", func(t *testing.T) {
		m := Manager(t, pluginDir, Options{})
		_, err := m.Strategy(context.Background(), "probeb")
		require.NoError(t, err)
		require.NoError(t, m.Close(context.Background()))
	})
}

// TestManagerRefusesMistakes: an Env key that names no plugin, and a
// plugin the catalog does not trust, fail the fixture instead of running
// a test without them.
func TestManagerRefusesMistakes(t *testing.T) {
	_, err := newManager(t, pluginDir, Options{Env: map[string]map[string]string{"strategy/probe": {"STC_X": "1"}}})
	require.ErrorContains(t, err, `"strategy/probe"`)

	dir := t.TempDir()
	raw, err := os.ReadFile(filepath.Join(pluginDir, "stc-strategy-probea"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stc-strategy-probea"), raw, 0o700))
	require.NoError(t, catalog.WriteManifest(dir))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stc-strategy-probeb"), raw, 0o700)) // after the manifest
	_, err = newManager(t, dir, Options{})
	require.ErrorIs(t, err, catalog.ErrNotInManifest)
}
