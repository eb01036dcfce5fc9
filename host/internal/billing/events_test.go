package billing_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/billing/webhook"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// The whole life of a subscription through webhooks: trial, paid, past
// due, lapsed at period end, revived by a payment, canceled.
func TestWebhookLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		user := e.addUser()

		// pro has a 7-day trial: checkout starts trialing, period end from
		// the event.
		trialEnd := start().Add(days(7))
		res := e.checkout(user, "pro", "sub_1", trialEnd)
		assert.Equal(t, billing.WebhookResult{EventID: res.EventID, Type: "checkout.completed", UserID: user,
			Outcome: billing.OutcomeApplied}, res)
		sub := e.sub(user)
		assert.Equal(t, billing.StatusTrialing, sub.Status)
		assert.Equal(t, "pro", sub.PlanID)
		assert.Equal(t, "sub_1", sub.ProviderSubscriptionID)
		assert.True(t, sub.CurrentPeriodEnd.Equal(trialEnd))
		ent := e.ent(user)
		assert.Equal(t, "pro", ent.PlanID)
		assert.Equal(t, 10, ent.MaxBots)
		assert.True(t, ent.LiveTrading)

		// The first invoice ends the trial and extends the period.
		e.clock.Set(trialEnd.Add(-time.Hour))
		paidEnd := trialEnd.Add(days(30))
		res = e.mustSend(eventBody{Type: "invoice.paid", SubID: "sub_1", PeriodEnd: paidEnd})
		assert.Equal(t, user, res.UserID, "the user is found through the subscription")
		sub = e.sub(user)
		assert.Equal(t, billing.StatusActive, sub.Status)
		assert.True(t, sub.CurrentPeriodEnd.Equal(paidEnd))

		// A failed renewal: past due keeps the plan until the period end.
		e.clock.Set(paidEnd.Add(-days(1)))
		e.mustSend(eventBody{Type: "invoice.payment_failed", SubID: "sub_1"})
		sub = e.sub(user)
		assert.Equal(t, billing.StatusPastDue, sub.Status)
		assert.True(t, sub.CurrentPeriodEnd.Equal(paidEnd), "a failed payment does not move the period end")
		ent = e.ent(user)
		assert.Equal(t, "pro", ent.PlanID)
		assert.Equal(t, billing.StatusPastDue, ent.Status)
		assert.True(t, ent.LiveTrading)

		// The period ends while the provider still retries: expired, free plan.
		e.clock.Set(paidEnd)
		assert.Equal(t, billing.StatusExpired, e.sub(user).Status)
		ent = e.ent(user)
		assert.Equal(t, billing.FreePlanID, ent.PlanID)
		assert.Equal(t, billing.StatusExpired, ent.Status)
		assert.False(t, ent.LiveTrading)

		// A retry succeeds: active again, with the plan back at once.
		e.clock.Add(days(2))
		nextEnd := paidEnd.Add(days(30))
		e.mustSend(eventBody{Type: "invoice.paid", SubID: "sub_1", PeriodEnd: nextEnd})
		assert.Equal(t, billing.StatusActive, e.sub(user).Status)
		assert.Equal(t, "pro", e.ent(user).PlanID)

		// Cancellation takes the plan away immediately, although the period
		// has time left.
		res = e.mustSend(eventBody{Type: "subscription.deleted", SubID: "sub_1"})
		assert.Equal(t, billing.OutcomeApplied, res.Outcome)
		sub = e.sub(user)
		assert.Equal(t, billing.StatusCanceled, sub.Status)
		assert.True(t, sub.CurrentPeriodEnd.Equal(nextEnd))
		ent = e.ent(user)
		assert.Equal(t, billing.FreePlanID, ent.PlanID)
		assert.Equal(t, billing.StatusCanceled, ent.Status)

		// A deleted subscription is not revived by late events.
		for _, typ := range []string{"invoice.paid", "invoice.payment_failed", "subscription.deleted"} {
			res = e.mustSend(eventBody{Type: typ, SubID: "sub_1", PeriodEnd: nextEnd.Add(days(30))})
			assert.True(t, res.Ignored, typ)
			assert.Equal(t, billing.OutcomeSubscriptionCanceled, res.Outcome, typ)
		}
		res = e.checkout(user, "pro", "sub_1", time.Time{})
		assert.Equal(t, billing.OutcomeSubscriptionCanceled, res.Outcome, "a late checkout of the deleted subscription")
		assert.Equal(t, billing.StatusCanceled, e.sub(user).Status)

		// A new subscription (new provider id) starts afresh.
		res = e.checkout(user, "elite", "sub_2", time.Time{})
		assert.Equal(t, billing.OutcomeApplied, res.Outcome)
		sub = e.sub(user)
		assert.Equal(t, billing.StatusActive, sub.Status, "elite has no trial")
		assert.Equal(t, "elite", sub.PlanID)
		assert.Equal(t, "sub_2", sub.ProviderSubscriptionID)
	})
}

