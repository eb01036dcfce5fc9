package rsi_test

import (
	"bufio"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
)

// These benchmarks run the real stc-strategy-rsi binary as a separate
// process, connected the way the host connects (gRPC, AutoMTLS), so they
// measure transport plus evaluation. Results: docs/BENCHMARKS.md.

// built is one binary built once per benchmark run and shared by every
// benchmark that launches it.
type built struct {
	sync.Once
	path string
	err  error
}

var rsiBuild, bareBuild built

func pluginBinary(b *testing.B) string {
	return buildBinary(b, &rsiBuild, "stc-strategy-rsi", "./cmd/stc-strategy-rsi")
}

func buildBinary(b *testing.B, o *built, name, pkg string) string {
	o.Do(func() {
		dir, err := os.MkdirTemp("", "stc-rsi-bench") //nolint:usetesting // shared by every benchmark of the run, built once
		if err != nil {
			o.err = err
			return
		}
		o.path = filepath.Join(dir, name)
		out, err := exec.Command("go", "build", "-o", o.path, pkg).CombinedOutput()
		if err != nil {
			o.err = &buildError{out: string(out), err: err}
		}
	})
	if o.err != nil {
		b.Fatal(o.err)
	}
	return o.path
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

func launch(b *testing.B) (*plugin.StrategyClient, int, func()) {
	sc, _, pid, kill := launchConn(b, true)
	return sc, pid, kill
}

// launchConn is launch that also returns the plugin's gRPC connection, for
// the bare round trip. autoMTLS false is for measurement only: the host
// always uses AutoMTLS.
func launchConn(b *testing.B, autoMTLS bool) (*plugin.StrategyClient, *goplugin.GRPCClient, int, func()) {
	c, rpc := start(b, pluginBinary(b), autoMTLS)
	raw, err := rpc.Dispense(plugin.DispenseName(plugin.KindStrategy))
	if err != nil {
		b.Fatal(err)
	}
	sc, ok := raw.(*plugin.StrategyClient)
	if !ok {
		b.Fatalf("dispensed %T", raw)
	}
	gc, ok := rpc.(*goplugin.GRPCClient)
	if !ok {
		b.Fatalf("protocol client %T", rpc)
	}
	return sc, gc, c.ReattachConfig().Pid, c.Kill
}

// start launches binary with the client settings the host's plugin
// manager uses (handshake, plugin set, gRPC only, AutoMTLS, Unix socket,
// no host environment).
func start(b *testing.B, binary string, autoMTLS bool) (*goplugin.Client, goplugin.ClientProtocol) {
	c := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  plugin.Handshake(),
		VersionedPlugins: plugin.HostPluginSets(plugin.KindStrategy),
		Cmd:              exec.Command(binary),
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         autoMTLS,
		SkipHostEnv:      true,
		Logger:           hclog.NewNullLogger(),
	})
	rpc, err := c.Client()
	if err != nil {
		c.Kill()
		b.Fatal(err)
	}
	return c, rpc
}

// walk returns n 1m candles of a seeded random walk.
func walk(n int) market.Series {
	r := rand.New(rand.NewPCG(1, 2))
	out := make(market.Series, n)
	p := 1.08
	for i := range out {
		o := p
		p *= math.Exp(r.NormFloat64() * 0.0004)
		out[i] = market.Candle{Time: int64(i) * 60, Open: o, High: math.Max(o, p) * 1.0001, Low: math.Min(o, p) * 0.9999, Close: p, Volume: 100}
	}
	return out
}

// BenchmarkLiveOnCandleWindow200 is the live path: one OnCandle call with a
// 200-candle window per closed candle. It reports p50 and p99 latency.
func BenchmarkLiveOnCandleWindow200(b *testing.B) { benchLive(b, 200, 0) }

// BenchmarkLiveOnCandleWindow1 is the same call with a one-candle window:
// the round-trip floor of this machine, to read the 200-candle numbers
// against.
func BenchmarkLiveOnCandleWindow1(b *testing.B) { benchLive(b, 1, 0) }

// BenchmarkLiveOnCandleWindow1Deadline is Window1 with a deadline on every
// call, as the host's plugin manager sets one (pluginmgr's call timeout):
// it prices the timer and the grpc-timeout header.
func BenchmarkLiveOnCandleWindow1Deadline(b *testing.B) { benchLive(b, 1, 5*time.Second) }

