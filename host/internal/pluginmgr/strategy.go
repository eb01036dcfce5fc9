package pluginmgr

import (
	"context"

	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/strategy"
)

// StrategyHandle calls a strategy plugin through the manager. Its methods
// mirror plugin.StrategyClient, with the manager's policy on top: a
// default deadline when ctx has none, routing to the current process,
// waiting through a restart, ErrPluginExited when the process dies under
// a call, ErrPluginUnavailable when the breaker is open. It is safe for
// concurrent use and stays valid across restarts.
//
// Handles of one plugin are equal values (comparable with ==, usable as a
// map key), though each Manager.Strategy call returns a new pointer.
type StrategyHandle struct {
	s *slot
}

// Info asks the running process for its fingerprint.
func (h *StrategyHandle) Info(ctx context.Context) (plugin.Info, error) {
	var info plugin.Info
	err := h.s.call(ctx, h.s.m.opts.CallTimeout, true, func(ctx context.Context, p *proc) error {
		var err error
		info, err = p.strategy.Info(ctx)
		return err
	})
	return info, err
}

// CreateInstance creates (or replaces) instance id and records it, so that
// every later process re-creates it.
func (h *StrategyHandle) CreateInstance(ctx context.Context, id string, cfg plugin.InstanceConfig) (plugin.Instance, error) {
	var inst plugin.Instance
	began := false
	begin := func() { h.s.beginInstance(id, cfg); began = true }
	err := h.s.callWith(ctx, h.s.m.opts.CallTimeout, true, begin, func(ctx context.Context, p *proc) error {
		var err error
		inst, err = p.strategy.CreateInstance(ctx, id, cfg)
		return err
	})
	if began {
		h.s.endInstance(id, err == nil)
	}
	return inst, err
}

// DestroyInstance forgets instance id first, so that no restart brings it
// back, then destroys it in the running process.
func (h *StrategyHandle) DestroyInstance(ctx context.Context, id string) error {
	h.s.forgetInstance(id)
	return h.s.call(ctx, h.s.m.opts.CallTimeout, true, func(ctx context.Context, p *proc) error {
		return p.strategy.DestroyInstance(ctx, id)
	})
}

// OnCandle evaluates instance id on window.
func (h *StrategyHandle) OnCandle(ctx context.Context, id string, window market.Series) (strategy.Signal, error) {
	var sig strategy.Signal
	err := h.s.call(ctx, h.s.m.opts.CallTimeout, true, func(ctx context.Context, p *proc) error {
		var err error
		sig, err = p.strategy.OnCandle(ctx, id, window)
		return err
	})
	return sig, err
}

// BatchOnCandle evaluates many instances in one round trip; per-instance
// errors are in the results.
func (h *StrategyHandle) BatchOnCandle(ctx context.Context, items []plugin.BatchItem) ([]plugin.BatchResult, error) {
	var res []plugin.BatchResult
	err := h.s.call(ctx, h.s.m.opts.CallTimeout, true, func(ctx context.Context, p *proc) error {
		var err error
		res, err = p.strategy.BatchOnCandle(ctx, items)
		return err
	})
	return res, err
}

// Backtest streams series through a fresh instance. Its default deadline
// is BacktestTimeout, and its duration never counts as unresponsiveness.
func (h *StrategyHandle) Backtest(ctx context.Context, cfg plugin.InstanceConfig, series market.Series, chunk int) (plugin.BacktestResult, error) {
	var res plugin.BacktestResult
	err := h.s.call(ctx, h.s.m.opts.BacktestTimeout, false, func(ctx context.Context, p *proc) error {
		var err error
		res, err = p.strategy.Backtest(ctx, cfg, series, chunk)
		return err
	})
	return res, err
}
