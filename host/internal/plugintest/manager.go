package plugintest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/sdk/plugin"
)

// raceEnv is GORACE for race-built plugins: the race runtime otherwise
// sleeps a second at every exit, and a race in a plugin must crash it so
// that the test sees it fail.
const raceEnv = "atexit_sleep_ms=0 halt_on_error=1"

// Options shape the plugin manager Manager starts. The zero value runs
// every plugin of the directory with only the fixture's variables.
type Options struct {
	// Env adds variables to a plugin's environment, by catalog key
	// ("broker/paper", "strategy/rsi"). A key that names no plugin of the
	// directory fails the test: a typo would otherwise drop the variables
	// silently. Set plugin.DataDirEnv here to choose a plugin's data
	// directory (to read what it wrote, or to keep it across a host
	// restart); it overrides a plugin's older per-plugin variable such as
	// STC_PAPER_DATA_DIR, as it does under `stc serve`.
	Env map[string]map[string]string
	// Log is the manager's logger; nil discards its log.
	Log hclog.Logger
	// Manager tunes the plugin manager (CallTimeout, BackoffCap, OnEvent,
	// …) and is passed on as is, with two exceptions. Its Env, when set,
	// is each plugin's base environment (for example a
	// pluginsettings.Resolution's), which Env above extends. Its
	// SocketDir, when empty, is a fresh directory that Manager removes
	// after the test.
	Manager pluginmgr.Options
}

// Manager starts a plugin manager over the plugins Build put in dir, the
// way `stc serve` does, and closes it when the test ends. Every plugin
// gets, besides Options.Env:
//
//   - plugin.DataDirEnv: a fresh directory of its own, as the host hands
//     every plugin one, unless Options sets it;
//   - GORACE, when the plugins are race-built, so that they exit at once
//     and a race crashes them.
//
// The socket directory is short (os.MkdirTemp, not t.TempDir), since a
// Unix socket path has at most 107 bytes. Closing the manager before the
// test ends (a host restart) is fine: the cleanup then finds it closed.
// A plugin the catalog does not trust fails the test, rather than being
// missing from it.
func Manager(t testing.TB, dir string, o Options) *pluginmgr.Manager {
	t.Helper()
	m, err := newManager(t, dir, o)
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	return m
}

func newManager(t testing.TB, dir string, o Options) (*pluginmgr.Manager, error) {
	found, err := catalog.Discover(dir)
	if err != nil {
		return nil, err
	}
	if len(found.Problems) > 0 {
		return nil, fmt.Errorf("untrusted plugins in %s: %w", dir, errors.Join(problems(found.Problems)...))
	}
	dataDirs := make(map[string]string, len(found.Entries))
	root := t.TempDir()
	for _, e := range found.Entries {
		d := filepath.Join(root, e.Kind.String()+"-"+e.Name)
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, err
		}
		dataDirs[e.Key()] = d
	}
	for key := range o.Env {
		if _, ok := dataDirs[key]; !ok {
			return nil, fmt.Errorf("Options.Env names %q, which is not a plugin in %s (have %v)",
				key, dir, slices.Sorted(maps.Keys(dataDirs)))
		}
	}
	opts := o.Manager
	base := opts.Env
	opts.Env = func(e catalog.Entry) map[string]string {
		env := map[string]string{plugin.DataDirEnv: dataDirs[e.Key()]}
		if base != nil {
			maps.Copy(env, base(e))
		}
		maps.Copy(env, o.Env[e.Key()])
		if raceEnabled {
			env["GORACE"] = raceEnv
		}
		return env
	}
	if opts.SocketDir == "" {
		sock, err := os.MkdirTemp("", "stcpt") //nolint:usetesting // t.TempDir paths are too long for Unix sockets
		if err != nil {
			return nil, err
		}
		// Registered before the manager's cleanup, so it runs after it.
		t.Cleanup(func() { _ = os.RemoveAll(sock) })
		opts.SocketDir = sock
	}
	m, err := pluginmgr.New(found.Entries, o.Log, opts)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil {
			t.Errorf("plugintest: close the plugin manager: %v", err)
		}
	})
	return m, nil
}

func problems(ps []catalog.Problem) []error {
	out := make([]error, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}
