package pluginmgr

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
)

// hangGuard bounds every wait in these tests. It only stops a broken test
// from hanging; no test asserts how long anything took.
const hangGuard = 20 * time.Second

func testLogger(t *testing.T) hclog.Logger {
	out := t.Output()
	if os.Getenv("PLUGINMGR_TEST_LOG") == "" {
		out = io.Discard // go-plugin and the plugins are chatty; opt in
	}
	return hclog.New(&hclog.LoggerOptions{Name: "test", Level: hclog.Debug, Output: out})
}

func entries(t *testing.T, dir string) []catalog.Entry {
	t.Helper()
	res, err := catalog.Discover(dir)
	require.NoError(t, err)
	return res.Entries
}

// newManager starts a manager on the test plugins; Close runs at cleanup.
func newManager(t *testing.T, opts Options) (*Manager, *recorder) {
	t.Helper()
	return newManagerIn(t, bins.pluginDir, opts)
}

func newManagerIn(t *testing.T, dir string, opts Options) (*Manager, *recorder) {
	t.Helper()
	rec := &recorder{}
	opts.OnEvent = rec.add
	m, err := New(entries(t, dir), testLogger(t), withTestEnv(opts))
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, m.Close(context.Background()))
	})
	return m, rec
}

// recorder keeps every event for the test to wait on.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) add(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// waitFor returns the first event matching match, polling until hangGuard.
func (r *recorder) waitFor(t *testing.T, what string, match func(Event) bool) Event {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for time.Now().Before(deadline) {
		for _, e := range r.all() {
			if match(e) {
				return e
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %s event within %s; got %v", what, hangGuard, r.all())
	return Event{}
}

func isEvent(typ EventType, name string) func(Event) bool {
	return func(e Event) bool { return e.Type == typ && e.Name == name }
}

func statusOf(t *testing.T, m *Manager, kind plugin.Kind, name, session string) PluginStatus {
	t.Helper()
	for _, st := range m.Status() {
		if st.Kind == kind && st.Name == name && st.Session == session {
			return st
		}
	}
	t.Fatalf("no status for %s/%s session %q in %+v", kind, name, session, m.Status())
	return PluginStatus{}
}

// candles returns n one-minute candles; the last one rises.
func candles(n int) market.Series {
	s := make(market.Series, n)
	for i := range s {
		s[i] = market.Candle{Time: int64(i) * 60, Open: 1.0, High: 1.3, Low: 0.9, Close: 1.0 + 0.1*float64(i%3), Volume: 1}
	}
	s[n-1].Close = 1.2
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	t.Cleanup(cancel)
	return ctx
}

// processGone reports whether pid no longer runs: no /proc entry, or a
// zombie whose new parent has not reaped it yet.
func processGone(pid int) bool {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z' || s[i+2] == 'X'
	}
	return false
}

func waitGone(t *testing.T, pid int) time.Duration {
	t.Helper()
	start := time.Now()
	for !processGone(pid) {
		if time.Since(start) > hangGuard {
			t.Fatalf("process %d still runs after %s", pid, hangGuard)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func mockCreds(user string) ReopenFunc {
	return func(context.Context) (broker.OpenRequest, error) {
		return broker.OpenRequest{Mode: broker.Practice, Credentials: map[string]string{"user": user, "password": "secret"}}, nil
	}
}

func subscribeEURUSD() broker.SubscribeRequest {
	return broker.SubscribeRequest{Symbol: "EURUSD", Timeframe: market.M1}
}

// withTestEnv adds GORACE to every plugin's environment when the plugins
// are race-built: the race runtime otherwise sleeps a second at every
// exit, and a race in the SDK must crash the plugin so that a test fails.
func withTestEnv(opts Options) Options {
	if !raceEnabled {
		return opts
	}
	env := opts.Env
	opts.Env = func(e catalog.Entry) map[string]string {
		m := map[string]string{}
		if env != nil {
			m = env(e)
			if m == nil {
				m = map[string]string{}
			}
		}
		m["GORACE"] = "atexit_sleep_ms=0 halt_on_error=1"
		return m
	}
	return opts
}
