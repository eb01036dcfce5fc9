package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
)

func TestPlans(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		plans, err := e.svc.Plans(ctx)
		require.NoError(t, err)
		ids := make([]string, 0, len(plans))
		for _, p := range plans {
			ids = append(ids, p.ID)
		}
		assert.Equal(t, []string{"practice", "pro", "elite"}, ids, "public plans, cheapest first")

		practice := plans[0]
		assert.True(t, practice.Price.IsZero())
		assert.Equal(t, []string{"paper"}, practice.Brokers)
		assert.Equal(t, []string{"*"}, practice.Strategies)
		assert.Equal(t, 1, practice.MaxBots)
		assert.False(t, practice.LiveTrading)

		pro, err := e.svc.Plan(ctx, "pro")
		require.NoError(t, err)
		assert.True(t, decimal.RequireFromString("29").Equal(pro.Price), pro.Price.String())
		assert.Equal(t, "USD", pro.Currency)
		assert.Equal(t, 30, pro.PeriodDays)
		assert.Equal(t, 7, pro.TrialDays)
		assert.Equal(t, 10, pro.MaxBots)
		assert.Equal(t, []string{"paper", "iqoption", "mt5", "olymptrade"}, pro.Brokers)
		assert.True(t, pro.LiveTrading)
		assert.True(t, pro.Public)

		_, err = e.svc.Plan(ctx, "platinum")
		require.ErrorIs(t, err, billing.ErrPlanNotFound)
	})
}

func TestNoSubscriptionIsPractice(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		user := e.addUser()
		_, ok, err := e.svc.Subscription(context.Background(), user)
		require.NoError(t, err)
		assert.False(t, ok)

		ent := e.ent(user)
		assert.Equal(t, billing.FreePlanID, ent.PlanID)
		assert.Equal(t, billing.Status(""), ent.Status)
		assert.Equal(t, 1, ent.MaxBots)
		assert.False(t, ent.LiveTrading)
		assert.True(t, ent.AllowsBroker("paper"))
		assert.False(t, ent.AllowsBroker("iqoption"))
		assert.False(t, ent.AllowsBroker(""))
		assert.True(t, ent.AllowsStrategy("rsi"))
		assert.True(t, ent.Until.IsZero())

		_, err = e.svc.Entitlements(context.Background(), 0)
		require.ErrorIs(t, err, billing.ErrUserNotFound)
	})
}

// Each status gives the entitlements the policy table says, and a live
// status turns into expired (with the free plan's limits) exactly at its
// period end.
func TestEntitlementsByStatus(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		end := start().Add(days(10))
		tests := []struct {
			status   billing.Status
			wantPlan string
		}{
			{billing.StatusTrialing, "elite"},
			{billing.StatusActive, "elite"},
			{billing.StatusPastDue, "elite"},
			{billing.StatusCanceled, billing.FreePlanID},
			{billing.StatusExpired, billing.FreePlanID},
		}
		for _, tc := range tests {
			e.clock.Set(start())
			user := e.addUser()
			sub, err := e.svc.Grant(ctx, user, billing.Grant{PlanID: "elite", Status: tc.status, PeriodEnd: end})
			require.NoError(t, err, tc.status)
			assert.Equal(t, tc.status, sub.Status)

			ent := e.ent(user)
			assert.Equal(t, tc.wantPlan, ent.PlanID, tc.status)
			assert.Equal(t, tc.status, ent.Status, tc.status)
			if tc.wantPlan == "elite" {
				assert.Equal(t, 100, ent.MaxBots)
				assert.True(t, ent.LiveTrading)
				assert.True(t, ent.AllowsBroker("iqoption"))
				assert.True(t, ent.Until.Equal(end))
			} else {
				assert.Equal(t, 1, ent.MaxBots)
				assert.False(t, ent.LiveTrading)
				assert.False(t, ent.AllowsBroker("iqoption"))
				assert.True(t, ent.Until.IsZero())
			}

			// One millisecond before the end nothing changes; at the end a
			// live status reads as expired and the plan is gone.
			e.clock.Set(end.Add(-time.Millisecond))
			assert.Equal(t, tc.status, e.sub(user).Status, tc.status)
			assert.Equal(t, tc.wantPlan, e.ent(user).PlanID, tc.status)
			e.clock.Set(end)
			want := tc.status
			if tc.wantPlan == "elite" {
				want = billing.StatusExpired
			}
			assert.Equal(t, want, e.sub(user).Status, tc.status)
			ent = e.ent(user)
			assert.Equal(t, want, ent.Status, tc.status)
			assert.Equal(t, billing.FreePlanID, ent.PlanID, tc.status)
			assert.False(t, ent.LiveTrading, tc.status)
		}
	})
}