// Without a period end in the event, checkout uses the trial or plan
// period and invoice.paid extends by one plan period.
func TestWebhookDefaultPeriods(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		trial, paid := e.addUser(), e.addUser()

		e.checkout(trial, "pro", "sub_trial", time.Time{})
		sub := e.sub(trial)
		assert.Equal(t, billing.StatusTrialing, sub.Status)
		assert.True(t, sub.CurrentPeriodEnd.Equal(start().Add(days(7))), "now + trial_days")

		e.checkout(paid, "elite", "sub_paid", time.Time{})
		sub = e.sub(paid)
		assert.Equal(t, billing.StatusActive, sub.Status)
		assert.True(t, sub.CurrentPeriodEnd.Equal(start().Add(days(30))), "now + period_days")

		// Paid early: the new period follows the current one.
		e.mustSend(eventBody{Type: "invoice.paid", SubID: "sub_paid"})
		assert.True(t, e.sub(paid).CurrentPeriodEnd.Equal(start().Add(days(60))))
		// Paid after lapsing: the new period starts now.
		e.clock.Set(start().Add(days(100)))
		e.mustSend(eventBody{Type: "invoice.paid", SubID: "sub_paid"})
		sub = e.sub(paid)
		assert.Equal(t, billing.StatusActive, sub.Status)
		assert.True(t, sub.CurrentPeriodEnd.Equal(start().Add(days(130))))
	})
}

// Acceptance: a practice user gets the practice limits only, and a
// checkout webhook lifts them on the very next check.
func TestUpgradeThroughWebhookLiftsLimitsAtOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		user := e.addUser()
		before := e.ent(user)
		assert.False(t, before.LiveTrading)
		assert.False(t, before.AllowsBroker("mt5"))
		assert.Equal(t, 1, before.MaxBots)

		e.checkout(user, "elite", "sub_up", time.Time{})
		after := e.ent(user)
		assert.Equal(t, "elite", after.PlanID)
		assert.Equal(t, billing.StatusActive, after.Status)
		assert.True(t, after.LiveTrading)
		assert.True(t, after.AllowsBroker("mt5"))
		assert.Equal(t, 100, after.MaxBots)
	})
}

