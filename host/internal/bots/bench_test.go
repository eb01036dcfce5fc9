package bots_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/events"
	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/host/internal/trading"
)

// BenchmarkRunningBots runs N bots on one host against the paper broker at
// 1m with accelerated time, on PostgreSQL, and measures, per closed
// candle, the time from the candle reaching the runner to each bot's order
// call returning (p50, p99, and the last order of the candle), plus the
// host's RSS. Every bot signals on every candle (RSI below 99.99), so each
// candle close makes N orders. One iteration is one candle close.
//
//	go test -run '^$' -bench RunningBots -benchtime 5x -timeout 60m ./host/internal/bots/
//
// Environment:
//
//	STC_BENCH_BOTS    bot counts, default "1000,10000"
//	STC_BENCH_TRADER  "count" (default: the order is handed to a Trader that
//	                  counts it, measuring the bot pipeline) or "trading" (the
//	                  real trading service: trade rows, risk checks, paper
//	                  PlaceOrders with its fsync, open; the signals waiting
//	                  at once are placed as one batch) or "trading1" (the
//	                  same, one Trader call per order: the unbatched path)
//	STC_BENCH_EACH    "1" evaluates every bot's own instance instead of one
//	                  per group of identical bots
//	STC_BENCH_SCALE   STC_PAPER_TIME_SCALE, default "6" (a 1m candle every 10 s)
//	STC_BENCH_WORKERS Options.OrderWorkers, default the package default
//	STC_BENCH_PER_USER bots per user (and paper account), default 100
//	STC_BENCH_BATCH_BYTES, STC_BENCH_BATCH_CONC  Options.BatchBytes and
//	                  BatchConcurrency, default the package defaults
//	STC_BENCH_HOLD    Options.StatusHold in ms ("-1": the last signals
//	                  are written while orders are placed), default the
//	                  package default
//	STC_BENCH_EVENTS  "0" runs without the event log; by default every
//	                  bot change (each bot's signal on every candle) is an
//	                  event rendered by the HTTP API's renderer, as in stc
//	                  serve
func BenchmarkRunningBots(b *testing.B) {
	counts := []int{1000, 10000}
	if v := os.Getenv("STC_BENCH_BOTS"); v != "" {
		counts = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			require.NoError(b, err)
			counts = append(counts, n)
		}
	}
	mode := os.Getenv("STC_BENCH_TRADER")
	if mode == "" {
		mode = "count"
	}
	each := os.Getenv("STC_BENCH_EACH") == "1"
	scale := os.Getenv("STC_BENCH_SCALE")
	if scale == "" {
		scale = "6"
	}
	for _, n := range counts {
		b.Run(fmt.Sprintf("bots=%d/trader=%s/each=%v", n, mode, each), func(b *testing.B) {
			benchBots(b, n, mode, each, scale)
		})
	}
}

// countTrader counts orders; it costs nothing, so the benchmark measures
// the bots' own pipeline.
type countTrader struct {
	mu sync.Mutex
	n  int
}

func (c *countTrader) Place(context.Context, bots.OrderRequest) error {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return nil
}

func (c *countTrader) RecentSettled(context.Context, int64, int64, int) ([]bots.SettledTrade, error) {
	return nil, nil
}

// latencies collects order latencies per candle time.
type latencies struct {
	mu     sync.Mutex
	byTime map[int64][]time.Duration
	errs   map[int64]int
	notify chan struct{}
}

func (l *latencies) observe(ev bots.Event) {
	if ev.Kind != bots.EventOrdered {
		return
	}
	l.mu.Lock()
	l.byTime[ev.Candle.Time] = append(l.byTime[ev.Candle.Time], ev.At.Sub(ev.Received))
	if ev.Err != nil {
		l.errs[ev.Candle.Time]++
	}
	l.mu.Unlock()
	select {
	case l.notify <- struct{}{}:
	default:
	}
}

