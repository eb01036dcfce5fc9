package trading

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/host/internal/apperr"
	"github.com/stc-trading/stc/host/internal/store"
)

// Bounds of a user's limits. They are those of the user_limits columns
// (INTEGER counts, NUMERIC(20, 8) amounts), so a value that passes is
// always stored as it was given: never cut, never rounded, never an error
// of the database.
const (
	// MaxLimitCount is the largest count limit (an INTEGER column).
	MaxLimitCount = math.MaxInt32
	// MaxUserCooldown is the longest cool-down a user may set.
	MaxUserCooldown = 7 * 24 * time.Hour
	// LimitDecimals is how many decimals a limit amount may have: the
	// scale of the money columns. An amount with more is refused, not
	// rounded (0.000000001 would round to 0, which is "no limit").
	LimitDecimals = priceDigits
)

// Field names of the limits, as their refusals (*apperr.FieldError) and
// the API name them.
const (
	FieldMaxStake        = "max_stake"
	FieldMaxOpenTrades   = "max_open_trades"
	FieldMaxTradesPerDay = "max_trades_per_day"
	FieldMaxDailyLoss    = "max_daily_loss"
	FieldCooldownLosses  = "cooldown_losses"
	FieldCooldown        = "cooldown_seconds"
)

// fieldErr refuses one field: an error wrapping ErrInvalidRequest that
// holds an *apperr.FieldError whose reason starts with the field's name.
func fieldErr(field, format string, args ...any) error {
	return apperr.Invalid(ErrInvalidRequest, field, "%s %s", field, fmt.Sprintf(format, args...))
}

// validate rejects limits that are negative, do not fit their columns, or
// have amounts with more decimals than the columns keep.
func (l Limits) validate() error {
	for _, a := range []struct {
		field string
		v     decimal.Decimal
	}{{FieldMaxStake, l.MaxStake}, {FieldMaxDailyLoss, l.MaxDailyLoss}} {
		if a.v.IsNegative() || a.v.GreaterThanOrEqual(maxMoney()) || !a.v.Equal(a.v.Round(LimitDecimals)) {
			return fieldErr(a.field, "must be 0 (no limit) or a positive amount below %s with at most %d decimals",
				maxMoney(), LimitDecimals)
		}
	}
	for _, c := range []struct {
		field string
		v     int
	}{{FieldMaxOpenTrades, l.MaxOpenTrades}, {FieldMaxTradesPerDay, l.MaxTradesPerDay}, {FieldCooldownLosses, l.CooldownLosses}} {
		if c.v < 0 || c.v > MaxLimitCount {
			return fieldErr(c.field, "must be an integer from 0 (no limit) to %d", MaxLimitCount)
		}
	}
	if l.Cooldown < 0 || (l.Cooldown > 0 && l.Cooldown < time.Millisecond) {
		return fieldErr(FieldCooldown, "must be 0 (none) or at least a millisecond")
	}
	return nil
}

// validateUser is validate plus the bounds only a user's own limits have.
func (l Limits) validateUser() error {
	if err := l.validate(); err != nil {
		return err
	}
	if l.Cooldown > MaxUserCooldown || l.Cooldown%time.Second != 0 {
		return fieldErr(FieldCooldown, "must be whole seconds from 0 (none) to %d", int64(MaxUserCooldown/time.Second))
	}
	return nil
}

// LimitsUpdate changes some of a user's limits. A nil field keeps the
// stored value (or the default): nothing is switched off by leaving it
// out. Set a field to zero to switch that limit off.
type LimitsUpdate struct {
	MaxStake        *decimal.Decimal
	MaxOpenTrades   *int
	MaxTradesPerDay *int
	MaxDailyLoss    *decimal.Decimal
	CooldownLosses  *int
	Cooldown        *time.Duration
}

// Empty reports whether u changes nothing.
func (u LimitsUpdate) Empty() bool {
	return u.MaxStake == nil && u.MaxOpenTrades == nil && u.MaxTradesPerDay == nil &&
		u.MaxDailyLoss == nil && u.CooldownLosses == nil && u.Cooldown == nil
}

