package marketdata_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/host/internal/metrics"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/plugintest"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
)

var pluginDir string

func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "marketdata-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pluginDir = filepath.Join(tmp, "plugins")
	flags := []string{"build", "-ldflags=-s -w", "-o", filepath.Join(pluginDir, "stc-broker-paper")}
	if raceEnabled {
		flags = append(flags, "-race")
	}
	if out, err := exec.Command("go", append(flags, "./testdata/stc-broker-paper")...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build test plugin: %v\n%s", err, out)
		os.Exit(1)
	}
	if err := catalog.WriteManifest(pluginDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(tmp)
	os.Exit(code)
}

// rig is a real paper plugin process under the real supervisor, and a
// candle service on a real store.
type rig struct {
	mgr        *pluginmgr.Manager
	svc        *marketdata.Service
	store      *store.Store
	metrics    *metrics.Metrics
	subLog     string
	candlesLog string // one line per Candles call the plugin served
}

func newRig(t *testing.T, s *store.Store, scale string, opts marketdata.Options, extraEnv ...string) *rig {
	t.Helper()
	dir := t.TempDir()
	r := &rig{store: s, subLog: filepath.Join(dir, "subscriptions.log"), candlesLog: filepath.Join(dir, "candles.log"), metrics: metrics.New()}
	env := map[string]string{
		plugin.DataDirEnv:        filepath.Join(dir, "paper"),
		"STC_PAPER_TIME_SCALE":   scale,
		"STC_TEST_SUBSCRIBE_LOG": r.subLog,
		"STC_TEST_CANDLES_LOG":   r.candlesLog,
		"STC_PLUGIN_LOG_LEVEL":   "warn",
	}
	for i := 0; i+1 < len(extraEnv); i += 2 {
		env[extraEnv[i]] = extraEnv[i+1]
	}
	r.mgr = plugintest.Manager(t, pluginDir, plugintest.Options{
		Env:     map[string]map[string]string{"broker/paper": env},
		Manager: pluginmgr.Options{BackoffCap: time.Second},
	})
	opts.ReconnectBase = 50 * time.Millisecond
	opts.ReconnectCap = 500 * time.Millisecond
	opts.FlushInterval = 100 * time.Millisecond
	r.svc = marketdata.New(r.mgr, marketdata.FromStore(s), r.metrics, testLogger(t), opts)
	// Registered after the manager's, so it runs first: the service stops
	// its feeds before the plugin goes away.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		assert.NoError(t, r.svc.Close(ctx))
	})
	return r
}

// testLogger sends the service's log to the test log, so a failure shows
// what the feeds went through.
func testLogger(t *testing.T) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: tWriter{t}, Level: hclog.Info})
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (r *rig) subscriptions(t *testing.T) map[string]int {
	t.Helper()
	data, err := os.ReadFile(r.subLog)
	if os.IsNotExist(err) {
		return map[string]int{}
	}
	require.NoError(t, err)
	out := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line != "" {
			out[line]++
		}
	}
	return out
}

func (r *rig) paperPID(t *testing.T) int {
	t.Helper()
	for _, st := range r.mgr.Status() {
		if st.Kind == plugin.KindBroker && st.Name == "paper" && st.PID > 0 {
			return st.PID
		}
	}
	t.Fatal("paper plugin is not running")
	return 0
}

// waitFor polls cond; the timeout is a hang guard, not a performance claim.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var key = marketdata.Key{Broker: "paper", Symbol: "EURUSD-OTC", Timeframe: market.M1}