func benchBots(b *testing.B, n int, mode string, each bool, scale string) {
	st := storetest.OpenPostgres(b, store.WithMaxOpenConns(32))
	lat := &latencies{byTime: map[int64][]time.Duration{}, errs: map[int64]int{}, notify: make(chan struct{}, 1)}
	var tr *trading.Service
	var trader bots.Trader = &countTrader{}
	switch mode {
	case "trading":
		trader = lazyTrader{&tr}
	case "trading1":
		trader = oneByOne{lazyTrader{&tr}}
	}
	e := newEnv(b, st, envOpts{timeScale: scale, trader: trader, botOpts: bots.Options{
		EvaluateEachBot: each, EntitlementTTL: 30 * time.Second,
	}})
	ctx := ctxT(b)
	if mode != "count" {
		tr = trading.NewService(st, e.acc, tradePolicy{e.bill}, trading.Options{}, hclog.NewNullLogger())
		tctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { tr.Run(tctx); close(done) }()
		b.Cleanup(func() { stop(); <-done })
	}

	// 100 bots per user (the elite plan's limit), spread over the paper
	// OTC symbols and eight RSI periods.
	ins, err := e.data.Instruments(ctx, "paper")
	require.NoError(b, err)
	var symbols []string
	for _, in := range ins {
		if strings.HasSuffix(in.Symbol, "-OTC") {
			symbols = append(symbols, in.Symbol)
		}
	}
	slices.Sort(symbols)
	workers := envInt("STC_BENCH_WORKERS")
	perUser := 100
	if v, _ := strconv.Atoi(os.Getenv("STC_BENCH_PER_USER")); v > 0 {
		perUser = min(v, 100)
	}
	setup := time.Now()
	made := 0
	for u := 0; made < n; u++ {
		uid, acct := e.user(fmt.Sprintf("bench%05d", u), "elite")
		if mode != "count" {
			require.NoError(b, tr.SetLimits(ctx, uid, trading.Limits{MaxStake: decimal.NewFromInt(100)}))
		}
		k := min(perUser, n-made)
		insertRunning(b, st, uid, acct, made, k, symbols)
		made += k
	}
	users := time.Since(setup)

	// A host start: Run resumes every running bot.
	var evlog bots.EventLog
	if os.Getenv("STC_BENCH_EVENTS") != "0" {
		evlog = events.New(st, httpapi.RenderEvent, nil, events.Options{})
	}
	e.svc = bots.NewService(st, bots.Deps{
		Strategies: e.pm, Market: e.data, Accounts: e.acc, Entitlements: e.bill, Trader: trader, Events: evlog,
	}, bots.Options{EvaluateEachBot: each, EntitlementTTL: 30 * time.Second, Observer: lat.observe, OrderWorkers: workers,
		BatchBytes: envInt("STC_BENCH_BATCH_BYTES"), BatchConcurrency: envInt("STC_BENCH_BATCH_CONC"),
		StatusHold: time.Duration(envInt("STC_BENCH_HOLD")) * time.Millisecond}, hclog.NewNullLogger())
	resume := time.Now()
	e.run()
	// The first candle after the resume loads the warm-up windows; the
	// measurement starts with the candle after it.
	first := waitCandle(b, lat, n, 0)
	resumed := time.Since(resume)

	var all []time.Duration
	var lasts []time.Duration
	errs := 0
	prev := first
	for b.Loop() {
		tm := waitCandle(b, lat, n, prev)
		lat.mu.Lock()
		ds := slices.Clone(lat.byTime[tm][:n])
		errs += lat.errs[tm]
		lat.mu.Unlock()
		slices.Sort(ds)
		all = append(all, ds...)
		lasts = append(lasts, ds[len(ds)-1])
		prev = tm
	}
	b.StopTimer()
	slices.Sort(all)
	slices.Sort(lasts)
	pct := func(ds []time.Duration, p float64) float64 {
		return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))]) / 1e6
	}
	b.ReportMetric(pct(all, 0.50), "p50-ms")
	b.ReportMetric(pct(all, 0.99), "p99-ms")
	b.ReportMetric(float64(lasts[len(lasts)-1])/1e6, "last-max-ms")
	b.ReportMetric(rssMB("self", "VmHWM"), "host-peak-rss-MB")
	b.ReportMetric(rssMB("self", "VmRSS"), "host-rss-MB")
	b.ReportMetric(float64(errs), "order-errors")
	if mode != "count" {
		// The orders' outcomes and settlements are written after the
		// orders return: check they are written. Trades written more than
		// 5 s ago (half a candle at scale 6) must have left pending, and
		// the earlier candles' trades must have settled.
		var stale, settled int
		require.NoError(b, st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
			before := time.Now().Add(-5 * time.Second).UnixMilli()
			if err := tx.Get(&stale, tx.Rebind(`SELECT count(*) FROM trades WHERE status = 'pending' AND created_at < ?`), before); err != nil {
				return err
			}
			return tx.Get(&settled, `SELECT count(*) FROM trades WHERE status IN ('won', 'lost', 'draw')`)
		}))
		b.ReportMetric(float64(stale), "pending-5s")
		b.ReportMetric(float64(settled), "settled")
	}
	for _, s := range e.pm.Status() {
		if s.PID > 0 && s.Name == "rsi" {
			b.ReportMetric(rssMB(strconv.Itoa(s.PID), "VmRSS"), "rsi-plugin-rss-MB")
		}
	}
	if evlog != nil {
		var n int
		require.NoError(b, st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
			return tx.Get(&n, `SELECT count(*) FROM events`)
		}))
		b.ReportMetric(float64(n), "events")
	}
	b.Logf("bots=%d users=%d setup %s, resume + first candle %s, candles measured %d", n, (n+perUser-1)/perUser, users.Round(time.Millisecond), resumed.Round(time.Millisecond), len(lasts))
}

