package pluginmgr

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/sdk/plugin"
)

func TestTamperedBinaryIsRefused(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(bins.pluginDir, "stc-strategy-echo"))
	require.NoError(t, err)
	path := filepath.Join(dir, "stc-strategy-echo")
	require.NoError(t, os.WriteFile(path, data, 0o755))
	require.NoError(t, catalog.WriteManifest(dir))
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte{0})
	require.NoError(t, err)
	require.NoError(t, f.Close())

	m, rec := newManagerIn(t, dir, Options{})
	_, err = m.Strategy(ctxT(t), "echo")
	require.ErrorIs(t, err, ErrChecksumMismatch)
	t.Logf("error: %v", err)
	assert.Contains(t, err.Error(), "changed since the manifest was written")
	assert.Contains(t, err.Error(), "make build")
	st := statusOf(t, m, plugin.KindStrategy, "echo", "")
	assert.Equal(t, StateFailed, st.State)
	assert.Equal(t, 0, st.Restarts, "a checksum mismatch is not retried")
	assert.Equal(t, 0, st.PID, "the binary never ran")
	rec.waitFor(t, "failed", isEvent(EventFailed, "echo"))

	_, err = m.Fingerprint(ctxT(t), entries(t, dir)[0])
	assert.ErrorIs(t, err, ErrChecksumMismatch)
}

func TestPluginEnvironmentIsOnlyTheAllowList(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/<pid>/environ")
	}
	t.Setenv("STC_TEST_CANARY", "canary-7f3a9c")
	m, _ := newManager(t, Options{Env: EnvByKey(map[string]map[string]string{
		"strategy/echo": {"STC_TEST_ALLOWED": "allowed-value", "STC_PLUGIN_LOG_LEVEL": "debug"},
	})})
	_, err := m.Strategy(ctxT(t), "echo")
	require.NoError(t, err)
	pid := statusOf(t, m, plugin.KindStrategy, "echo", "").PID
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	require.NoError(t, err)
	env := map[string]string{}
	for _, kv := range bytes.Split(bytes.TrimRight(raw, "\x00"), []byte{0}) {
		k, v, _ := strings.Cut(string(kv), "=")
		env[k] = v
	}
	assert.NotContains(t, string(raw), "canary-7f3a9c", "host secrets must not reach plugins")
	assert.Equal(t, "allowed-value", env["STC_TEST_ALLOWED"])
	assert.Equal(t, "debug", env["STC_PLUGIN_LOG_LEVEL"])
	// Everything else is go-plugin's own handshake variables.
	h := plugin.Handshake()
	for k := range env {
		switch k {
		case "STC_TEST_ALLOWED", "STC_PLUGIN_LOG_LEVEL", "GORACE", h.MagicCookieKey,
			"PLUGIN_MIN_PORT", "PLUGIN_MAX_PORT", "PLUGIN_PROTOCOL_VERSIONS", "PLUGIN_CLIENT_CERT":
		default:
			t.Errorf("unexpected variable %s in the plugin's environment", k)
		}
	}
}

func TestHostSIGKILLLeavesNoPlugin(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Pdeathsig and /proc are Linux-only")
	}
	host := exec.Command(bins.host, bins.pluginDir)
	host.Env = []string{} // the host needs nothing, and the plugin would get nothing anyway
	stdout, err := host.StdoutPipe()
	require.NoError(t, err)
	stderr, err := os.Create(filepath.Join(t.TempDir(), "host.stderr"))
	require.NoError(t, err)
	defer stderr.Close()
	host.Stderr = stderr // a file, not a buffer: exec copies into buffers concurrently
	hostErr := func() string { b, _ := os.ReadFile(stderr.Name()); return string(b) }
	require.NoError(t, host.Start())
	t.Cleanup(func() {
		_ = host.Process.Kill()
		_ = host.Wait()
	})

	lines := make(chan string, 1)
	go func() { // ends when the host's stdout closes, at the latest when it is killed
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(hangGuard):
		t.Fatalf("host printed no pid; stderr: %s", hostErr())
	}
	pidText, ok := strings.CutPrefix(line, "PID ")
	require.True(t, ok, "host said %q; stderr: %s", line, hostErr())
	pid, err := strconv.Atoi(pidText)
	require.NoError(t, err)
	require.False(t, processGone(pid), "plugin %d should be running", pid)

	require.NoError(t, host.Process.Signal(syscall.SIGKILL))
	_ = host.Wait()
	t.Logf("plugin %d gone %s after the host's SIGKILL", pid, waitGone(t, pid))
}
