package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/stc-trading/stc/host/internal/config"
	"github.com/stc-trading/stc/host/internal/plugintest"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// pluginDir holds the practice broker and one strategy, built once by
// TestMain with their SHA256SUMS.
var pluginDir string

func TestMain(m *testing.M) {
	os.Exit(plugintest.Main(m, &pluginDir, plugintest.Paper, plugintest.RSI))
}

// hangGuard bounds every wait; it only stops a broken test from hanging.
const hangGuard = 2 * time.Minute

// syncBuffer is the log sink of a host under test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// host is an App running under test.
type host struct {
	t      *testing.T
	app    *App
	base   string
	client *http.Client
	logs   *syncBuffer
	banner *syncBuffer
	stop   context.CancelFunc
	ran    chan error // Run's answer
}

// startApp builds an App on a fresh data directory and dbURL (empty: the
// embedded store), with every plugin of pluginDir, on a port the system
// picks, and runs it. The test stops it with shutdown; a test that fails
// first has it stopped at cleanup.
func startApp(t *testing.T, dbURL string) *host {
	t.Helper()
	// Short: the plugin sockets live under it, and a Unix socket path has
	// at most 107 bytes.
	data, err := os.MkdirTemp("", "stcapp") //nolint:usetesting // t.TempDir paths are too long for the sockets
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(data) })
	cfg := config.Defaults()
	cfg.HTTPAddr, cfg.DataDir, cfg.PluginDir, cfg.DatabaseURL = "127.0.0.1:0", data, pluginDir, dbURL
	cfg.Dev, cfg.LogLevel = true, "info"
	cfg.Track = []string{"paper:EURUSD-OTC:1m"}

	h := &host{
		t: t, logs: &syncBuffer{}, banner: &syncBuffer{}, ran: make(chan error, 1),
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("host log:\n%s", h.logs.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	log := hclog.New(&hclog.LoggerOptions{Name: "stc", Level: hclog.Info, Output: h.logs})
	// GORACE reaches no plugin: a plugin gets only the settings it
	// declares, as under `stc serve`.
	a, err := New(ctx, cfg, WithLogger(log), WithBanner(h.banner), WithEnviron([]string{"GORACE=halt_on_error=1"}))
	require.NoError(t, err)
	h.app, h.base = a, "http://"+a.Addr()
	runCtx, stop := context.WithCancel(context.Background())
	h.stop = stop
	go func() { h.ran <- a.Run(runCtx) }() // awaited by shutdown
	t.Cleanup(func() {
		stop()
		select {
		case <-h.ran: //nolint:errcheck // the test checks Run's answer itself (shutdown)
		case <-time.After(hangGuard): // hang guard only
			t.Errorf("Run did not return within %s of the cancel", hangGuard)
		}
	})
	return h
}

// shutdown cancels Run's context and returns Run's answer.
func (h *host) shutdown() error {
	h.t.Helper()
	h.stop()
	select {
	case err := <-h.ran:
		h.ran <- err // for the cleanup
		return err
	case <-time.After(hangGuard): // hang guard only
		h.t.Fatalf("Run did not return within %s of the cancel", hangGuard)
		return nil
	}
}

// call sends a JSON request with an optional bearer token and decodes
// the answer.
func (h *host) call(method, path, token, body string) (int, map[string]any) {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(h.t.Context(), method, h.base+path, rd)
	require.NoError(h.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := h.client.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	var out map[string]any
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(h.t, json.Unmarshal(raw, &out), "%s %s: %s", method, path, raw)
	}
	return resp.StatusCode, out
}

// register signs a user up and returns the user's id and token.
func (h *host) register(email string) (int64, string) {
	h.t.Helper()
	code, body := h.call("POST", "/api/v2/auth/register", "", `{"email":"`+email+`","password":"correct horse battery"}`)
	require.Equal(h.t, http.StatusCreated, code, "%v", body)
	token, _ := body["token"].(string)
	require.NotEmpty(h.t, token, "%v", body)
	code, body = h.call("GET", "/api/v2/user", token, "")
	require.Equal(h.t, http.StatusOK, code, "%v", body)
	id, err := strconv.ParseInt(fmt.Sprint(body["id"]), 10, 64)
	require.NoError(h.t, err, "%v", body)
	return id, token
}

// pluginPIDs are the plugin processes the supervisor runs now.
func (h *host) pluginPIDs() []int {
	var pids []int
	for _, s := range h.app.plugins.Status() {
		if s.PID > 0 {
			pids = append(pids, s.PID)
		}
	}
	return pids
}

// children are the processes whose parent is this test process.
func children(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	parent := strconv.Itoa(os.Getpid())
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the parenthesised command: state, ppid, ...
		rest := string(stat[bytes.LastIndexByte(stat, ')')+2:])
		if f := strings.Fields(rest); len(f) > 1 && f[1] == parent {
			out = append(out, pid)
		}
	}
	return out
}

