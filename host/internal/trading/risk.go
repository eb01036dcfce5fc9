package trading

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/host/internal/store"
)

// riskScope is whose trades a set of limits counts: the user's (botID 0)
// or one bot's.
type riskScope struct {
	userID, botID int64
}

// where is the scope's filter and its arguments.
func (sc riskScope) where() (string, []any) {
	if sc.botID != 0 {
		return `user_id = ? AND bot_id = ?`, []any{sc.userID, sc.botID}
	}
	return `user_id = ?`, []any{sc.userID}
}

func (sc riskScope) refuse(rule, format string, args ...any) error {
	who := "your"
	if sc.botID != 0 {
		who = "the bot's"
	}
	return &RiskError{Rule: rule, Message: who + " " + fmt.Sprintf(format, args...)}
}

// dayStart is the start of now's UTC day.
func dayStart(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// checkRisk applies limits l, counted over sc's trades, to req at host
// time now. It runs in the insert transaction, after the user's lock.
func checkRisk(tx *sqlx.Tx, sc riskScope, l Limits, req PlaceRequest, now time.Time) error {
	where, args := sc.where()
	with := func(extra ...any) []any { return append(append([]any{}, args...), extra...) }
	if l.MaxStake.IsPositive() && req.Amount.GreaterThan(l.MaxStake) {
		return sc.refuse(RuleMaxStake, "maximum stake is %s", l.MaxStake)
	}
	if l.MaxOpenTrades > 0 {
		var n int
		if err := tx.Get(&n, tx.Rebind(`SELECT count(*) FROM trades WHERE `+where+` AND status IN `+activeStatuses), args...); err != nil {
			return fmt.Errorf("trading: count open trades: %w", err)
		}
		if n >= l.MaxOpenTrades {
			return sc.refuse(RuleMaxOpenTrades, "limit of %d open trades is reached", l.MaxOpenTrades)
		}
	}
	today := dayStart(now).UnixMilli()
	if l.MaxTradesPerDay > 0 {
		var n int
		if err := tx.Get(&n, tx.Rebind(`SELECT count(*) FROM trades WHERE `+where+` AND created_at >= ? AND status <> 'rejected'`),
			with(today)...); err != nil {
			return fmt.Errorf("trading: count today's trades: %w", err)
		}
		if n >= l.MaxTradesPerDay {
			return sc.refuse(RuleMaxTradesPerDay, "limit of %d trades a day (UTC) is reached", l.MaxTradesPerDay)
		}
	}
	if l.MaxDailyLoss.IsPositive() {
		// Summed in Go: SQLite's SUM over TEXT money would go through
		// floating point.
		var profits []decimal.Decimal
		if err := tx.Select(&profits, tx.Rebind(`SELECT profit FROM trades WHERE `+where+
			` AND settled_at >= ? AND status IN ('won', 'lost', 'draw')`), with(today)...); err != nil {
			return fmt.Errorf("trading: read today's results: %w", err)
		}
		loss := decimal.Zero
		for _, p := range profits {
			loss = loss.Sub(p)
		}
		if loss.GreaterThanOrEqual(l.MaxDailyLoss) {
			return sc.refuse(RuleMaxDailyLoss, "daily loss limit of %s is reached (lost %s today, UTC)", l.MaxDailyLoss, loss)
		}
	}
	if l.CooldownLosses > 0 && l.Cooldown > 0 {
		var last []struct {
			Status    string `db:"status"`
			SettledAt int64  `db:"settled_at"`
		}
		if err := tx.Select(&last, tx.Rebind(`SELECT status, settled_at FROM trades WHERE `+where+
			` AND status IN ('won', 'lost', 'draw') ORDER BY settled_at DESC, id DESC LIMIT ?`), with(l.CooldownLosses)...); err != nil {
			return fmt.Errorf("trading: read recent results: %w", err)
		}
		streak := len(last) == l.CooldownLosses
		for _, x := range last {
			streak = streak && x.Status == string(StatusLost)
		}
		if streak {
			until := time.UnixMilli(last[0].SettledAt).Add(l.Cooldown)
			if now.Before(until) {
				return sc.refuse(RuleCooldown, "cool-down after %d losses in a row lasts until %s", l.CooldownLosses, until.UTC().Format(time.RFC3339))
			}
		}
	}
	return nil
}

// limitsRow is one user_limits row.
type limitsRow struct {
	MaxStake        decimal.Decimal `db:"max_stake"`
	MaxOpenTrades   int             `db:"max_open_trades"`
	MaxTradesPerDay int             `db:"max_trades_per_day"`
	MaxDailyLoss    decimal.Decimal `db:"max_daily_loss"`
	CooldownLosses  int             `db:"cooldown_losses"`
	CooldownMS      int64           `db:"cooldown_ms"`
}

// limitsNullRow is a user_limits row read through an outer join, where
// every column may be NULL (no row).
type limitsNullRow struct {
	MaxStake        decimal.NullDecimal `db:"max_stake"`
	MaxOpenTrades   sql.NullInt64       `db:"max_open_trades"`
	MaxTradesPerDay sql.NullInt64       `db:"max_trades_per_day"`
	MaxDailyLoss    decimal.NullDecimal `db:"max_daily_loss"`
	CooldownLosses  sql.NullInt64       `db:"cooldown_losses"`
	CooldownMS      sql.NullInt64       `db:"cooldown_ms"`
}

// limits converts a row that exists to Limits, as loadLimits does.
func (r limitsNullRow) limits() Limits {
	return limitsRow{
		MaxStake: r.MaxStake.Decimal, MaxOpenTrades: int(r.MaxOpenTrades.Int64),
		MaxTradesPerDay: int(r.MaxTradesPerDay.Int64), MaxDailyLoss: r.MaxDailyLoss.Decimal,
		CooldownLosses: int(r.CooldownLosses.Int64), CooldownMS: r.CooldownMS.Int64,
	}.limits()
}

// limits converts a stored row to Limits.
func (r limitsRow) limits() Limits {
	return Limits{
		MaxStake: norm(r.MaxStake), MaxOpenTrades: r.MaxOpenTrades, MaxTradesPerDay: r.MaxTradesPerDay,
		MaxDailyLoss: norm(r.MaxDailyLoss), CooldownLosses: r.CooldownLosses,
		Cooldown: time.Duration(r.CooldownMS) * time.Millisecond,
	}
}

// loadLimits returns userID's limits, or DefaultLimits without a row.
func loadLimits(tx *sqlx.Tx, userID int64) (Limits, error) {
	var r limitsRow
	err := tx.Get(&r, tx.Rebind(`SELECT max_stake, max_open_trades, max_trades_per_day, max_daily_loss,
		cooldown_losses, cooldown_ms FROM user_limits WHERE user_id = ?`), userID)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultLimits(), nil
	}
	if err != nil {
		return Limits{}, fmt.Errorf("trading: read limits: %w", err)
	}
	return r.limits(), nil
}

