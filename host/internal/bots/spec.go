package bots

import (
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/host/internal/apperr"
	"github.com/stc-trading/stc/host/internal/names"
	"github.com/stc-trading/stc/host/internal/store"
)

// maxAmount bounds every money field: NUMERIC(20, 8) holds 12 integer
// digits, and no broker takes a stake anywhere near that.
func maxAmount() decimal.Decimal { return decimal.New(1, 9) }

// invalid returns an ErrInvalidSpec error holding an *apperr.FieldError:
// the reason is the field's name followed by format ("must be …").
func invalid(field, format string, args ...any) error {
	return apperr.Invalid(ErrInvalidSpec, field, "%s %s", field, fmt.Sprintf(format, args...))
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
	if sp.Name == "" || len(sp.Name) > MaxNameLen || !names.Valid(sp.Name) {
		return invalid("name", "must be 1 to %d bytes of visible text, without control, invisible or direction-changing characters", MaxNameLen)
	}
	if sp.Strategy == "" || len(sp.Strategy) > MaxStrategyNameLen || !names.Valid(sp.Strategy) || strings.ContainsAny(sp.Strategy, " /") {
		return invalid("strategy", "must name an installed strategy")
	}
	if len(sp.Params) > MaxParams {
		return invalid("params", "must hold at most %d parameters", MaxParams)
	}
	for k, v := range sp.Params {
		if k == "" || len(k) > MaxParamNameLen || !names.Valid(k) {
			return invalid("params", "names must be 1 to %d bytes of visible text", MaxParamNameLen)
		}
		if len(v) > MaxParamLen || !names.Valid(v) {
			return invalid("params."+k, "must be at most %d bytes of visible text", MaxParamLen)
		}
	}
	if sp.AccountID <= 0 {
		return invalid("account_id", "must be one of your accounts' ids")
	}
	if sp.Symbol == "" || len(sp.Symbol) > store.MaxSymbolLen || !names.Valid(sp.Symbol) || strings.ContainsAny(sp.Symbol, " :/") {
		return invalid("symbol", "must be 1 to %d visible characters without spaces, ':' or '/'", store.MaxSymbolLen)
	}
	if !sp.Timeframe.Valid() {
		return invalid("timeframe", "must be one of 1m 5m 15m 30m 1h 4h 1d")
	}
	if err := positiveMoney("amount", sp.Amount); err != nil {
		return err
	}
	if sp.Expiration < MinExpiration || sp.Expiration > MaxExpiration || sp.Expiration%1e9 != 0 {
		return invalid("expiration", "must be whole seconds from %d to %d", int(MinExpiration.Seconds()), int(MaxExpiration.Seconds()))
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
			return invalid(m.name, "must be 0 (none) or a positive amount of at most %s with at most 8 decimals", maxAmount())
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
			return invalid(n.name, "must be from 0 (none) to %d", n.max)
		}
	}
	if l.CooldownLosses > 0 && l.CooldownCandles == 0 {
		return invalid("limits.cooldown_candles", "is required with limits.cooldown_losses")
	}
	return nil
}

func (p Progression) validate(base decimal.Decimal) error {
	switch p.Kind {
	case ProgressionNone:
		if !p.Multiplier.IsZero() || p.MaxSteps != 0 || !p.MaxStake.IsZero() {
			return invalid("progression.kind", "must be martingale or soros to set multiplier, max_steps or max_stake")
		}
		return nil
	case ProgressionMartingale:
		if p.Multiplier.LessThanOrEqual(decimal.NewFromInt(1)) || p.Multiplier.GreaterThan(decimal.NewFromInt(10)) || !p.Multiplier.Round(8).Equal(p.Multiplier) {
			return invalid("progression.multiplier", "must be above 1 and at most 10, with at most 8 decimals")
		}
	case ProgressionSoros:
		if !p.Multiplier.IsZero() {
			return invalid("progression.multiplier", "is for martingale only")
		}
	default:
		return invalid("progression.kind", "must be none, martingale or soros")
	}
	if p.MaxSteps < 1 || p.MaxSteps > MaxSteps {
		return invalid("progression.max_steps", "must be from 1 to %d", MaxSteps)
	}
	if err := positiveMoney("progression.max_stake", p.MaxStake); err != nil {
		return err
	}
	if p.MaxStake.LessThan(base) {
		return invalid("progression.max_stake", "must be at least the amount")
	}
	return nil
}

func positiveMoney(field string, v decimal.Decimal) error {
	if !v.IsPositive() || v.GreaterThan(maxAmount()) || !v.Round(8).Equal(v) {
		return invalid(field, "must be a positive amount of at most %s with at most 8 decimals", maxAmount())
	}
	return nil
}
