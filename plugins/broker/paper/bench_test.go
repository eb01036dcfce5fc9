package paper

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/broker/brokertest"
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

// benchStake is the stake of benchmark orders; accountOrders of them fit
// in a new account's balance, so benchPlace logs in anew after as many.
const (
	benchStake    = 1
	accountOrders = 9000
)

// benchPlace places b.N orders in batches of batch (1: PlaceOrder one by
// one) on sessions from open, and reports orders/s. Logins (PBKDF2) are
// outside the timer.
func benchPlace(b *testing.B, batch int, open func(user string) broker.Broker) {
	ctx := context.Background()
	var s broker.Broker
	left, users := 0, 0
	var loginCPU time.Duration // excluded from cpu-ns/op like the logins' wall time
	session := func(n int) {
		if left < n {
			b.StopTimer()
			was := cpuTime()
			users++
			s = open(fmt.Sprintf("bench-%d", users))
			left = accountOrders
			loginCPU += cpuTime() - was
			b.StartTimer()
		}
		left -= n
	}
	reqs := make([]broker.OrderRequest, batch)
	seq := 0
	start := cpuTime()
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		n := min(batch, b.N-done)
		session(n)
		for i := range reqs[:n] {
			seq++
			reqs[i] = broker.OrderRequest{ClientOrderID: fmt.Sprint("o", seq), Symbol: "EURUSD-OTC", Side: market.Call, Amount: decimal.NewFromInt(benchStake), Expiry: time.Minute}
		}
		if batch == 1 {
			if _, err := s.PlaceOrder(ctx, reqs[0]); err != nil {
				b.Fatal(err)
			}
			continue
		}
		res, err := broker.PlaceOrders(ctx, s, reqs[:n])
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
	b.StopTimer()
	reportCPU(b, start+loginCPU)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
}

// direct opens sessions of m in-process.
func direct(b *testing.B, m *Market) func(string) broker.Broker {
	return func(user string) broker.Broker {
		s := m.Factory()()
		if _, err := s.Open(context.Background(), broker.OpenRequest{Mode: broker.Practice, Credentials: map[string]string{"username": user, "password": "pw"}}); err != nil {
			b.Fatal(err)
		}
		return s
	}
}

// overGRPC opens sessions of m through the SDK's gRPC shim (in-process
// connection), as the host reaches the plugin.
func overGRPC(b *testing.B, m *Market) func(string) broker.Broker {
	c := brokertest.New(b, m.Factory()).Client
	return func(user string) broker.Broker {
		s := c.Session(user)
		if _, err := s.Open(context.Background(), broker.OpenRequest{Mode: broker.Practice, Credentials: map[string]string{"username": user, "password": "pw"}}); err != nil {
			b.Fatal(err)
		}
		return s
	}
}

// BenchmarkPlaceOrder is one order per call: one journal fsync per order.
func BenchmarkPlaceOrder(b *testing.B) {
	m, _ := benchMarket(b)
	benchPlace(b, 1, direct(b, m))
}

// BenchmarkPlaceOrdersBatch100 is 100 orders per call: one fsync per 100.
func BenchmarkPlaceOrdersBatch100(b *testing.B) {
	m, _ := benchMarket(b)
	benchPlace(b, 100, direct(b, m))
}

// BenchmarkPlaceOrderGRPC is BenchmarkPlaceOrder through the gRPC shim:
// one RPC and one fsync per order.
func BenchmarkPlaceOrderGRPC(b *testing.B) {
	m, _ := benchMarket(b)
	benchPlace(b, 1, overGRPC(b, m))
}

// BenchmarkPlaceOrdersBatch100GRPC is one PlaceOrders RPC and one fsync
// per 100 orders.
func BenchmarkPlaceOrdersBatch100GRPC(b *testing.B) {
	m, _ := benchMarket(b)
	benchPlace(b, 100, overGRPC(b, m))
}
