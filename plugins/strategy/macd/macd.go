// Package macd is STC's MACD crossover strategy, served as a plugin by
// cmd/stc-strategy-macd.
//
// # Signal rule
//
// On each closed candle the strategy computes MACD(fast, slow, signal) of
// the closes (indicator.MACD, TA-Lib seeding) and compares this candle's
// values with the previous candle's. A cross is a strict change of side:
// "x crosses above y" means x ≤ y on the previous candle and x > y on this
// one, and "crosses below" means x ≥ y before and x < y now (the
// TradingView ta.crossover definition). With rule:
//
//	crossover (default)  CALL when the MACD line crosses above its signal
//	                     line, PUT when it crosses below; HOLD otherwise
//	zero                 CALL when the MACD line crosses above 0, PUT when
//	                     it crosses below 0; HOLD otherwise
//
// Reasons look like "macd 12.34 crossed above signal 11.9" or "macd
// -0.0031 crossed below 0" (four significant digits, so they read well at
// any price scale). A signal fires only on the candle of the cross; the
// strategy holds until both the current and the previous MACD values are
// defined, i.e. on the first slow+signal-1 candles. A perfectly flat market
// has MACD, signal and histogram all zero and never crosses.
//
// Parameters: fast (int, 12, 2..200), slow (int, 26, 3..500), signal (int,
// 9, 2..200), rule ("crossover" or "zero"). Configure rejects fast ≥ slow
// rather than silently swapping them as TA-Lib would.
//
// # Live and backtest agreement
//
// The warm-up is indicator.MACDWarmup(fast, slow, signal)+1 candles (293
// for 12/26/9): MACDWarmup makes the newest MACD values of a window match
// the full-history values within 1e-6×max|MACD|, and the extra candle gives
// the previous value the same history length. OnCandle computes MACD over
// exactly the window it is given; the vectorized backtest path (OnCandles)
// carries one streaming MACD over the whole series, O(1) per candle. The
// two agree bit for bit until the series outgrows the warm-up and within
// about 1e-9×max|MACD| after it (measured on the reference BTC/ETH 1h
// data), so a signal can only differ on a candle where the MACD line is
// that close to the line it crosses, and a reason only when a value sits on
// a rounding boundary of its four printed digits. The tests check that the
// two paths give identical signals, reasons included, on every candle of
// the reference data.
package macd

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

// Parameter names and rule values, as the host's API and the bot
// configuration spell them.
const (
	ParamFast   = "fast"
	ParamSlow   = "slow"
	ParamSignal = "signal"
	ParamRule   = "rule"

	RuleCrossover = "crossover" // MACD line against its signal line
	RuleZero      = "zero"      // MACD line against zero
)

// point is the MACD line and its signal line on one candle.
type point struct{ macd, signal float64 }

// nanPoint stands for "not defined yet"; every comparison with it is false.
var nanPoint = point{math.NaN(), math.NaN()}

// macdStrategy is one instance. stream and prev are used only by the
// vectorized backtest path, whose contract allows state across chunks;
// OnCandle never touches them.
type macdStrategy struct {
	fast, slow, signal int
	zero               bool // rule == RuleZero
	stream             *indicator.MACDStream
	prev               point
}

// New returns an unconfigured MACD strategy; it is the plugin's
// strategy.Factory.
func New() strategy.Strategy { return &macdStrategy{} }

var _ strategy.Vectorized = (*macdStrategy)(nil)

