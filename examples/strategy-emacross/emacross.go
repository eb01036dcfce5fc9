// Package emacross is a complete STC strategy in one file, built only on the
// SDK: CALL when the fast EMA of the closes crosses above the slow EMA, PUT
// when it crosses below, HOLD otherwise. Start from it to write your own.
package emacross

import (
	"context"
	"fmt"

	"github.com/stc-trading/stc/sdk/indicator"
	"github.com/stc-trading/stc/sdk/schema"
	"github.com/stc-trading/stc/sdk/strategy"
)

type emaCross struct{ fast, slow int }

// New returns an unconfigured instance; the SDK calls it once per bot or
// backtest, so fields need no locking.
func New() strategy.Strategy { return &emaCross{} }

// Metadata declares the parameters; the SDK applies defaults and rejects
// unknown names and out-of-range values before Configure runs.
func (*emaCross) Metadata() strategy.Metadata {
	return strategy.Metadata{
		Name: "emacross", Version: "1.0.0",
		Description: "CALL when the fast EMA crosses above the slow EMA, PUT when it crosses below.",
		Params: []strategy.Param{
			{Name: "fast", Type: strategy.Int, Default: "9", Min: schema.Bound(2), Max: schema.Bound(200), Description: "fast EMA period"},
			{Name: "slow", Type: strategy.Int, Default: "21", Min: schema.Bound(3), Max: schema.Bound(500), Description: "slow EMA period"},
		},
	}
}

// Configure checks what no single parameter can, and sizes the window.
func (s *emaCross) Configure(_ context.Context, req strategy.ConfigureRequest) (strategy.ConfigureResponse, error) {
	s.fast, s.slow = req.Params.Int("fast"), req.Params.Int("slow")
	if s.fast >= s.slow {
		return strategy.ConfigureResponse{}, fmt.Errorf("%w: fast %d must be below slow %d", strategy.ErrInvalidParams, s.fast, s.slow)
	}
	// An EMA never forgets its starting value; after 10×slow candles it
	// weighs ~2e-9, so a live window decides like a full-history backtest.
	return strategy.ConfigureResponse{Warmup: 10*s.slow + 1}, nil
}

// OnCandle decides on the window's last candle. It recomputes both EMAs from
// the window on every call: the host may replay any window, so no state.
func (s *emaCross) OnCandle(_ context.Context, req strategy.CandleRequest) (strategy.Signal, error) {
	fast, slow := indicator.NewEMA(s.fast), indicator.NewEMA(s.slow)
	var prev, gap float64
	for _, c := range req.Window {
		prev, gap = gap, fast.Update(c.Close)-slow.Update(c.Close)
	}
	// Until both EMAs are defined gap is NaN, and every comparison with NaN
	// is false: short windows hold.
	switch {
	case prev <= 0 && gap > 0:
		return strategy.Call("ema%d crossed above ema%d", s.fast, s.slow), nil
	case prev >= 0 && gap < 0:
		return strategy.Put("ema%d crossed below ema%d", s.fast, s.slow), nil
	}
	return strategy.Hold(), nil
}