// Acceptance: unsigned, wrongly signed, stale and future-dated deliveries
// are rejected with the webhook sentinels and change nothing.
func TestWebhookRejected(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		user := e.addUser()
		body := eventBody{ID: "evt_reject", Type: "checkout.completed", UserID: user, PlanID: "elite", SubID: "sub_r"}.bytes()
		now := e.clock.Now()
		ts := now.Unix()
		good := webhook.Sign(secret(), now, body)
		tests := []struct {
			name    string
			header  string
			body    []byte
			wantErr error
		}{
			{"unsigned", "", body, webhook.ErrMissingSignature},
			{"timestamp only", fmt.Sprintf("t=%d", ts), body, webhook.ErrMissingSignature},
			{"v0 only", fmt.Sprintf("t=%d,v0=%s", ts, good[len(good)-64:]), body, webhook.ErrMissingSignature},
			{"malformed header", "garbage", body, webhook.ErrMalformedHeader},
			{"wrong secret", webhook.Sign([]byte("not-the-secret"), now, body), body, webhook.ErrBadSignature},
			{"body re-serialized", good, append([]byte(" "), body...), webhook.ErrBadSignature},
			{"stale 301 s", webhook.Sign(secret(), now.Add(-301*time.Second), body), body, webhook.ErrTimestampOutOfTolerance},
			{"future 301 s", webhook.Sign(secret(), now.Add(301*time.Second), body), body, webhook.ErrTimestampOutOfTolerance},
			{"signed but malformed", webhook.Sign(secret(), now, []byte(`{"id":1}`)), []byte(`{"id":1}`), webhook.ErrMalformedEvent},
		}
		for _, tc := range tests {
			res, err := e.svc.HandleWebhook(context.Background(), tc.header, tc.body)
			require.ErrorIs(t, err, tc.wantErr, tc.name)
			assert.Equal(t, billing.WebhookResult{}, res, tc.name)
		}
		_, ok, err := e.svc.Subscription(context.Background(), user)
		require.NoError(t, err)
		assert.False(t, ok, "no rejected delivery changed the subscription")
		assert.Zero(t, e.countEvents(), "no rejected delivery was recorded")

		// At exactly 300 s either way the delivery is accepted.
		res, err := e.svc.HandleWebhook(context.Background(), webhook.Sign(secret(), now.Add(-300*time.Second), body), body)
		require.NoError(t, err)
		assert.Equal(t, billing.OutcomeApplied, res.Outcome)

		// A service without a secret fails closed.
		for _, v := range []*webhook.Verifier{nil, {}} {
			svc := billing.NewService(st, v, e.clock.Now, nil)
			_, err := svc.HandleWebhook(context.Background(), good, body)
			require.ErrorIs(t, err, webhook.ErrNoSecret)
		}
	})
}

// Events that cannot apply are recorded as ignored (so a redelivery is a
// duplicate) and answered without error, so the provider stops retrying.
func TestWebhookIgnored(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		alice, bob := e.addUser(), e.addUser()
		e.checkout(alice, "pro", "sub_alice", time.Time{})
		aliceBefore := e.sub(alice)

		tests := []struct {
			name        string
			body        eventBody
			wantOutcome string
			wantUser    int64
		}{
			{"unknown type", eventBody{Type: "customer.created"}, billing.OutcomeUnknownType, 0},
			{"checkout for a missing user", eventBody{Type: "checkout.completed", UserID: 999_999, PlanID: "pro", SubID: "sub_x"}, billing.OutcomeUnknownUser, 999_999},
			{"checkout for an unknown plan", eventBody{Type: "checkout.completed", UserID: bob, PlanID: "platinum", SubID: "sub_x"}, billing.OutcomeUnknownPlan, bob},
			{"checkout reusing another user's subscription", eventBody{Type: "checkout.completed", UserID: bob, PlanID: "elite", SubID: "sub_alice"}, billing.OutcomeUserMismatch, bob},
			{"invoice for an unknown subscription", eventBody{Type: "invoice.paid", SubID: "sub_none"}, billing.OutcomeUnknownSubscription, 0},
			{"failure for an unknown subscription", eventBody{Type: "invoice.payment_failed", SubID: "sub_none"}, billing.OutcomeUnknownSubscription, 0},
			{"deletion for an unknown subscription", eventBody{Type: "subscription.deleted", SubID: "sub_none"}, billing.OutcomeUnknownSubscription, 0},
			{"deletion naming the wrong user", eventBody{Type: "subscription.deleted", SubID: "sub_alice", UserID: bob}, billing.OutcomeUserMismatch, bob},
		}
		for _, tc := range tests {
			tc.body.ID = e.eventID()
			res, err := e.send(tc.body)
			require.NoError(t, err, tc.name)
			assert.Equal(t, billing.WebhookResult{EventID: tc.body.ID, Type: tc.body.Type, Ignored: true,
				UserID: tc.wantUser, Outcome: tc.wantOutcome}, res, tc.name)
			rec := e.events(tc.body.ID)
			require.Len(t, rec, 1, tc.name)
			assert.Equal(t, tc.wantOutcome, rec[0].Outcome, tc.name)
			assert.Equal(t, tc.body.Type, rec[0].Type, tc.name)

			again, err := e.send(tc.body)
			require.NoError(t, err, tc.name)
			assert.True(t, again.Duplicate, tc.name)
			assert.True(t, again.Ignored, tc.name)
			assert.Equal(t, tc.wantOutcome, again.Outcome, tc.name)
		}
		assert.Equal(t, aliceBefore, e.sub(alice), "alice's subscription is untouched")
		_, ok, err := e.svc.Subscription(context.Background(), bob)
		require.NoError(t, err)
		assert.False(t, ok, "bob got nothing")
	})
}