// An App on either store serves the API on the port it was given, and
// when Run's context ends Run returns nil with every goroutine it or New
// started ended and every plugin process gone (reaped, not left as a
// zombie).
func TestRunServesAndStopsEverything(t *testing.T) {
	for name, dbURL := range map[string]func(t *testing.T) string{
		"sqlite":   func(*testing.T) string { return "" },
		"postgres": func(t *testing.T) string { return storetest.NewSchema(t).URL },
	} {
		t.Run(name, func(t *testing.T) {
			url := dbURL(t)
			// Goroutines of the test itself (the schema's admin pool) are
			// not the App's.
			before := goleak.IgnoreCurrent()
			h := startApp(t, url)

			code, body := h.call("GET", "/healthz", "", "")
			require.Equal(t, http.StatusOK, code, "%v", body)
			_, token := h.register("alice@example.com")
			code, body = h.call("GET", "/api/v2/strategies", token, "")
			require.Equal(t, http.StatusOK, code, "%v", body)
			code, body = h.call("GET", "/api/v2/candles?broker=paper&symbol=EURUSD-OTC&timeframe=1m&limit=10", "", "")
			require.Equal(t, http.StatusOK, code, "%v", body)
			// The built-in symbol list stands in for an installed broker
			// that is down, never for one the host does not have.
			code, body = h.call("GET", "/api/v2/symbols?broker=paper", "", "")
			require.Equal(t, http.StatusOK, code, "%v", body)
			code, body = h.call("GET", "/api/v2/symbols?broker=nasdaq", "", "")
			require.Equal(t, http.StatusBadRequest, code, "%v", body)
			apiErr, _ := body["error"].(map[string]any)
			assert.Equal(t, "unknown_broker", apiErr["code"], "%v", body)
			assert.Contains(t, h.banner.String(), "STC is listening on http://"+h.app.Addr())
			pids := h.pluginPIDs()
			require.Len(t, pids, 2, "the broker (tracked feed) and the strategy run")

			require.NoError(t, h.shutdown())
			h.client.CloseIdleConnections()
			goleak.VerifyNone(t, before)
			for _, pid := range pids {
				assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "plugin process %d is gone", pid)
			}
			assert.Empty(t, children(t), "no child process outlives Run")
			_, err := net.Dial("tcp", h.app.Addr())
			assert.Error(t, err, "the API listener is closed")
			logs := h.logs.String()
			assert.Contains(t, logs, "STC is up")
			assert.Contains(t, logs, "shutting down")
		})
	}
}

// New fails, releasing what it took, when the API address is taken.
func TestNewFailsOnATakenAddress(t *testing.T) {
	before := goleak.IgnoreCurrent()
	h := startApp(t, "")
	cfg := config.Defaults()
	cfg.HTTPAddr, cfg.DataDir, cfg.PluginDir, cfg.Dev = h.app.Addr(), t.TempDir(), pluginDir, true
	_, err := New(t.Context(), cfg, WithLogger(hclog.NewNullLogger()), WithEnviron(nil))
	require.ErrorContains(t, err, "http server")
	require.NoError(t, h.shutdown())
	h.client.CloseIdleConnections()
	goleak.VerifyNone(t, before)
}