func TestGrant(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		user := e.addUser()

		invalid := []struct {
			name    string
			user    int64
			grant   billing.Grant
			wantErr error
		}{
			{"unknown user", user + 1000, billing.Grant{PlanID: "pro"}, billing.ErrUserNotFound},
			{"zero user", 0, billing.Grant{PlanID: "pro"}, billing.ErrUserNotFound},
			{"unknown plan", user, billing.Grant{PlanID: "platinum"}, billing.ErrPlanNotFound},
			{"empty plan", user, billing.Grant{}, billing.ErrInvalidGrant},
			{"unknown status", user, billing.Grant{PlanID: "pro", Status: "paused"}, billing.ErrInvalidGrant},
			{"active ending in the past", user, billing.Grant{PlanID: "pro", PeriodEnd: start().Add(-time.Second)}, billing.ErrInvalidGrant},
			{"active ending now", user, billing.Grant{PlanID: "pro", PeriodEnd: start()}, billing.ErrInvalidGrant},
			{"trial without end", user, billing.Grant{PlanID: "pro", Status: billing.StatusTrialing}, billing.ErrInvalidGrant},
			{"past due without end", user, billing.Grant{PlanID: "pro", Status: billing.StatusPastDue}, billing.ErrInvalidGrant},
			{"end after year 9999", user, billing.Grant{PlanID: "pro", PeriodEnd: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, billing.ErrInvalidGrant},
			{"end before 1970", user, billing.Grant{PlanID: "pro", Status: billing.StatusCanceled, PeriodEnd: time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC)}, billing.ErrInvalidGrant},
		}
		for _, tc := range invalid {
			_, err := e.svc.Grant(ctx, tc.user, tc.grant)
			require.ErrorIs(t, err, tc.wantErr, tc.name)
		}
		_, ok, err := e.svc.Subscription(ctx, user)
		require.NoError(t, err)
		assert.False(t, ok, "refused grants write nothing")

		// Status defaults to active; a zero end is open-ended.
		sub, err := e.svc.Grant(ctx, user, billing.Grant{PlanID: "pro"})
		require.NoError(t, err)
		assert.Equal(t, billing.StatusActive, sub.Status)
		assert.True(t, sub.CurrentPeriodEnd.IsZero())
		e.clock.Add(days(3650))
		assert.Equal(t, "pro", e.ent(user).PlanID, "an open-ended grant does not lapse")

		// A canceled grant with an end in the past is allowed (it changes
		// nothing but the record).
		_, err = e.svc.Grant(ctx, user, billing.Grant{PlanID: "pro", Status: billing.StatusCanceled, PeriodEnd: start()})
		require.NoError(t, err)
		assert.Equal(t, billing.FreePlanID, e.ent(user).PlanID)
	})
}

// A grant keeps the provider's subscription id, so the provider's next
// renewal still finds the subscription.
func TestGrantKeepsProviderSubscription(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		user := e.addUser()
		e.checkout(user, "elite", "sub_keep", start().Add(days(30)))
		created := e.sub(user).CreatedAt

		e.clock.Add(time.Hour)
		sub, err := e.svc.Grant(ctx, user, billing.Grant{PlanID: "pro", PeriodEnd: start().Add(days(60))})
		require.NoError(t, err)
		assert.Equal(t, "sub_keep", sub.ProviderSubscriptionID)
		assert.Equal(t, "pro", sub.PlanID)
		assert.True(t, sub.CreatedAt.Equal(created), "created_at survives a grant")
		assert.Equal(t, e.sub(user), sub, "Grant returns what Subscription reads")

		res := e.mustSend(eventBody{Type: "invoice.paid", SubID: "sub_keep", PeriodEnd: start().Add(days(90))})
		assert.Equal(t, billing.OutcomeApplied, res.Outcome)
		assert.True(t, e.sub(user).CurrentPeriodEnd.Equal(start().Add(days(90))))
	})
}

// On PostgreSQL the user-facing reads run in the user's tenant scope, and
// users never see each other's subscription.
func TestSubscriptionIsPerUser(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		alice, bob := e.addUser(), e.addUser()
		e.checkout(alice, "elite", "sub_alice", time.Time{})
		assert.Equal(t, "elite", e.ent(alice).PlanID)
		assert.Equal(t, alice, e.sub(alice).UserID)
		_, ok, err := e.svc.Subscription(context.Background(), bob)
		require.NoError(t, err)
		assert.False(t, ok)
		assert.Equal(t, billing.FreePlanID, e.ent(bob).PlanID)
	})
}
