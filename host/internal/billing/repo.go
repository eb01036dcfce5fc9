package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/host/internal/store"
)

// planColumns is the column list planRow scans.
const planColumns = `id, name, price, currency, period_days, trial_days, max_bots,
	max_accounts, brokers, strategies, live_trading, public`

// planRow mirrors a plans row. decimal.Decimal scans PostgreSQL NUMERIC and
// SQLite TEXT alike.
type planRow struct {
	ID          string          `db:"id"`
	Name        string          `db:"name"`
	Price       decimal.Decimal `db:"price"`
	Currency    string          `db:"currency"`
	PeriodDays  int             `db:"period_days"`
	TrialDays   int             `db:"trial_days"`
	MaxBots     int             `db:"max_bots"`
	MaxAccounts int             `db:"max_accounts"`
	Brokers     string          `db:"brokers"`
	Strategies  string          `db:"strategies"`
	LiveTrading bool            `db:"live_trading"`
	Public      bool            `db:"public"`
}

func (r planRow) plan() Plan {
	return Plan{
		ID: r.ID, Name: r.Name, Price: r.Price, Currency: r.Currency,
		PeriodDays: r.PeriodDays, TrialDays: r.TrialDays, MaxBots: r.MaxBots, MaxAccounts: r.MaxAccounts,
		Brokers: splitList(r.Brokers), Strategies: splitList(r.Strategies),
		LiveTrading: r.LiveTrading, Public: r.Public,
	}
}

// splitList parses a comma-separated column. Blank items are dropped so a
// stray comma cannot allow the empty name; the result is never nil, so an
// empty list encodes as [] rather than null.
func splitList(s string) []string {
	out := []string{}
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// subColumns is the column list subRow scans.
const subColumns = `user_id, plan_id, status, current_period_end, provider_subscription_id, created_at, updated_at`

// subRow mirrors a subscriptions row; times are Unix milliseconds.
type subRow struct {
	UserID     int64          `db:"user_id"`
	PlanID     string         `db:"plan_id"`
	Status     Status         `db:"status"`
	PeriodEnd  sql.NullInt64  `db:"current_period_end"`
	ProviderID sql.NullString `db:"provider_subscription_id"`
	CreatedAt  int64          `db:"created_at"`
	UpdatedAt  int64          `db:"updated_at"`
}

func (r subRow) periodEnd() time.Time { return fromNullMillis(r.PeriodEnd) }

// subscription converts the row, reporting the effective status at now.
func (r subRow) subscription(now time.Time) Subscription {
	return Subscription{
		UserID:                 r.UserID,
		PlanID:                 r.PlanID,
		Status:                 effectiveStatus(r.Status, r.periodEnd(), now),
		CurrentPeriodEnd:       r.periodEnd(),
		ProviderSubscriptionID: r.ProviderID.String,
		CreatedAt:              time.UnixMilli(r.CreatedAt).UTC(),
		UpdatedAt:              time.UnixMilli(r.UpdatedAt).UTC(),
	}
}

// nullMillis stores a zero time as NULL ("no period end").
func nullMillis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func fromNullMillis(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

// nullString stores "" as NULL, so the UNIQUE provider id allows many
// subscriptions without one.
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// getPlan reads one plan; a missing one wraps ErrPlanNotFound.
func getPlan(ctx context.Context, tx *sqlx.Tx, id string) (Plan, error) {
	var r planRow
	err := tx.GetContext(ctx, &r, tx.Rebind(`SELECT `+planColumns+` FROM plans WHERE id = ?`), id)
	if errors.Is(store.MapError(err), store.ErrNotFound) {
		return Plan{}, fmt.Errorf("%w: %q", ErrPlanNotFound, id)
	}
	if err != nil {
		return Plan{}, fmt.Errorf("billing: read plan %q: %w", id, store.MapError(err))
	}
	return r.plan(), nil
}

// getSubscription reads the user's subscription row. With forUpdate on
// PostgreSQL it locks the row, so concurrent events for one subscription
// apply one after the other instead of overwriting each other's reads
// (SQLite has a single writer, which serializes them already).
func (s *Service) getSubscription(ctx context.Context, tx *sqlx.Tx, where string, arg any, forUpdate bool) (subRow, bool, error) {
	q := `SELECT ` + subColumns + ` FROM subscriptions WHERE ` + where + ` = ?`
	if forUpdate && s.st.Dialect() == store.DialectPostgres {
		q += ` FOR UPDATE`
	}
	var r subRow
	err := tx.GetContext(ctx, &r, tx.Rebind(q), arg)
	if errors.Is(store.MapError(err), store.ErrNotFound) {
		return subRow{}, false, nil
	}
	if err != nil {
		return subRow{}, false, fmt.Errorf("billing: read subscription: %w", store.MapError(err))
	}
	return r, true, nil
}

// userExists reports whether a user row exists (users carry no row-level
// security, so any scope sees them).
func userExists(ctx context.Context, tx *sqlx.Tx, userID int64) (bool, error) {
	var n int
	if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT count(*) FROM users WHERE id = ?`), userID); err != nil {
		return false, fmt.Errorf("billing: look up user %d: %w", userID, store.MapError(err))
	}
	return n > 0, nil
}

// upsertSubscription writes the user's one subscription row. created_at is
// kept on update; the row is the current state, history lives in
// billing_events.
func upsertSubscription(ctx context.Context, tx *sqlx.Tx, r subRow) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO subscriptions
		(user_id, plan_id, status, current_period_end, provider_subscription_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET
			plan_id = excluded.plan_id,
			status = excluded.status,
			current_period_end = excluded.current_period_end,
			provider_subscription_id = excluded.provider_subscription_id,
			updated_at = excluded.updated_at`),
		r.UserID, r.PlanID, string(r.Status), r.PeriodEnd, r.ProviderID, r.CreatedAt, r.UpdatedAt)
	if err != nil {
		return fmt.Errorf("billing: write subscription of user %d: %w", r.UserID, store.MapError(err))
	}
	return nil
}

// updateSubscription changes status and period end of an existing row.
func updateSubscription(ctx context.Context, tx *sqlx.Tx, userID int64, st Status, periodEnd sql.NullInt64, now int64) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE subscriptions
		SET status = ?, current_period_end = ?, updated_at = ? WHERE user_id = ?`),
		string(st), periodEnd, now, userID)
	if err != nil {
		return fmt.Errorf("billing: update subscription of user %d: %w", userID, store.MapError(err))
	}
	return nil
}
