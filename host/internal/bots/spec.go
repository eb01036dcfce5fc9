package bots

import (
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/host/internal/names"
)

// maxAmount bounds every money field: NUMERIC(20, 8) holds 12 integer
// digits, and no broker takes a stake anywhere near that.
func maxAmount() decimal.Decimal { return decimal.New(1, 9) }

// invalid returns an ErrInvalidSpec error naming the field.
func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidSpec, field, fmt.Sprintf(format, args...))
}

// normalize fills defaults (progression "none") and trims the name.
func (sp Spec) normalize() Spec {
	sp.Name = strings.TrimSpace(sp.Name)
	if sp.Progression.Kind == "" {
		sp.Progression.Kind = ProgressionNone
	}
	if sp.Params == nil {
		sp.Params = map[string]string{}
	}
	return sp
}

// validate checks what can be checked without I/O. The strategy's own
// parameter rules, the account and the symbol are checked by the service.
func (sp Spec) validate() error {
	if sp.Name == "" || len(sp.Name) > maxNameLen || !names.Valid(sp.Name) {
		return invalid("name", "1 to %d bytes of visible text, without control, invisible or direction-changing characters", maxNameLen)
	}
	if sp.Strategy == "" || len(sp.Strategy) > 64 || !names.Valid(sp.Strategy) || strings.ContainsAny(sp.Strategy, " /") {
		return invalid("strategy", "a strategy name is required")
	}
	if len(sp.Params) > maxParams {
		return invalid("params", "at most %d parameters", maxParams)
	}
	for k, v := range sp.Params {
		if k == "" || len(k) > 64 || !names.Valid(k) || len(v) > maxParamLen || !names.Valid(v) {
			return invalid("params", "parameter %+q: names up to 64 and values up to %d bytes of visible text", k, maxParamLen)
		}
	}
	if sp.AccountID <= 0 {
		return invalid("account_id", "an account id is required")
	}
	if sp.Symbol == "" || len(sp.Symbol) > maxSymbolLen || !names.Valid(sp.Symbol) || strings.ContainsAny(sp.Symbol, " :/") {
		return invalid("symbol", "1 to %d characters without spaces", maxSymbolLen)
	}
	if !sp.Timeframe.Valid() {
		return invalid("timeframe", "one of 1m 5m 15m 30m 1h 4h 1d")
	}
	if err := positiveMoney("amount", sp.Amount); err != nil {
		return err
	}
	if sp.Expiration < minExpiration || sp.Expiration > maxExpiration || sp.Expiration%1e9 != 0 {
		return invalid("expiration", "whole seconds from %d to %d", int(minExpiration.Seconds()), int(maxExpiration.Seconds()))
	}
	if err := sp.Limits.validate(); err != nil {
		return err
	}
	return sp.Progression.validate(sp.Amount)
}

func (l Limits) validate() error {
	for _, m := range []struct {
		name string
		v    decimal.Decimal
	}{{"limits.max_stake", l.MaxStake}, {"limits.max_daily_loss", l.MaxDailyLoss}} {
		if m.v.IsNegative() || m.v.GreaterThan(maxAmount()) || !m.v.Round(8).Equal(m.v) {
			return invalid(m.name, "0 (none) or a positive amount with at most 8 decimals")
		}
	}
	for _, n := range []struct {
		name string
		v    int
		max  int
	}{
		{"limits.max_open_trades", l.MaxOpenTrades, 1000},
		{"limits.max_trades_per_day", l.MaxTradesPerDay, 100000},
		{"limits.cooldown_losses", l.CooldownLosses, 1000},
		{"limits.cooldown_candles", l.CooldownCandles, 10000},
	} {
		if n.v < 0 || n.v > n.max {
			return invalid(n.name, "0 (none) to %d", n.max)
		}
	}
	if l.CooldownLosses > 0 && l.CooldownCandles == 0 {
		return invalid("limits.cooldown_candles", "required with cooldown_losses")
	}
	return nil
}

func (p Progression) validate(base decimal.Decimal) error {
	switch p.Kind {
	case ProgressionNone:
		if !p.Multiplier.IsZero() || p.MaxSteps != 0 || !p.MaxStake.IsZero() {
			return invalid("progression", "multiplier, max_steps and max_stake need a progression kind")
		}
		return nil
	case ProgressionMartingale:
		if p.Multiplier.LessThanOrEqual(decimal.NewFromInt(1)) || p.Multiplier.GreaterThan(decimal.NewFromInt(10)) || !p.Multiplier.Round(8).Equal(p.Multiplier) {
			return invalid("progression.multiplier", "above 1 and at most 10")
		}
	case ProgressionSoros:
		if !p.Multiplier.IsZero() {
			return invalid("progression.multiplier", "only for martingale")
		}
	default:
		return invalid("progression.kind", "none, martingale or soros")
	}
	if p.MaxSteps < 1 || p.MaxSteps > maxSteps {
		return invalid("progression.max_steps", "1 to %d", maxSteps)
	}
	if err := positiveMoney("progression.max_stake", p.MaxStake); err != nil {
		return err
	}
	if p.MaxStake.LessThan(base) {
		return invalid("progression.max_stake", "at least the amount")
	}
	return nil
}

func positiveMoney(field string, v decimal.Decimal) error {
	if !v.IsPositive() || v.GreaterThan(maxAmount()) || !v.Round(8).Equal(v) {
		return invalid(field, "a positive amount with at most 8 decimals")
	}
	return nil
}
