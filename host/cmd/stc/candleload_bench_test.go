package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/storetest"
)

// hammerSymbols are the eight anonymous clients' symbols, one each (as in
// the probe of issue 12); the trader trades EURUSD-OTC.
var hammerSymbols = []string{"GBPUSD-OTC", "USDJPY-OTC", "AUDCAD-OTC", "EURJPY-OTC", "GBPJPY", "USDCHF", "AUDUSD", "NZDUSD"}

// BenchmarkManualTradeUnderCandleLoad is the acceptance benchmark of the
// market-data budgets: one user's manual-trade latency (POST
// /api/v2/user/trade against the real `stc serve`, the real paper broker
// plugin and PostgreSQL, one trade after another) with nothing else
// running, and while eight anonymous clients — eight addresses, one symbol
// each — send requests:
//
//   - idle: no other clients;
//   - flood-1d-5000: the probe's request, 5,000 daily candles, each client
//     sending the next as soon as the last is answered (what a script in a
//     loop does);
//   - paced-1d-5000: the same at 10 requests a second per client, the
//     per-address request limit (STC_RATE_LIMIT_IP, 600 a minute), so
//     every request reaches the candle service;
//   - paced-1d-366-cold: the most expensive request an anonymous client
//     may make (366 daily candles), 10 a second per client, each for a
//     year nobody fetched yet (to moves back a year per request, then
//     around again), so every request wants a broker fetch;
//   - flood-healthz: the control, eight clients flooding /healthz: what
//     the flood of HTTP requests costs by itself, whatever the route.
//
// Metrics: p50-ms and p99-ms of the trades, failed-trades (answers other
// than 201), plugin-restarts (plugin processes that ended since the
// scenario's host started, so also during the runs `go test` makes before
// the measured one), and of the clients' requests the rate and the share
// answered 200, 400, 429 and 502.
//
// STC_BENCH_STC_BIN and STC_BENCH_PLUGIN_DIR run prebuilt binaries (e.g.
// another commit's, for a before/after) instead of this tree's. Run with
// a fixed count, e.g. -benchtime 300x: the setup (build, host start) is
// the slow part. docs/BENCHMARKS.md has the command and the numbers.
func BenchmarkManualTradeUnderCandleLoad(b *testing.B) {
	bin, pluginDir := benchBinaries(b)
	// Each scenario gets a host of its own (a fresh store and data
	// directory), started at its first run and kept for the next: what one
	// load does to the broker must not spill into the next scenario.
	var (
		cur     *hostProc
		curName string
		sender  *tradeSender
	)
	hostFor := func(name string) *tradeSender {
		if curName == name {
			return sender
		}
		if cur != nil {
			cur.kill() // its plugins die with it (Pdeathsig); a pegged broker may not stop cleanly
		}
		data, err := os.MkdirTemp("", "stcbench") //nolint:usetesting // b.TempDir paths are too long for the plugin sockets under it
		require.NoError(b, err)
		b.Cleanup(func() { _ = os.RemoveAll(data) })
		cur = startHost(b, bin, hostEnv(freeAddr(b), data, pluginDir, storetest.NewSchema(b).URL,
			"STC_TRUSTED_PROXIES=127.0.0.1", "STC_LOG_LEVEL=warn", "STC_RATE_LIMIT_USER=-1"))
		curName = name
		trader := signUp(b, cur, "bench@example.com", "bench-trader")
		code, body := cur.call("PUT", "/api/v2/user/limits", trader.token, `{"max_stake":1000,"max_open_trades":10000,"max_trades_per_day":100000}`)
		require.Equal(b, http.StatusOK, code, "%v", body)
		sender = newTradeSender(cur, trader.token)
		for range 5 { // warm the trade path (instrument cache, connections)
			code, body, err := sender.place()
			require.NoError(b, err)
			require.Equal(b, http.StatusCreated, code, body)
		}
		return sender
	}
	today := time.Now().UTC().Truncate(24 * time.Hour).Unix()
	latest5000 := func(client, _ int) string {
		return "/api/v2/candles?broker=paper&symbol=" + hammerSymbols[client] + "&timeframe=1d&limit=5000"
	}
	const perAddressLimit = 100 * time.Millisecond // 600 a minute
	scenarios := []struct {
		name string
		url  func(client, n int) string // nil: no load
		pace time.Duration              // between one client's requests; 0: back to back
	}{
		{name: "idle"},
		{name: "flood-1d-5000", url: latest5000},
		{name: "paced-1d-5000", url: latest5000, pace: perAddressLimit},
		{name: "paced-1d-366-cold", pace: perAddressLimit, url: func(client, n int) string {
			// 2020-01-01 is where the paper history starts: then around again.
			to := today - int64(n%7)*366*86400
			return fmt.Sprintf("/api/v2/candles?broker=paper&symbol=%s&timeframe=1d&limit=366&to=%d", hammerSymbols[client], to)
		}},
		{name: "flood-healthz", url: func(int, int) string { return "/healthz" }},
	}
	runs := 0
	for _, sc := range scenarios {
		b.Run(sc.name, func(b *testing.B) {
			runs++
			sender := hostFor(sc.name)
			h := sender.h
			load := startHammer(h.base, runs, sc.pace, sc.url)
			if sc.url != nil {
				time.Sleep(2 * time.Second) // the load is under way before the first trade
			}
			lat := make([]time.Duration, 0, b.N)
			failed := 0
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				status, body, err := sender.place()
				lat = append(lat, time.Since(start))
				if err != nil || status != http.StatusCreated {
					if failed == 0 {
						b.Logf("%s: a trade failed: %d %s %v", sc.name, status, body, err)
					}
					failed++
				}
			}
			b.StopTimer()
			stats := load.stop()
			slices.Sort(lat)
			b.ReportMetric(ms(lat[len(lat)*50/100]), "p50-ms")
			b.ReportMetric(ms(lat[(len(lat)*99+99)/100-1]), "p99-ms")
			b.ReportMetric(float64(failed), "failed-trades")
			// Since the scenario's host started (its runs before this one too).
			b.ReportMetric(float64(strings.Count(h.logs.String(), "plugin process ended")), "plugin-restarts")
			if sc.url != nil {
				b.Logf("%s: client answers by status %v in %s", sc.name, stats.byStatus, stats.elapsed.Round(time.Millisecond))
				b.ReportMetric(float64(stats.total)/stats.elapsed.Seconds(), "client-req/s")
				for _, st := range []int{200, 400, 429, 502} {
					b.ReportMetric(float64(stats.byStatus[st])/float64(max(stats.total, 1)), fmt.Sprintf("client-%d-share", st))
				}
			}
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchBinaries are STC_BENCH_STC_BIN and STC_BENCH_PLUGIN_DIR when set,
// else this tree's, built.
func benchBinaries(b *testing.B) (bin, pluginDir string) {
	bin, pluginDir = os.Getenv("STC_BENCH_STC_BIN"), os.Getenv("STC_BENCH_PLUGIN_DIR")
	if bin != "" && pluginDir != "" {
		return bin, pluginDir
	}
	return buildBinaries(b)
}

// tradeSender places the measuring user's trades. Each comes from its
// own address (X-Forwarded-For through the trusted local proxy), and the
// host runs without the per-user limit, so that user, who trades far
// faster than the request limits allow, is never rate limited itself.
type tradeSender struct {
	h      *hostProc
	token  string
	client *http.Client // bounds a trade that never answers: it counts as failed
	n      atomic.Int64
}

func newTradeSender(h *hostProc, token string) *tradeSender {
	return &tradeSender{h: h, token: token, client: &http.Client{Timeout: time.Minute}}
}

// place sends one trade and returns the status and body of the answer.
func (s *tradeSender) place() (int, string, error) {
	req, err := http.NewRequest("POST", s.h.base+"/api/v2/user/trade", //nolint:noctx // bounded by the client's timeout
		strings.NewReader(`{"broker":"paper","symbol":"EURUSD-OTC","direction":"CALL","amount":1,"expiration":60}`))
	if err != nil {
		return 0, "", err
	}
	n := s.n.Add(1)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.254.%d.%d", n/256%256, n%256))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// hammer is eight anonymous clients sending one request after another.
type hammer struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started time.Time
	mu      sync.Mutex
	counts  map[int]int
	total   atomic.Int64
}

type hammerStats struct {
	total    int
	byStatus map[int]int
	elapsed  time.Duration
}

// startHammer starts the clients (none when url is nil), one request
// after another, at most one per pace. Each has its own address, sent as
// X-Forwarded-For through the trusted local proxy, fresh for each run, so
// no run inherits another's per-address budget.
func startHammer(base string, run int, pace time.Duration, url func(client, n int) string) *hammer {
	ctx, cancel := context.WithCancel(context.Background())
	hm := &hammer{cancel: cancel, started: time.Now(), counts: map[int]int{}}
	if url == nil {
		return hm
	}
	for client := range hammerSymbols {
		addr := fmt.Sprintf("10.%d.%d.%d", run/256, run%256, client+1)
		hm.wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{}}
			defer c.CloseIdleConnections()
			next := time.Now()
			for n := 0; ctx.Err() == nil; n++ {
				if wait := time.Until(next); wait > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(wait):
					}
				}
				next = time.Now().Add(pace)
				req, err := http.NewRequestWithContext(ctx, "GET", base+url(client, n), nil)
				if err != nil {
					return
				}
				req.Header.Set("X-Forwarded-For", addr)
				resp, err := c.Do(req)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					hm.count(0)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				hm.count(resp.StatusCode)
			}
		})
	}
	return hm
}

func (hm *hammer) count(status int) {
	hm.total.Add(1)
	hm.mu.Lock()
	hm.counts[status]++
	hm.mu.Unlock()
}

// stop ends the clients (aborting requests in flight) and returns what
// they got back.
func (hm *hammer) stop() hammerStats {
	elapsed := time.Since(hm.started)
	hm.cancel()
	hm.wg.Wait()
	hm.mu.Lock()
	defer hm.mu.Unlock()
	return hammerStats{total: int(hm.total.Load()), byStatus: hm.counts, elapsed: elapsed}
}
