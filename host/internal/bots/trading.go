package bots

import (
	"context"
	"errors"
	"fmt"

	"github.com/stc-trading/stc/host/internal/trading"
)

// TradingService is what FromTrading needs of the trading service;
// *trading.Service satisfies it.
type TradingService interface {
	Place(ctx context.Context, req trading.PlaceRequest) (trading.Trade, error)
	PlaceBatch(ctx context.Context, reqs []trading.PlaceRequest) []trading.PlaceResult
	RecentSettled(ctx context.Context, userID, botID int64, n int) ([]trading.Trade, error)
}

var _ TradingService = (*trading.Service)(nil)

// FromTrading adapts the trading service to Trader: orders go through its
// exactly-once path with the bot's id and limits, and its errors are
// mapped to this package's (ErrRiskLimit, ErrAccountNotConnected,
// ErrNotEntitled), keeping the original in the chain.
func FromTrading(t TradingService) BatchTrader { return tradingTrader{t} }

type tradingTrader struct{ t TradingService }

func (a tradingTrader) Place(ctx context.Context, req OrderRequest) error {
	tr, err := a.t.Place(ctx, placeRequest(req))
	return outcome(tr, err)
}

// PlaceBatch places the orders with the trading service's PlaceBatch.
func (a tradingTrader) PlaceBatch(ctx context.Context, reqs []OrderRequest) []error {
	in := make([]trading.PlaceRequest, len(reqs))
	for i, r := range reqs {
		in[i] = placeRequest(r)
	}
	res := a.t.PlaceBatch(ctx, in)
	out := make([]error, len(reqs))
	for i := range out {
		if i >= len(res) {
			out[i] = fmt.Errorf("trading answered %d results for %d orders", len(res), len(reqs))
			continue
		}
		out[i] = outcome(res[i].Trade, res[i].Err)
	}
	return out
}

// placeRequest is the trading request of a bot order.
func placeRequest(req OrderRequest) trading.PlaceRequest {
	return trading.PlaceRequest{
		UserID: req.UserID, AccountID: req.AccountID, Broker: req.Broker, Symbol: req.Symbol,
		Direction: req.Direction, Amount: req.Amount, Expiration: req.Expiration, BotID: req.BotID,
		BotLimits: trading.Limits{
			MaxStake: req.Limits.MaxStake, MaxOpenTrades: req.Limits.MaxOpenTrades,
			MaxTradesPerDay: req.Limits.MaxTradesPerDay, MaxDailyLoss: req.Limits.MaxDailyLoss,
			CooldownLosses: req.Limits.CooldownLosses, Cooldown: req.Cooldown,
		},
	}
}

// outcome maps the trading service's answer to this package's errors.
func outcome(tr trading.Trade, err error) error {
	switch {
	case errors.Is(err, trading.ErrRiskLimit):
		return fmt.Errorf("%w: %w", ErrRiskLimit, err)
	case errors.Is(err, trading.ErrAccountNotConnected), errors.Is(err, trading.ErrAccountNotFound), errors.Is(err, trading.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrAccountNotConnected, err)
	case errors.Is(err, trading.ErrNotEntitled):
		return fmt.Errorf("%w: %w", ErrNotEntitled, err)
	case err != nil:
		return err
	}
	switch tr.Status {
	case trading.StatusRejected:
		return fmt.Errorf("order %d rejected by the broker: %s", tr.ID, tr.Error)
	case trading.StatusUnknown:
		// Reconciliation resolves it; the bot only shows it.
		return fmt.Errorf("order %d sent, answer unknown: %s", tr.ID, tr.Error)
	}
	return nil
}

func (a tradingTrader) RecentSettled(ctx context.Context, userID, botID int64, n int) ([]SettledTrade, error) {
	ts, err := a.t.RecentSettled(ctx, userID, botID, n)
	if err != nil {
		return nil, err
	}
	out := make([]SettledTrade, 0, len(ts))
	for _, t := range ts {
		out = append(out, SettledTrade{Status: string(t.Status), Amount: t.Amount, Profit: t.Profit})
	}
	return out, nil
}
