package strategytest_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/indicator"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/strategy"
	"github.com/stc-trading/stc/sdk/strategy/strategytest"
)

// momentum is a window-only strategy: CALL after n rising closes, PUT after
// n falling ones. It exercises the SDK's sliding-window backtest path.
type momentum struct{ n int }

func (m *momentum) Metadata() strategy.Metadata {
	return strategy.Metadata{Name: "momentum", Version: "1.0.0", Params: []strategy.Param{
		{Name: "n", Type: strategy.Int, Default: "3", Min: ptr(1), Max: ptr(50)},
	}}
}

func ptr(v float64) *float64 { return &v }

func (m *momentum) Configure(_ context.Context, req strategy.ConfigureRequest) (strategy.ConfigureResponse, error) {
	m.n = req.Params.Int("n")
	return strategy.ConfigureResponse{Warmup: m.n + 1}, nil
}

func (m *momentum) OnCandle(_ context.Context, req strategy.CandleRequest) (strategy.Signal, error) {
	w := req.Window
	if len(w) < m.n+1 {
		return strategy.Hold(), nil
	}
	up, down := true, true
	for i := len(w) - m.n; i < len(w); i++ {
		up = up && w[i].Close > w[i-1].Close
		down = down && w[i].Close < w[i-1].Close
	}
	switch {
	case up:
		return strategy.Call("%d rising closes", m.n), nil
	case down:
		return strategy.Put("%d falling closes", m.n), nil
	}
	return strategy.Hold(), nil
}

// emaTrend implements Vectorized with streaming state, exercising that
// backtest path.
type emaTrend struct {
	period int
	stream *indicator.EMAStream
}

func (e *emaTrend) Metadata() strategy.Metadata {
	return strategy.Metadata{Name: "ematrend", Version: "0.2.0", Params: []strategy.Param{
		{Name: "period", Type: strategy.Int, Default: "10", Min: ptr(2)},
	}}
}

func (e *emaTrend) Configure(_ context.Context, req strategy.ConfigureRequest) (strategy.ConfigureResponse, error) {
	e.period = req.Params.Int("period")
	e.stream = indicator.NewEMA(e.period)
	return strategy.ConfigureResponse{Warmup: 30 * e.period}, nil
}

func decide(close, ema float64) strategy.Signal {
	switch {
	case ema != ema: // NaN: not enough data
		return strategy.Hold()
	case close > ema*1.02:
		return strategy.Put("stretched above ema")
	case close < ema*0.98:
		return strategy.Call("stretched below ema")
	}
	return strategy.Hold()
}

func (e *emaTrend) OnCandle(_ context.Context, req strategy.CandleRequest) (strategy.Signal, error) {
	closes := req.Window.Closes()
	ema := indicator.EMA(closes, e.period)
	return decide(closes[len(closes)-1], ema[len(ema)-1]), nil
}

func (e *emaTrend) OnCandles(_ context.Context, chunk market.Series, out []strategy.Signal) error {
	for i, c := range chunk {
		out[i] = decide(c.Close, e.stream.Update(c.Close))
	}
	return nil
}

func TestConformanceWindowStrategy(t *testing.T) {
	strategytest.Conformance(t, func() strategy.Strategy { return &momentum{} }, strategytest.Sine(400))
}

func TestConformanceVectorizedStrategy(t *testing.T) {
	strategytest.Conformance(t, func() strategy.Strategy { return &emaTrend{} }, strategytest.Sine(800))
}

func TestGoldenRoundTrip(t *testing.T) {
	path := t.TempDir() + "/momentum.golden"
	t.Setenv("STC_UPDATE_GOLDEN", "1")
	f := func() strategy.Strategy { return &momentum{} }
	strategytest.Golden(t, f, map[string]string{"n": "4"}, strategytest.Sine(300), path)
	t.Setenv("STC_UPDATE_GOLDEN", "")
	strategytest.Golden(t, f, map[string]string{"n": "4"}, strategytest.Sine(300), path)
}

func TestSineIsValid(t *testing.T) {
	for _, c := range strategytest.Sine(1000) {
		require.NoError(t, c.Validate(market.H1))
	}
}

func TestHarnessCapabilities(t *testing.T) {
	h := strategytest.New(t, func() strategy.Strategy { return &emaTrend{} })
	info, err := h.Client.Info(context.Background())
	require.NoError(t, err)
	require.Equal(t, plugin.KindStrategy, info.Kind)
	require.True(t, info.Capabilities["vectorized"])
}

// badVersion is momentum with a version that is not semantic.
type badVersion struct{ momentum }

func (b *badVersion) Metadata() strategy.Metadata {
	m := b.momentum.Metadata()
	m.Version = "one"
	return m
}

// drift is momentum whose vectorized backtest never trades: its backtest
// disagrees with its live path.
type drift struct{ momentum }

func (d *drift) OnCandles(_ context.Context, chunk market.Series, out []strategy.Signal) error {
	for i := range chunk {
		out[i] = strategy.Hold()
	}
	return nil
}

// brokenEnv names the broken strategy TestBrokenStrategyChild runs.
const brokenEnv = "STC_STRATEGYTEST_BROKEN"

// broken are strategies with one defect each, and the one check of
// Conformance that must catch it.
func broken() map[string]struct {
	f     strategy.Factory
	fails string
} {
	return map[string]struct {
		f     strategy.Factory
		fails string
	}{
		"bad version":    {func() strategy.Strategy { return &badVersion{} }, "info"},
		"backtest drift": {func() strategy.Strategy { return &drift{} }, "backtest_agrees_with_the_live_path"},
	}
}

// conformanceChecks are Conformance's checks as go test names them.
func conformanceChecks() []string {
	return []string{
		"info", "parameters", "live_path_is_deterministic_and_valid", "short_window", "unknown_instance",
		"batch_equals_single_calls", "batch_of_windows_cut_from_one_series_equals_single_calls",
		"backtest_agrees_with_the_live_path", "destroy",
	}
}

// TestBrokenStrategyChild is the child process of
// TestConformanceNamesTheFailingCheck: it runs Conformance on the broken
// strategy named by STC_STRATEGYTEST_BROKEN, and must fail.
func TestBrokenStrategyChild(t *testing.T) {
	name := os.Getenv(brokenEnv)
	if name == "" {
		t.Skip("runs only as the child of TestConformanceNamesTheFailingCheck")
	}
	strategytest.Conformance(t, broken()[name].f, strategytest.Sine(400))
}

// Conformance catches each defect in the check named for it, and runs and
// passes every other check: an author reads what is wrong from the
// failing subtest's name. Each run is a child test process, since the
// failure under test would fail this test.
func TestConformanceNamesTheFailingCheck(t *testing.T) {
	result := regexp.MustCompile(`--- (PASS|FAIL): TestBrokenStrategyChild/(\S+)`)
	for name, b := range broken() {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenStrategyChild$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), brokenEnv+"="+name)
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "Conformance passed a broken strategy:\n%s", out)
			var failed, ran []string
			for _, m := range result.FindAllStringSubmatch(string(out), -1) {
				ran = append(ran, m[2])
				if m[1] == "FAIL" {
					failed = append(failed, m[2])
				}
			}
			require.Equal(t, []string{b.fails}, failed, "failed checks:\n%s", out)
			require.ElementsMatch(t, conformanceChecks(), ran, "checks run:\n%s", out)
		})
	}
}