// waitCandle waits for the first candle after prev whose n orders have all
// returned, and returns its time.
func waitCandle(b *testing.B, lat *latencies, n int, prev int64) int64 {
	b.Helper()
	deadline := time.After(10 * time.Minute)
	for {
		lat.mu.Lock()
		var best int64
		for tm, ds := range lat.byTime {
			if tm > prev && len(ds) >= n && (best == 0 || tm < best) {
				best = tm
			}
		}
		lat.mu.Unlock()
		if best != 0 {
			return best
		}
		select {
		case <-lat.notify:
		case <-deadline:
			b.Fatalf("no candle after %d completed %d orders", prev, n)
		}
	}
}

// insertRunning writes k running bots of one user straight into the table,
// as a host that is restarting finds them.
func insertRunning(b *testing.B, st *store.Store, userID, accountID int64, from, k int, symbols []string) {
	b.Helper()
	require.NoError(b, st.Update(context.Background(), store.Tenant(userID), func(tx *sqlx.Tx) error {
		q := tx.Rebind(`INSERT INTO bots (user_id, account_id, name, strategy, params, broker, symbol, timeframe,
			amount, expiration_seconds, status, created_at, updated_at)
			VALUES (?, ?, ?, 'rsi', ?, 'paper', ?, '1m', 1, 60, 'running', 1, 1)`)
		for i := from; i < from+k; i++ {
			params := fmt.Sprintf(`{"period":"%d","oversold":"99.99","overbought":"100"}`, 7+i%8)
			if _, err := tx.Exec(q, userID, accountID, fmt.Sprintf("bench %d", i), params, symbols[i%len(symbols)]); err != nil {
				return err
			}
		}
		return nil
	}))
}

// rssMB reads a VmRSS/VmHWM line of /proc/<pid>/status in MB.
func rssMB(pid, field string) float64 {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// envInt reads an optional integer knob; 0 when unset.
func envInt(name string) int {
	n, _ := strconv.Atoi(os.Getenv(name))
	return n
}
