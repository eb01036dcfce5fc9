package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/apperr"
	"github.com/stc-trading/stc/host/internal/store"
)

// maxGrantEndUnix bounds an admin grant's period end (the last second of
// year 9999, as the webhook parser does): a typo in the year should be
// refused, not stored as a lifetime grant.
const maxGrantEndUnix = 253402300799

// Plans returns the public plans, cheapest tier first (the migration's sort
// column, then id).
func (s *Service) Plans(ctx context.Context) ([]Plan, error) {
	var rows []planRow
	// Plans are not tenant data; the system scope only satisfies the
	// store's rule that every transaction names a scope.
	err := s.st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `SELECT `+planColumns+` FROM plans WHERE public ORDER BY sort, id`)
	})
	if err != nil {
		return nil, fmt.Errorf("billing: list plans: %w", err)
	}
	plans := make([]Plan, 0, len(rows))
	for _, r := range rows {
		plans = append(plans, r.plan())
	}
	return plans, nil
}

// Plan returns one plan, public or not; an unknown id wraps ErrPlanNotFound.
func (s *Service) Plan(ctx context.Context, id string) (Plan, error) {
	var p Plan
	err := s.st.View(ctx, store.System(), func(tx *sqlx.Tx) (err error) {
		p, err = getPlan(ctx, tx, id)
		return err
	})
	if err != nil {
		return Plan{}, err
	}
	return p, nil
}

// Subscription returns the user's subscription with its effective status.
// ok is false when the user has none (and so is on the free plan).
func (s *Service) Subscription(ctx context.Context, userID int64) (Subscription, bool, error) {
	if userID <= 0 {
		return Subscription{}, false, fmt.Errorf("%w: id %d", ErrUserNotFound, userID)
	}
	var (
		row subRow
		ok  bool
	)
	err := s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) (err error) {
		row, ok, err = s.getSubscription(ctx, tx, "user_id", userID, false)
		return err
	})
	if err != nil || !ok {
		return Subscription{}, false, err
	}
	return row.subscription(s.clock()), true, nil
}

// Entitlements returns what the user may do now. It reads the database on
// every call, so a webhook's change applies to the very next check.
//
// No subscription, a canceled or expired one, or one past its period end
// gives the free plan's limits. Trialing and active give the plan's. Past
// due keeps the plan until the period end, while the provider retries the
// card.
func (s *Service) Entitlements(ctx context.Context, userID int64) (Entitlements, error) {
	if userID <= 0 {
		return Entitlements{}, fmt.Errorf("%w: id %d", ErrUserNotFound, userID)
	}
	now := s.clock()
	var ent Entitlements
	err := s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		row, ok, err := s.getSubscription(ctx, tx, "user_id", userID, false)
		if err != nil {
			return err
		}
		var status Status
		planID, until := FreePlanID, time.Time{}
		if ok {
			status = effectiveStatus(row.Status, row.periodEnd(), now)
			if status.live() {
				planID, until = row.PlanID, row.periodEnd()
			}
		}
		plan, err := getPlan(ctx, tx, planID)
		if err != nil {
			return err
		}
		ent = Entitlements{
			PlanID: plan.ID, Status: status, MaxBots: plan.MaxBots, MaxAccounts: plan.MaxAccounts,
			Brokers: plan.Brokers, Strategies: plan.Strategies,
			LiveTrading: plan.LiveTrading, Until: until,
		}
		return nil
	})
	if err != nil {
		return Entitlements{}, fmt.Errorf("billing: entitlements of user %d: %w", userID, err)
	}
	return ent, nil
}

// Grant sets the user's subscription as an admin decides, replacing plan,
// status and period end. The provider subscription id is kept, so the
// provider's later events (renewal, cancellation) still apply to it.
//
// Errors wrap ErrUserNotFound, ErrPlanNotFound or ErrInvalidGrant.
func (s *Service) Grant(ctx context.Context, userID int64, g Grant) (Subscription, error) {
	now := s.clock()
	if userID <= 0 {
		return Subscription{}, fmt.Errorf("%w: id %d", ErrUserNotFound, userID)
	}
	if g.Status == "" {
		g.Status = StatusActive
	}
	if err := validateGrant(g, now); err != nil {
		return Subscription{}, err
	}
	var row subRow
	err := s.st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
		exists, err := userExists(ctx, tx, userID)
		if err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("%w: id %d", ErrUserNotFound, userID)
		}
		if _, err := getPlan(ctx, tx, g.PlanID); err != nil {
			return err
		}
		cur, found, err := s.getSubscription(ctx, tx, "user_id", userID, true)
		if err != nil {
			return err
		}
		row = subRow{
			UserID: userID, PlanID: g.PlanID, Status: g.Status,
			PeriodEnd:  nullMillis(g.PeriodEnd.Truncate(time.Millisecond)),
			ProviderID: cur.ProviderID,
			CreatedAt:  now.UnixMilli(), UpdatedAt: now.UnixMilli(),
		}
		if found {
			row.CreatedAt = cur.CreatedAt
		}
		return upsertSubscription(ctx, tx, row)
	})
	if err != nil {
		return Subscription{}, fmt.Errorf("billing: grant to user %d: %w", userID, err)
	}
	s.log.Info("subscription granted", "user_id", userID, "plan", g.PlanID, "status", g.Status,
		"period_end", g.PeriodEnd)
	s.changed(ctx, userID)
	return row.subscription(now), nil
}

// validateGrant refuses grants that would be wrong the moment they are
// stored: a live status that is already over, or a trial or past-due state
// without the end that gives it meaning.
func validateGrant(g Grant, now time.Time) error {
	if !g.Status.Valid() {
		return apperr.Invalid(ErrInvalidGrant, "status", "status must be one of %s, %s, %s, %s, %s",
			StatusTrialing, StatusActive, StatusPastDue, StatusCanceled, StatusExpired)
	}
	if g.PlanID == "" {
		return apperr.Invalid(ErrInvalidGrant, "plan_id", "plan_id is required")
	}
	end := g.PeriodEnd
	if !end.IsZero() && (end.Unix() < 0 || end.Unix() > maxGrantEndUnix) {
		return apperr.Invalid(ErrInvalidGrant, "current_period_end", "current_period_end %s is out of range", end.Format(time.RFC3339))
	}
	if (g.Status == StatusTrialing || g.Status == StatusPastDue) && end.IsZero() {
		return apperr.Invalid(ErrInvalidGrant, "current_period_end", "current_period_end is required with status %s", g.Status)
	}
	if g.Status.live() && !end.IsZero() && !end.After(now) {
		return apperr.Invalid(ErrInvalidGrant, "current_period_end", "current_period_end %s is not in the future", end.Format(time.RFC3339))
	}
	return nil
}
