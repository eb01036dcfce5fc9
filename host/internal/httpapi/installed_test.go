package httpapi_test

import (
	"context"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/pluginsettings"
	"github.com/stc-trading/stc/host/internal/store"
)

// processesOf is the env's plugin manager as the API's PluginProcesses;
// newEnv creates the manager after the Deps are tuned, so it is set
// right after.
type processesOf struct{ m *pluginmgr.Manager }

func (p *processesOf) Status() []pluginmgr.PluginStatus { return p.m.Status() }

// newInstalledEnv is newEnv with the plugins wired as `stc serve` wires
// them: their declarations read by launching each plugin once (the
// operator settings taken from environ, "KEY=value"), and the processes
// of the env's own plugin manager.
func newInstalledEnv(t *testing.T, st *store.Store, environ ...string) *env {
	t.Helper()
	found, err := catalog.Discover(pluginDir)
	require.NoError(t, err)
	require.Empty(t, found.Problems)
	sock, err := os.MkdirTemp("", "stcfp") //nolint:usetesting // t.TempDir paths are too long for Unix sockets
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(sock) })
	res, err := pluginsettings.Inspect(context.Background(), found.Entries, pluginsettings.Options{
		DataDir: t.TempDir(), LogLevel: "warn", SocketDir: sock, Sources: pluginsettings.Sources{Environ: environ},
	})
	require.NoError(t, err)
	require.NoError(t, res.Err())
	procs := &processesOf{}
	e := newEnv(t, st, httpapi.RateLimits{PerIP: -1, PerUser: -1, Auth: -1}, func(d *httpapi.Deps) {
		d.Declared, d.Processes = res.Plugins, procs
	})
	procs.m = e.plugins
	return e
}

// admin registers an operator and returns their session token.
func (e *env) admin() string {
	e.t.Helper()
	email := "ops-" + randHex(e.t) + "@example.com"
	_, err := e.users.CreateUser(context.Background(), email, "correct horse battery", "admin")
	require.NoError(e.t, err)
	r := e.call("POST", "/api/v2/auth/login", "", `{"email":"`+email+`","password":"correct horse battery"}`)
	require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
	return jsonStr(e.t, r.JSON["token"])
}

// jsonArr is a JSON array.
func jsonArr(t testing.TB, v any) []any {
	t.Helper()
	a, ok := v.([]any)
	require.True(t, ok, "want a JSON array, got %T %v", v, v)
	return a
}

// jsonFloat is a JSON number.
func jsonFloat(t testing.TB, v any) float64 {
	t.Helper()
	f, ok := v.(float64)
	require.True(t, ok, "want a JSON number, got %T %v", v, v)
	return f
}