func benchLive(b *testing.B, window int, deadline time.Duration) {
	c, _, kill := launch(b)
	defer kill()
	ctx := context.Background()
	if _, err := c.CreateInstance(ctx, "bench", plugin.InstanceConfig{Symbol: "EURUSD", Timeframe: market.M1}); err != nil {
		b.Fatal(err)
	}
	series := walk(2000)
	measure(b, func(i int) error {
		start := (i * 7) % (len(series) - window)
		cctx := ctx
		if deadline > 0 {
			var cancel context.CancelFunc
			cctx, cancel = context.WithTimeout(ctx, deadline)
			defer cancel()
		}
		_, err := c.OnCandle(cctx, "bench", series[start:start+window])
		return err
	})
}

// BenchmarkLiveBareRoundTrip is the transport floor under OnCandle: one
// unary call of the gRPC health service go-plugin registers in every
// plugin, on the same process, connection, Unix socket, AutoMTLS and
// server interceptors as BenchmarkLiveOnCandleWindow1, but with no STC
// message, conversion or strategy code. Window1 minus this is what the
// SDK and the strategy add per call.
func BenchmarkLiveBareRoundTrip(b *testing.B) { benchBare(b, true) }

// BenchmarkLiveBareRoundTripPlaintext is the bare round trip without
// AutoMTLS, to tell TLS's share of the floor. The host never runs so.
func BenchmarkLiveBareRoundTripPlaintext(b *testing.B) { benchBare(b, false) }

// BenchmarkLiveBareProcess is the bare round trip to a plugin process that
// runs no STC code at all (testdata/bareplugin: go-plugin's defaults, the
// STC handshake, the same client settings), to check that the STC
// process adds nothing to the floor either.
func BenchmarkLiveBareProcess(b *testing.B) {
	c, rpc := start(b, buildBinary(b, &bareBuild, "bareplugin", "./testdata/bareplugin"), true)
	defer c.Kill()
	gc, ok := rpc.(*goplugin.GRPCClient)
	if !ok {
		b.Fatalf("protocol client %T", rpc)
	}
	benchHealth(b, gc)
}

func benchBare(b *testing.B, autoMTLS bool) {
	_, gc, _, kill := launchConn(b, autoMTLS)
	defer kill()
	benchHealth(b, gc)
}

func benchHealth(b *testing.B, gc *goplugin.GRPCClient) {
	ctx := context.Background()
	health := grpc_health_v1.NewHealthClient(gc.Conn)
	req := &grpc_health_v1.HealthCheckRequest{Service: goplugin.GRPCServiceName}
	measure(b, func(int) error {
		resp, err := health.Check(ctx, req)
		if err == nil && resp.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
			b.Fatalf("health status %v", resp.GetStatus())
		}
		return err
	})
}

// measure runs call b.N times and reports its p50 and p99 latency.
func measure(b *testing.B, call func(i int) error) {
	b.Helper()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := call(i); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkBacktestStream500k streams 500,000 1m candles through one
// backtest (1,000 candles per message) and reports candles per second.
func BenchmarkBacktestStream500k(b *testing.B) {
	c, _, kill := launch(b)
	defer kill()
	series := walk(500_000)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := c.Backtest(ctx, plugin.InstanceConfig{Symbol: "EURUSD", Timeframe: market.M1}, series, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Signals) != len(series) {
			b.Fatalf("%d signals for %d candles", len(res.Signals), len(series))
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(series))*float64(b.N)/b.Elapsed().Seconds(), "candles/s")
}

// BenchmarkIdlePluginRSS reports the resident memory of a freshly started,
// idle plugin process.
func BenchmarkIdlePluginRSS(b *testing.B) {
	for i := 0; i < b.N; i++ {
		_, pid, kill := launch(b)
		time.Sleep(200 * time.Millisecond) // let start-up allocations settle
		kb := rssKB(b, pid)
		kill()
		b.ReportMetric(float64(kb)/1024, "RSS-MB")
	}
}

func rssKB(b *testing.B, pid int) int {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(rest)[0])
			return n
		}
	}
	b.Fatal("VmRSS not found")
	return 0
}