// apply returns l with u's fields set.
func (u LimitsUpdate) apply(l Limits) Limits {
	if u.MaxStake != nil {
		l.MaxStake = *u.MaxStake
	}
	if u.MaxOpenTrades != nil {
		l.MaxOpenTrades = *u.MaxOpenTrades
	}
	if u.MaxTradesPerDay != nil {
		l.MaxTradesPerDay = *u.MaxTradesPerDay
	}
	if u.MaxDailyLoss != nil {
		l.MaxDailyLoss = *u.MaxDailyLoss
	}
	if u.CooldownLosses != nil {
		l.CooldownLosses = *u.CooldownLosses
	}
	if u.Cooldown != nil {
		l.Cooldown = *u.Cooldown
	}
	return l
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
		return Limits{}, fieldErr("user_id", "must be positive")
	}
	var l Limits
	err := s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		var err error
		l, err = loadLimits(tx, userID)
		return err
	})
	return l, err
}

// SetLimits replaces all of userID's risk limits with l; a zero field
// means no limit. Invalid limits are refused with an
// *apperr.FieldError (ErrInvalidRequest).
func (s *Service) SetLimits(ctx context.Context, userID int64, l Limits) error {
	_, err := s.UpdateLimits(ctx, userID, LimitsUpdate{
		MaxStake: &l.MaxStake, MaxOpenTrades: &l.MaxOpenTrades, MaxTradesPerDay: &l.MaxTradesPerDay,
		MaxDailyLoss: &l.MaxDailyLoss, CooldownLosses: &l.CooldownLosses, Cooldown: &l.Cooldown,
	})
	return err
}

// UpdateLimits changes the limits u sets and keeps the others (the
// stored ones, or DefaultLimits without a row), and returns the result.
// The read and the write are one transaction under the user's row lock
// (PostgreSQL; SQLite has a single writer), so concurrent updates of
// different fields both apply. The merged limits are validated as a
// whole: invalid ones are refused with an *apperr.FieldError
// (ErrInvalidRequest) and nothing
// changes.
func (s *Service) UpdateLimits(ctx context.Context, userID int64, u LimitsUpdate) (Limits, error) {
	if userID <= 0 {
		return Limits{}, fieldErr("user_id", "must be positive")
	}
	// The update's own fields are checked before any database work, so a
	// bad value is refused even for a user who does not exist.
	if err := u.apply(Limits{}).validateUser(); err != nil {
		return Limits{}, err
	}
	now := s.now().UnixMilli()
	var l Limits
	err := s.st.Update(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		if _, err := s.lockUser(ctx, tx, userID); err != nil {
			return err
		}
		// Read after the lock, in a statement of its own: the locking
		// statement's join may show the limits as they were before a
		// concurrent update that it waited for committed.
		cur, err := loadLimits(tx, userID)
		if err != nil {
			return err
		}
		l = u.apply(cur)
		if err := l.validateUser(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO user_limits (user_id, max_stake, max_open_trades,
				max_trades_per_day, max_daily_loss, cooldown_losses, cooldown_ms, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET max_stake = excluded.max_stake,
				max_open_trades = excluded.max_open_trades, max_trades_per_day = excluded.max_trades_per_day,
				max_daily_loss = excluded.max_daily_loss, cooldown_losses = excluded.cooldown_losses,
				cooldown_ms = excluded.cooldown_ms, updated_at = excluded.updated_at`),
			userID, l.MaxStake, l.MaxOpenTrades, l.MaxTradesPerDay, l.MaxDailyLoss,
			l.CooldownLosses, l.Cooldown.Milliseconds(), now)
		if err != nil {
			return fmt.Errorf("trading: store limits: %w", err)
		}
		return nil
	})
	if err != nil {
		return Limits{}, err
	}
	l.MaxStake, l.MaxDailyLoss = norm(l.MaxStake), norm(l.MaxDailyLoss)
	return l, nil
}
