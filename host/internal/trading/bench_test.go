package trading

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/events"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/market"
)

// BenchmarkPlaceBurst measures the order path alone — Place through the
// real paper plugin on PostgreSQL — as a bot candle close uses it: a burst
// of simultaneous orders spread over several users, each with one paper
// account. One iteration is one burst; it reports orders per second and
// the per-order latency from the burst's start (p50, p99).
//
//	go test -run '^$' -bench PlaceBurst -benchtime 3x ./host/internal/trading/
//
// Environment:
//
//	STC_BENCH_ORDERS   orders per burst, default 1000
//	STC_BENCH_USERS    users the orders are spread over, default 10
//	STC_BENCH_WORKERS  concurrent callers, default 64 (the bot runner's
//	                   default order workers)
//	STC_BENCH_CONNS    PostgreSQL pool size, default 32
//	STC_BENCH_BATCH    when set, each caller places this many orders with
//	                   one PlaceBatch call instead of one Place each
//	STC_BENCH_EVENTS   "1" records every trade change in an event log
//	                   (Options.Events), as the host with streams does
func BenchmarkPlaceBurst(b *testing.B) {
	knob := func(name string, def int) int {
		if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
			return n
		}
		return def
	}
	orders, users := knob("STC_BENCH_ORDERS", 1000), knob("STC_BENCH_USERS", 10)
	workers, conns := knob("STC_BENCH_WORKERS", 64), knob("STC_BENCH_CONNS", 32)
	batch := knob("STC_BENCH_BATCH", 1)
	st := storetest.OpenPostgres(b, store.WithMaxOpenConns(conns))
	var tune []func(*Options)
	if os.Getenv("STC_BENCH_EVENTS") == "1" {
		tune = append(tune, withEvents(events.New(st, renderTrade, nil, events.Options{})))
	}
	e := newEnv(b, st, tune...)
	ctx := ctxT(b)
	uids := make([]int64, users)
	for i := range uids {
		uids[i], _ = e.connect(fmt.Sprintf("bench%d@example.com", i))
	}
	e.run()

	var all []time.Duration
	var rate []float64
	for b.Loop() {
		lat := make([]time.Duration, orders)
		jobs := make(chan int)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		start := time.Now()
		for range workers {
			wg.Go(func() {
				for from := range jobs {
					var reqs []PlaceRequest
					for i := from; i < min(from+batch, orders); i++ {
						reqs = append(reqs, manual(uids[i%users], market.Call, "1"))
					}
					var res []PlaceResult
					if batch == 1 {
						t, err := e.svc.Place(ctx, reqs[0])
						res = []PlaceResult{{Trade: t, Err: err}}
					} else {
						res = e.svc.PlaceBatch(ctx, reqs)
					}
					done := time.Since(start)
					for k, r := range res {
						err := r.Err
						if err == nil && r.Trade.Status != StatusOpen && !r.Trade.Status.settled() {
							err = fmt.Errorf("trade %d is %s: %s", r.Trade.ID, r.Trade.Status, r.Trade.Error)
						}
						if err != nil {
							mu.Lock()
							firstErr = cmpOr(firstErr, err)
							mu.Unlock()
						}
						lat[from+k] = done
					}
				}
			})
		}
		for from := 0; from < orders; from += batch {
			jobs <- from
		}
		close(jobs)
		wg.Wait()
		elapsed := time.Since(start)
		require.NoError(b, firstErr)
		rate = append(rate, float64(orders)/elapsed.Seconds())
		all = append(all, lat...)
	}
	slices.Sort(all)
	slices.Sort(rate)
	pct := func(p float64) float64 { return float64(all[min(len(all)-1, int(p*float64(len(all))))]) / 1e6 }
	b.ReportMetric(rate[len(rate)/2], "orders/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// cmpOr returns a if it is set, else b.
func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