// Limits returns userID's risk limits: what SetLimits stored, or
// DefaultLimits.
func (s *Service) Limits(ctx context.Context, userID int64) (Limits, error) {
	if userID <= 0 {
		return Limits{}, fmt.Errorf("%w: user id must be positive", ErrInvalidRequest)
	}
	var l Limits
	err := s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		var err error
		l, err = loadLimits(tx, userID)
		return err
	})
	return l, err
}

// SetLimits stores userID's risk limits; a zero field means no limit.
// Negative values are ErrInvalidRequest.
func (s *Service) SetLimits(ctx context.Context, userID int64, l Limits) error {
	if userID <= 0 {
		return fmt.Errorf("%w: user id must be positive", ErrInvalidRequest)
	}
	if err := l.validate(); err != nil {
		return err
	}
	if l.MaxStake.GreaterThanOrEqual(maxMoney()) || l.MaxDailyLoss.GreaterThanOrEqual(maxMoney()) {
		return fmt.Errorf("%w: limit amounts must be below %s", ErrInvalidRequest, maxMoney())
	}
	now := s.now().UnixMilli()
	return s.st.Update(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO user_limits (user_id, max_stake, max_open_trades,
				max_trades_per_day, max_daily_loss, cooldown_losses, cooldown_ms, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET max_stake = excluded.max_stake,
				max_open_trades = excluded.max_open_trades, max_trades_per_day = excluded.max_trades_per_day,
				max_daily_loss = excluded.max_daily_loss, cooldown_losses = excluded.cooldown_losses,
				cooldown_ms = excluded.cooldown_ms, updated_at = excluded.updated_at`),
			userID, l.MaxStake.Round(priceDigits), l.MaxOpenTrades, l.MaxTradesPerDay, l.MaxDailyLoss.Round(priceDigits),
			l.CooldownLosses, l.Cooldown.Milliseconds(), now)
		if err != nil {
			return fmt.Errorf("trading: store limits: %w", err)
		}
		return nil
	})
}
