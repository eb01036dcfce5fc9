package strategytest_test

import (
	"context"
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
