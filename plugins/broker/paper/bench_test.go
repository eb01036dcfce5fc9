package paper

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// cpuTime is the process's user+system CPU time. Benchmarks report it per
// op next to ns/op because wall time is inflated on a shared, loaded
// machine while CPU time is not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// benchMarket opens a market on a Wednesday afternoon, markets open.
func benchMarket(b *testing.B) (*Market, time.Time) {
	b.Helper()
	now := time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC)
	m, err := New(Config{DataDir: b.TempDir(), Seed: 7, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close() })
	return m, now
}

// BenchmarkCandles1000x1m serves 1,000 one-minute candles (60,000 ticks),
// a different range each iteration so nothing is cached but the anchors.
func BenchmarkCandles1000x1m(b *testing.B) {
	m, now := benchMarket(b)
	ctx := context.Background()
	i := int64(0)
	start := cpuTime()
	defer reportCPU(b, start)
	for b.Loop() {
		from := now.Unix() - 86400*30 + (i%20)*3600*17
		i++
		page, err := m.candles(ctx, broker.CandlesRequest{Symbol: "EURUSD-OTC", Timeframe: market.M1, From: from, PageSize: 1000})
		if err != nil || len(page.Candles) != 1000 {
			b.Fatalf("got %d candles, err %v", len(page.Candles), err)
		}
	}
}

// BenchmarkTickPrice is one random-access tick: a 17-level descent.
func BenchmarkTickPrice(b *testing.B) {
	m, now := benchMarket(b)
	p := m.bySymbol["EURUSD"].path
	t := now.Unix()
	p.at(t) // warm the anchor cache
	i := int64(0)
	start := cpuTime()
	defer reportCPU(b, start)
	for b.Loop() {
		p.at(t - i*7919)
		i = (i + 1) % 10000
	}
}

// BenchmarkDayAggregate computes one full day of ticks into quarters, the
// cold cost of a 1d candle.
func BenchmarkDayAggregate(b *testing.B) {
	m, now := benchMarket(b)
	in := m.bySymbol["EURUSD-OTC"]
	day := now.Unix() - floorMod(now.Unix(), daySeconds) - 10*daySeconds
	in.computeDay(day)
	start := cpuTime()
	defer reportCPU(b, start)
	for b.Loop() {
		in.computeDay(day)
	}
}