func TestOneUpstreamSubscriptionServesAThousandConsumers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		// 600× time: a 1m candle closes every 100 ms of wall time.
		r := newRig(t, s, "600", marketdata.Options{SubscriberBuffer: 8})
		const consumers = 1000
		subs := make([]*marketdata.Subscription, consumers)
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := range subs {
			wg.Go(func() {
				sub, err := r.svc.Subscribe(key)
				assert.NoError(t, err)
				mu.Lock()
				subs[i] = sub
				mu.Unlock()
			})
		}
		wg.Wait()
		// One consumer never reads: it must not hold back the others.
		stalled := subs[0]
		received := make([]int, consumers)
		var rwg sync.WaitGroup
		for i := 1; i < consumers; i++ {
			rwg.Go(func() {
				var last int64
				for received[i] < 3 {
					select {
					case c := <-subs[i].C:
						assert.Greater(t, c.Time, last, "closed candles arrive in order, once")
						last = c.Time
						received[i]++
					case <-time.After(30 * time.Second):
						t.Errorf("consumer %d: no candle for 30 s (hang guard)", i)
						return
					}
				}
			})
		}
		rwg.Wait()
		waitFor(t, 30*time.Second, "the stalled consumer's buffer to overflow", func() bool { return stalled.Dropped() > 0 })

		assert.Equal(t, map[string]int{"EURUSD-OTC 1m": 1}, r.subscriptions(t),
			"1,000 consumers of one key share exactly one upstream subscription")
		for _, sub := range subs {
			sub.Close()
		}
		// The last consumer leaving stops the (untracked) feed.
		waitFor(t, 10*time.Second, "the idle feed to stop", func() bool { return len(r.svc.Tracked()) == 0 })
	})
}

func TestKilledPluginResumesAndBackfillsTheGap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s, "600", marketdata.Options{RingSize: 200})
		require.NoError(t, r.svc.Track(key))
		ctx := context.Background()
		count := func() int64 {
			n, err := s.CountCandles(ctx, key.Broker, key.Symbol, key.Timeframe)
			require.NoError(t, err)
			return n
		}
		waitFor(t, 30*time.Second, "history and live candles in the store", func() bool { return count() >= 220 })

		for kill := 0; kill < 2; kill++ {
			before, ok, err := s.LatestCandleTime(ctx, key.Broker, key.Symbol, key.Timeframe)
			require.NoError(t, err)
			require.True(t, ok)
			pid := r.paperPID(t)
			require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
			waitFor(t, 30*time.Second, "candles after the restart", func() bool {
				latest, _, err := s.LatestCandleTime(ctx, key.Broker, key.Symbol, key.Timeframe)
				return err == nil && latest > before+20*60 && r.paperPID(t) != pid
			})
		}
		stored, err := s.Candles(ctx, key.Broker, key.Symbol, key.Timeframe, 0, 0, 0, store.OrderAuto)
		require.NoError(t, err)
		for i := 1; i < len(stored); i++ {
			require.Equal(t, stored[i-1].Time+60, stored[i].Time,
				"candle %d: the stored series has a gap or a duplicate at %d", i, stored[i].Time)
		}
		subs := r.subscriptions(t)
		assert.GreaterOrEqual(t, subs["EURUSD-OTC 1m"], 3, "the feed re-subscribed after each restart")

		// The API answers the newest candles from memory, equal to the store.
		recent, version, ok := r.svc.Recent(key, 100)
		require.True(t, ok)
		assert.NotZero(t, version)
		newest := recent[len(recent)-1].Time
		waitFor(t, 10*time.Second, "the writer to flush the newest candle", func() bool {
			latest, _, err := s.LatestCandleTime(ctx, key.Broker, key.Symbol, key.Timeframe)
			return err == nil && latest >= newest
		})
		fromStore, err := s.Candles(ctx, key.Broker, key.Symbol, key.Timeframe, recent[0].Time, newest+60, 100, store.OrderAuto)
		require.NoError(t, err)
		assert.Equal(t, fromStore, recent)
	})
}