// Metadata describes the strategy and its parameters; the SDK validates
// every value against these bounds and options before Configure sees it.
func (*macdStrategy) Metadata() strategy.Metadata {
	return strategy.Metadata{
		Name:        "macd",
		Version:     "1.0.0",
		DisplayName: "MACD",
		Description: "CALL/PUT when the MACD line crosses above/below its signal line (rule=crossover) or zero (rule=zero).",
		Params: []strategy.Param{
			{
				Name: ParamFast, Type: strategy.Int, Default: "12",
				Min: schema.Bound(2), Max: schema.Bound(200),
				Description: "fast EMA period; must be below slow",
			},
			{
				Name: ParamSlow, Type: strategy.Int, Default: "26",
				Min: schema.Bound(3), Max: schema.Bound(500),
				Description: "slow EMA period",
			},
			{
				Name: ParamSignal, Type: strategy.Int, Default: "9",
				Min: schema.Bound(2), Max: schema.Bound(200),
				Description: "signal line EMA period",
			},
			{
				Name: ParamRule, Type: strategy.String, Default: RuleCrossover,
				Options:     []string{RuleCrossover, RuleZero},
				Description: "crossover: MACD crosses its signal line; zero: MACD crosses zero",
			},
		},
	}
}

// errPeriods is the cross-parameter rule the schema cannot express.
var errPeriods = errors.New("fast must be below slow")

// Configure checks fast < slow (TA-Lib would swap them, which hides a
// configuration mistake) and asks for one candle more than
// indicator.MACDWarmup, because a cross needs the previous candle's value
// with the same accuracy as the current one.
func (s *macdStrategy) Configure(_ context.Context, req strategy.ConfigureRequest) (strategy.ConfigureResponse, error) {
	fast, slow, signal := req.Params.Int(ParamFast), req.Params.Int(ParamSlow), req.Params.Int(ParamSignal)
	if fast >= slow {
		return strategy.ConfigureResponse{}, fmt.Errorf("%w: %w (fast %d, slow %d)",
			strategy.ErrInvalidParams, errPeriods, fast, slow)
	}
	s.fast, s.slow, s.signal = fast, slow, signal
	s.zero = req.Params.String(ParamRule) == RuleZero
	s.stream = indicator.NewMACD(fast, slow, signal)
	s.prev = nanPoint
	return strategy.ConfigureResponse{Warmup: indicator.MACDWarmup(fast, slow, signal) + 1}, nil
}

// OnCandle decides on the window's last candle from the MACD of the
// window's closes. A fresh stream per call keeps it stateless, as the host
// requires, and gives bit for bit what indicator.MACD would without
// allocating.
func (s *macdStrategy) OnCandle(_ context.Context, req strategy.CandleRequest) (strategy.Signal, error) {
	m := indicator.NewMACD(s.fast, s.slow, s.signal)
	prev, cur := nanPoint, nanPoint
	for _, c := range req.Window {
		prev = cur
		cur = update(m, c.Close)
	}
	return s.decide(prev, cur), nil
}

// OnCandles is the vectorized backtest path: one streaming MACD and the
// previous candle's values carried across chunks, O(1) per candle. See the
// package documentation for how its signals relate to OnCandle's.
func (s *macdStrategy) OnCandles(_ context.Context, chunk market.Series, out []strategy.Signal) error {
	if s.stream == nil {
		return errors.New("macd: OnCandles called before Configure")
	}
	for i, c := range chunk {
		cur := update(s.stream, c.Close)
		out[i] = s.decide(s.prev, cur)
		s.prev = cur
	}
	return nil
}

func update(m *indicator.MACDStream, v float64) point {
	line, signal, _ := m.Update(v)
	return point{line, signal}
}

// decide is the signal rule, shared by both paths so they can only differ
// through the values they pass in. NaN (not defined yet) fails every
// comparison, so the first defined candle holds.
func (s *macdStrategy) decide(prev, cur point) strategy.Signal {
	if s.zero {
		switch {
		case prev.macd <= 0 && cur.macd > 0:
			return strategy.Call("macd %.4g crossed above 0", cur.macd)
		case prev.macd >= 0 && cur.macd < 0:
			return strategy.Put("macd %.4g crossed below 0", cur.macd)
		}
		return strategy.Hold()
	}
	switch {
	case prev.macd <= prev.signal && cur.macd > cur.signal:
		return strategy.Call("macd %.4g crossed above signal %.4g", cur.macd, cur.signal)
	case prev.macd >= prev.signal && cur.macd < cur.signal:
		return strategy.Put("macd %.4g crossed below signal %.4g", cur.macd, cur.signal)
	}
	return strategy.Hold()
}