// Providers deliver out of order: an older invoice must neither shorten
// the period nor mark a paid-up subscription past due.
func TestWebhookOutOfOrder(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		user := e.addUser()
		p1, p2 := start().Add(days(30)), start().Add(days(60))
		e.checkout(user, "elite", "sub_ooo", p1)

		e.mustSend(eventBody{Type: "invoice.paid", SubID: "sub_ooo", PeriodEnd: p2})
		res := e.mustSend(eventBody{Type: "invoice.paid", SubID: "sub_ooo", PeriodEnd: p1})
		assert.Equal(t, billing.OutcomeStale, res.Outcome)
		assert.True(t, res.Ignored)
		assert.True(t, e.sub(user).CurrentPeriodEnd.Equal(p2), "an older invoice does not shorten the period")

		res = e.mustSend(eventBody{Type: "invoice.payment_failed", SubID: "sub_ooo", PeriodEnd: p2})
		assert.Equal(t, billing.OutcomeStale, res.Outcome, "the failed invoice's period is already paid")
		assert.Equal(t, billing.StatusActive, e.sub(user).Status)

		// A failure for the next period does apply, and a late invoice for
		// an already-paid period does not clear it.
		e.mustSend(eventBody{Type: "invoice.payment_failed", SubID: "sub_ooo", PeriodEnd: p2.Add(days(30))})
		assert.Equal(t, billing.StatusPastDue, e.sub(user).Status)
		e.mustSend(eventBody{Type: "invoice.paid", SubID: "sub_ooo", PeriodEnd: p2})
		assert.Equal(t, billing.StatusPastDue, e.sub(user).Status)

		// A checkout redelivered late (under another event id) does not undo
		// the renewals.
		e.checkout(user, "elite", "sub_ooo", p1)
		sub := e.sub(user)
		assert.True(t, sub.CurrentPeriodEnd.Equal(p2))
		assert.Equal(t, billing.StatusPastDue, sub.Status)
	})
}

// PruneEvents deletes the records of events received before the cutoff,
// and only those; a kept record still makes its redelivery change nothing.
func TestPruneEvents(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		user := e.addUser()
		old := e.checkout(user, "pro", "sub_1", start().Add(days(7)))
		e.clock.Add(days(40))
		recent := eventBody{ID: e.eventID(), Type: "invoice.paid", SubID: "sub_1", PeriodEnd: e.clock.Now().Add(days(30))}
		e.mustSend(recent)
		require.Equal(t, 2, e.countEvents())

		n, err := e.svc.PruneEvents(context.Background(), e.clock.Now().Add(-days(30)))
		require.NoError(t, err)
		assert.EqualValues(t, 1, n)
		assert.Empty(t, e.events(old.EventID), "received 40 days ago")
		require.Len(t, e.events(recent.ID), 1)

		res := e.mustSend(recent)
		assert.True(t, res.Duplicate, "a kept record still answers its redelivery")
	})
}
