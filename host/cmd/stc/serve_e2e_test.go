package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// buildBinaries builds stc, the paper broker and the RSI and MACD
// strategies the way `make build` does (with -race under a race test run,
// to reuse its compiled packages).
func buildBinaries(t testing.TB) (stcBin, pluginDir string) {
	t.Helper()
	dir := t.TempDir()
	pluginDir = filepath.Join(dir, "plugins")
	stcBin = filepath.Join(dir, "stc")
	root, err := filepath.Abs("../../..")
	require.NoError(t, err)
	flags := []string{"build"}
	if raceEnabled {
		flags = append(flags, "-race")
	}
	for _, b := range [][]string{
		{stcBin, "./host/cmd/stc"},
		{pluginDir + string(filepath.Separator), "./plugins/broker/paper/cmd/stc-broker-paper",
			"./plugins/strategy/rsi/cmd/stc-strategy-rsi", "./plugins/strategy/macd/cmd/stc-strategy-macd",
			"./plugins/broker/iqoption/cmd/stc-broker-iqoption"},
	} {
		cmd := exec.Command("go", append(append(flags, "-o", b[0]), b[1:]...)...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go build %s: %s", b[1:], out)
	}
	require.NoError(t, catalog.WriteManifest(pluginDir))
	return stcBin, pluginDir
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func getJSON(url string, into any) (int, error) {
	resp, err := http.Get(url) //nolint:noctx // test helper with a short-lived server
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(into)
}

// TestServeEndToEnd runs the real binary on both stores: the README's
// curl answers 100 ascending, valid candles and the symbols with payouts,
// and SIGTERM stops the host and its plugins.
func TestServeEndToEnd(t *testing.T) {
	stcBin, pluginDir := buildBinaries(t)
	stores := map[string]func(t *testing.T) string{
		"sqlite":   func(*testing.T) string { return "" },
		"postgres": func(t *testing.T) string { return storetest.NewSchema(t).URL },
	}
	for name, dbURL := range stores {
		t.Run(name, func(t *testing.T) {
			addr := freeAddr(t)
			data, err := os.MkdirTemp("", "stce2e") //nolint:usetesting // t.TempDir paths are too long for the plugin sockets under it
			require.NoError(t, err)
			t.Cleanup(func() { _ = os.RemoveAll(data) })
			cmd := exec.Command(stcBin, "serve")
			cmd.Env = []string{
				"STC_HTTP_ADDR=" + addr, "STC_DATA_DIR=" + data, "STC_PLUGIN_DIR=" + pluginDir,
				"STC_DATABASE_URL=" + dbURL(t), "STC_TRACK=paper:EURUSD-OTC:1m", "STC_LOG_LEVEL=warn", "STC_DEV=true",
				"PATH=" + os.Getenv("PATH"),
			}
			logs := &syncBuffer{}
			cmd.Stderr = logs
			require.NoError(t, cmd.Start())
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited //nolint:errcheck // the exit status after a kill says nothing
			})
			base := "http://" + addr
			var candles struct {
				Candles []struct {
					Timestamp              int64
					Open, High, Low, Close float64
				} `json:"candles"`
			}
			deadline := time.Now().Add(60 * time.Second)
			for {
				code, err := getJSON(base+"/api/v2/candles?broker=paper&symbol=EURUSD-OTC&timeframe=1m&limit=100", &candles)
				if err == nil && code == 200 && len(candles.Candles) == 100 {
					break
				}
				require.True(t, time.Now().Before(deadline), "no 100 candles within 60 s (hang guard); last: %d %v\n%s", code, err, logs.String())
				time.Sleep(200 * time.Millisecond)
			}
			for i, c := range candles.Candles {
				assert.Zero(t, c.Timestamp%60, "aligned")
				assert.True(t, c.Low <= c.Open && c.Open <= c.High && c.Low <= c.Close && c.Close <= c.High && c.Low > 0, "valid OHLC at %d", i)
				if i > 0 {
					assert.Greater(t, c.Timestamp, candles.Candles[i-1].Timestamp, "ascending")
				}
			}
			var syms struct {
				Source string `json:"source"`
				Items  []struct {
					Symbol string  `json:"symbol"`
					Payout float64 `json:"payout"`
				} `json:"items"`
			}
			code, err := getJSON(base+"/api/v2/symbols?broker=paper", &syms)
			require.NoError(t, err)
			require.Equal(t, 200, code)
			assert.GreaterOrEqual(t, len(syms.Items), 12)
			for _, s := range syms.Items {
				assert.True(t, s.Payout >= 70 && s.Payout <= 92, "%s payout %v", s.Symbol, s.Payout)
			}
			var ready map[string]any
			code, err = getJSON(base+"/readyz", &ready)
			require.NoError(t, err)
			assert.Equal(t, 200, code)

			pids := pluginPIDs(t, cmd.Process.Pid)
			require.NotEmpty(t, pids, "the paper plugin runs as a child process")
			require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
			select {
			case err := <-exited:
				exited <- err
				require.NoError(t, err, "graceful shutdown exits 0\n%s", logs.String())
			case <-time.After(30 * time.Second):
				t.Fatalf("stc did not stop within 30 s of SIGTERM (hang guard)\n%s", logs.String())
			}
			for _, pid := range pids {
				assert.NoError(t, waitGone(pid), "plugin %d outlived the host", pid)
			}
		})
	}
}

// syncBuffer collects a child's stderr; the exec copier goroutine writes
// while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// pluginPIDs lists the children of pid by scanning /proc (Linux).
func pluginPIDs(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		if err != nil {
			continue
		}
		// Fields after the parenthesised command: state, ppid, ...
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+2:])
		if f := strings.Fields(rest); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

func waitGone(pid int) error {
	for i := 0; i < 200; i++ {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("process %d still alive", pid)
}