func TestCandlesForAnUntrackedKeyAreFetchedAndStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s, "1", marketdata.Options{})
		ctx := context.Background()
		k := marketdata.Key{Broker: "paper", Symbol: "GBPUSD-OTC", Timeframe: market.M5}
		got, err := r.svc.Candles(ctx, k.Broker, k.Symbol, k.Timeframe, 0, 0, 50)
		require.NoError(t, err)
		require.Len(t, got, 50)
		for i, c := range got {
			require.NoError(t, c.Validate(market.M5))
			if i > 0 {
				require.Greater(t, c.Time, got[i-1].Time)
			}
		}
		waitFor(t, 10*time.Second, "the fetched candles in the store", func() bool {
			n, err := s.CountCandles(ctx, k.Broker, k.Symbol, k.Timeframe)
			return err == nil && n >= 50
		})
		again, err := r.svc.Candles(ctx, k.Broker, k.Symbol, k.Timeframe, 0, 0, 50)
		require.NoError(t, err)
		assert.Equal(t, got, again, "the second answer comes from the store and is the same")

		_, err = r.svc.Candles(ctx, "paper", "NOPE", market.M1, 0, 0, 10)
		assert.ErrorIs(t, err, broker.ErrUnknownInstrument)
		_, err = r.svc.Candles(ctx, "nobroker", "X", market.M1, 0, 0, 10)
		assert.ErrorIs(t, err, pluginmgr.ErrUnknownPlugin)
	})
}

func TestBrokersThatCannotStreamArePolled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s, "600", marketdata.Options{RingSize: 50, PollInterval: 200 * time.Millisecond}, "STC_TEST_NO_STREAM", "1")
		sub, err := r.svc.Subscribe(key)
		require.NoError(t, err)
		defer sub.Close()
		var last int64
		for got := 0; got < 5; got++ {
			select {
			case c := <-sub.C:
				if last != 0 {
					require.Equal(t, last+60, c.Time, "polled candles arrive in order without gaps")
				}
				last = c.Time
			case <-time.After(30 * time.Second):
				t.Fatal("no polled candle within 30 s (hang guard)")
			}
		}
		assert.Empty(t, r.subscriptions(t), "nothing streamed: every candle came from polling")
	})
}

// A host restart resumes from the store: the new service loads the newest
// stored candles and backfills everything after them from the broker. The
// test removes the newest stored candles before the restart, so the gap is
// real and only the start-up backfill can fill it.
func TestRestartBackfillsFromTheNewestStoredCandle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s, "1", marketdata.Options{RingSize: 120})
		ctx := context.Background()
		require.NoError(t, r.svc.Track(key))
		count := func() int64 {
			n, err := s.CountCandles(ctx, key.Broker, key.Symbol, key.Timeframe)
			require.NoError(t, err)
			return n
		}
		waitFor(t, 30*time.Second, "the first start's backfill in the store", func() bool { return count() >= 120 })
		closeCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
		require.NoError(t, r.svc.Close(closeCtx))
		cancel()
		before := count()
		latest, _, err := s.LatestCandleTime(ctx, key.Broker, key.Symbol, key.Timeframe)
		require.NoError(t, err)
		_, err = s.DB().ExecContext(ctx, s.DB().Rebind("DELETE FROM candles WHERE broker = ? AND symbol = ? AND timeframe = ? AND timestamp > ?"),
			key.Broker, key.Symbol, key.Timeframe.String(), latest-30*60)
		require.NoError(t, err)
		require.Equal(t, before-30, count(), "30 newest candles removed")

		// A ring smaller than the gap: only a backfill that starts at the
		// newest stored candle (not "the last RingSize candles") refills it.
		restarted := marketdata.New(r.mgr, marketdata.FromStore(s), metrics.New(), testLogger(t),
			marketdata.Options{RingSize: 10, FlushInterval: 100 * time.Millisecond})
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			assert.NoError(t, restarted.Close(ctx))
		})
		require.NoError(t, restarted.Track(key))
		waitFor(t, 30*time.Second, "the gap refilled", func() bool { return count() >= before })
		stored, err := s.Candles(ctx, key.Broker, key.Symbol, key.Timeframe, 0, 0, 0, store.OrderAuto)
		require.NoError(t, err)
		for i := 1; i < len(stored); i++ {
			require.Equal(t, stored[i-1].Time+60, stored[i].Time, "gap or duplicate at candle %d", i)
		}
	})
}
