// Package rsi is STC's RSI threshold strategy: the seed system's "RSI
// oversold → CALL, overbought → PUT", served as a plugin by
// cmd/stc-strategy-rsi.
//
// # Signal rule
//
// On each closed candle the strategy computes Wilder's RSI(period) of the
// closes (indicator.RSI, TA-Lib seeding) and decides on its value for that
// candle alone — a level rule, not a crossing rule:
//
//	RSI ≤ oversold     CALL, reason "rsi 27.31 <= 30"
//	RSI ≥ overbought   PUT,  reason "rsi 74.02 >= 70"
//	otherwise          HOLD
//
// Both bounds are inclusive. Configure rejects oversold ≥ overbought, so at
// most one side can match. While fewer than period+1 closes are available
// the RSI is undefined and the strategy holds. A market that has not moved
// at all has RSI indicator.FlatRSI (50), which holds with any sensible
// thresholds. The level rule fires on every candle the RSI stays beyond a
// threshold, as the seed system did; de-duplicating consecutive trades is
// the bot's concern (cool-down, one open position), not the strategy's.
//
// Parameters: period (int, 14, 2..500), oversold (float, 30, 0..100),
// overbought (float, 70, 0..100).
//
// # Live and backtest agreement
//
// OnCandle computes the RSI of exactly the window it is given, which the
// host caps at the warm-up, indicator.RSIWarmup(period) = 25×period
// candles (350 for RSI(14)). The vectorized backtest path (OnCandles) runs
// one streaming RSI over the whole series instead, which is O(1) per
// candle. The two values are not bit-identical once the series is longer
// than the warm-up, because Wilder's RSI never forgets its seed; the
// warm-up makes them agree within 1e-6 RSI points (measured worst case on
// the reference BTC/ETH 1h data: about 1e-9). A signal can therefore only
// differ between the two paths on a candle whose RSI lies within that
// distance of a threshold, and its reason only when the value sits on a
// rounding boundary of the two printed decimals. The tests check that the
// paths give identical signals, reasons included, on every candle of the
// reference data. Computing the exact window RSI for every backtest candle
// would cost O(warm-up) per candle and buy nothing measurable.
package rsi

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/stc-trading/stc/sdk/indicator"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/schema"
	"github.com/stc-trading/stc/sdk/strategy"
)

// Parameter names, as the host's API and the bot configuration spell them.
const (
	ParamPeriod     = "period"
	ParamOversold   = "oversold"
	ParamOverbought = "overbought"
)

// rsiStrategy is one instance. The thresholds and period are fixed by
// Configure; stream is only used by the vectorized backtest path, whose
// contract allows state across chunks. OnCandle never touches it.
type rsiStrategy struct {
	period     int
	oversold   float64
	overbought float64
	stream     *indicator.RSIStream
}

// New returns an unconfigured RSI strategy; it is the plugin's
// strategy.Factory.
func New() strategy.Strategy { return &rsiStrategy{} }

var _ strategy.Vectorized = (*rsiStrategy)(nil)

// Metadata describes the strategy and its parameters; the SDK validates
// every value against these bounds before Configure sees it.
func (*rsiStrategy) Metadata() strategy.Metadata {
	return strategy.Metadata{
		Name:        "rsi",
		Version:     "1.0.0",
		DisplayName: "RSI",
		Description: "CALL when RSI <= oversold, PUT when RSI >= overbought (Wilder RSI of the closes).",
		Params: []strategy.Param{
			{
				Name: ParamPeriod, Type: strategy.Int, Default: "14",
				Min: schema.Bound(2), Max: schema.Bound(500),
				Description: "RSI period in candles",
			},
			{
				Name: ParamOversold, Type: strategy.Float, Default: "30",
				Min: schema.Bound(0), Max: schema.Bound(100),
				Description: "CALL when RSI is at or below this level",
			},
			{
				Name: ParamOverbought, Type: strategy.Float, Default: "70",
				Min: schema.Bound(0), Max: schema.Bound(100),
				Description: "PUT when RSI is at or above this level; must be above oversold",
			},
		},
	}
}

// errThresholds is the cross-parameter rule the schema cannot express.
var errThresholds = errors.New("oversold must be below overbought")

// Configure checks oversold < overbought (with equal or crossed levels one
// RSI value would be both oversold and overbought) and asks for
// indicator.RSIWarmup(period) candles so live values match a full-history
// RSI.
func (s *rsiStrategy) Configure(_ context.Context, req strategy.ConfigureRequest) (strategy.ConfigureResponse, error) {
	period := req.Params.Int(ParamPeriod)
	oversold := req.Params.Float(ParamOversold)
	overbought := req.Params.Float(ParamOverbought)
	if oversold >= overbought {
		return strategy.ConfigureResponse{}, fmt.Errorf("%w: %w (oversold %g, overbought %g)",
			strategy.ErrInvalidParams, errThresholds, oversold, overbought)
	}
	s.period, s.oversold, s.overbought = period, oversold, overbought
	s.stream = indicator.NewRSI(period)
	return strategy.ConfigureResponse{Warmup: indicator.RSIWarmup(period)}, nil
}

// OnCandle decides on the window's last candle from the RSI of the window's
// closes. A fresh stream per call keeps it stateless, as the host requires,
// and gives bit for bit what indicator.RSI would without allocating a
// slice of closes.
func (s *rsiStrategy) OnCandle(_ context.Context, req strategy.CandleRequest) (strategy.Signal, error) {
	rsi := indicator.NewRSI(s.period)
	for _, c := range req.Window {
		rsi.Update(c.Close)
	}
	return s.decide(rsi.Value()), nil
}

// OnCandles is the vectorized backtest path: one streaming RSI carried
// across chunks, O(1) per candle. See the package documentation for how its
// signals relate to OnCandle's.
func (s *rsiStrategy) OnCandles(_ context.Context, chunk market.Series, out []strategy.Signal) error {
	if s.stream == nil {
		return errors.New("rsi: OnCandles called before Configure")
	}
	for i, c := range chunk {
		out[i] = s.decide(s.stream.Update(c.Close))
	}
	return nil
}

// decide is the signal rule, shared by both paths so they can only differ
// through the RSI value they pass in.
func (s *rsiStrategy) decide(rsi float64) strategy.Signal {
	switch {
	case math.IsNaN(rsi):
		return strategy.Hold() // not enough closes yet
	case rsi <= s.oversold:
		return strategy.Call("rsi %.2f <= %g", rsi, s.oversold)
	case rsi >= s.overbought:
		return strategy.Put("rsi %.2f >= %g", rsi, s.overbought)
	}
	return strategy.Hold()
}
