package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hostProc is a running `stc serve` under test.
type hostProc struct {
	t      testing.TB
	cmd    *exec.Cmd
	base   string
	logs   *syncBuffer
	exited chan error
	done   bool
}

// hostEnv is the environment of a test host on addr with data dir data
// and database url db (empty: the embedded store), plus extra settings.
func hostEnv(addr, data, pluginDir, db string, extra ...string) []string {
	return append([]string{
		"STC_HTTP_ADDR=" + addr, "STC_DATA_DIR=" + data, "STC_PLUGIN_DIR=" + pluginDir,
		"STC_DATABASE_URL=" + db, "STC_TRACK=paper:EURUSD-OTC:1m", "STC_LOG_LEVEL=info", "STC_DEV=true",
		"PATH=" + os.Getenv("PATH"),
	}, extra...)
}

// startHost starts the binary with env and waits until /healthz answers.
func startHost(t testing.TB, bin string, env []string) *hostProc {
	t.Helper()
	var addr string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "STC_HTTP_ADDR="); ok {
			addr = v
		}
	}
	h := &hostProc{t: t, cmd: exec.Command(bin, "serve"), base: "http://" + addr, logs: &syncBuffer{}, exited: make(chan error, 1)}
	h.cmd.Env = env
	h.cmd.Stderr = h.logs
	require.NoError(t, h.cmd.Start())
	go func() { h.exited <- h.cmd.Wait() }()
	t.Cleanup(func() {
		h.kill()
		h.checkNoInternalErrors()
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(h.base + "/healthz") //nolint:noctx // test polling
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return h
			}
		}
		select {
		case err := <-h.exited:
			h.done = true
			t.Fatalf("stc exited during start: %v\n%s", err, h.logs.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "stc did not answer /healthz within 60 s (hang guard)\n%s", h.logs.String())
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (h *hostProc) stop() {
	h.t.Helper()
	if h.done {
		return
	}
	require.NoError(h.t, h.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-h.exited:
		h.done = true
		require.NoError(h.t, err, "graceful shutdown exits 0\n%s", h.logs.String())
	case <-time.After(30 * time.Second):
		h.t.Fatalf("stc did not stop within 30 s of SIGTERM (hang guard)\n%s", h.logs.String())
	}
}

// kill sends SIGKILL (the host gets no chance to clean up) and reaps it.
func (h *hostProc) kill() {
	if h.done {
		return
	}
	_ = h.cmd.Process.Kill()
	<-h.exited //nolint:errcheck // the exit status after a kill says nothing
	h.done = true
}

// checkNoInternalErrors fails the test when the host answered any
// request with a 500, including requests that did not go through call
// (the README walk-through's curl): internalError logs each one at error
// level, and at info level the access log shows its status.
func (h *hostProc) checkNoInternalErrors() {
	for _, line := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(line, "http: request failed") ||
			(strings.Contains(line, "http: request:") && strings.Contains(line, " status=500 ")) {
			h.t.Errorf("the host answered a request with a 500; no client input may cause one:\n%s", line)
		}
	}
}

// call sends a JSON request with an optional bearer token. A 5xx answer
// fails the test: no client input may cause one (callAllowing admits the
// upstream failures a test provokes on purpose).
func (h *hostProc) call(method, path, token, body string) (int, map[string]any) {
	h.t.Helper()
	return h.callAllowing(nil, method, path, token, body)
}

// callAllowing is call for a request that meets a broker the test breaks
// on purpose: the statuses in allow5xx (502, 503, 504) pass.
func (h *hostProc) callAllowing(allow5xx []int, method, path, token, body string) (int, map[string]any) {
	h.t.Helper()
	for _, c := range allow5xx {
		require.Contains(h.t, []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}, c,
			"only upstream failures may be allowed, never a 500")
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.base+path, rd) //nolint:noctx // test helper
	require.NoError(h.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	checkOpenAPI(h.t, req, []byte(body), resp, raw)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(h.t, json.Unmarshal(raw, &out), "%s %s: %s", method, path, raw)
	}
	if resp.StatusCode >= 500 && !slices.Contains(allow5xx, resp.StatusCode) {
		h.t.Errorf("%s %s answered %d; no client input may cause a 5xx: %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// errCode is the error envelope's code of a decoded answer.
func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// obj asserts v is a JSON object.
func obj(t testing.TB, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	require.True(t, ok, "want a JSON object, got %T %v", v, v)
	return m
}

// str asserts v is a JSON string.
func str(t testing.TB, v any) string {
	t.Helper()
	s, ok := v.(string)
	require.True(t, ok, "want a JSON string, got %T %v", v, v)
	return s
}

// arr asserts v is a JSON array.
func arr(t testing.TB, v any) []any {
	t.Helper()
	a, ok := v.([]any)
	require.True(t, ok, "want a JSON array, got %T %v", v, v)
	return a
}
