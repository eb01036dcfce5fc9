package billing

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/store"
)

// maxSubscriptionsBatch bounds one Subscriptions call: an operator's list
// page asks for at most 500 users.
const maxSubscriptionsBatch = 1000

// Subscriptions returns the subscriptions of the given users, with their
// effective status, by user id; a user without one is absent (and on the
// free plan). It spans users: only operator routes call it.
func (s *Service) Subscriptions(ctx context.Context, userIDs []int64) (map[int64]Subscription, error) {
	out := make(map[int64]Subscription, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	if len(userIDs) > maxSubscriptionsBatch {
		return nil, fmt.Errorf("billing: %d users asked at once; at most %d", len(userIDs), maxSubscriptionsBatch)
	}
	now := s.clock()
	var rows []subRow
	err := s.st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
		q, args, err := sqlx.In(`SELECT `+subColumns+` FROM subscriptions WHERE user_id IN (?)`, userIDs)
		if err != nil {
			return err
		}
		return tx.SelectContext(ctx, &rows, tx.Rebind(q), args...)
	})
	if err != nil {
		return nil, fmt.Errorf("billing: read subscriptions: %w", store.MapError(err))
	}
	for _, r := range rows {
		out[r.UserID] = r.subscription(now)
	}
	return out, nil
}

// PlanInEffect is the plan whose limits apply under s: its own while it
// is trialing, active or past due (and its period has not ended), else
// the free plan.
func (s Subscription) PlanInEffect() string {
	if s.Status.live() {
		return s.PlanID
	}
	return FreePlanID
}
