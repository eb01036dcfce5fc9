package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/billing/webhook"
	"github.com/stc-trading/stc/host/internal/store"
)

// Outcomes recorded in billing_events.outcome (at most 40 characters).
// Everything but OutcomeApplied means the event changed nothing.
const (
	// OutcomeApplied: the subscription was changed.
	OutcomeApplied = "applied"
	// OutcomeUnknownType: an event type the service does not handle.
	OutcomeUnknownType = "ignored_unknown_type"
	// OutcomeUnknownUser: a checkout named a user that does not exist.
	OutcomeUnknownUser = "ignored_unknown_user"
	// OutcomeUnknownPlan: a checkout named a plan that does not exist.
	OutcomeUnknownPlan = "ignored_unknown_plan"
	// OutcomeUnknownSubscription: no user has the provider subscription id.
	OutcomeUnknownSubscription = "ignored_unknown_subscription"
	// OutcomeUserMismatch: the event's user id differs from the user who
	// holds the provider subscription id.
	OutcomeUserMismatch = "ignored_user_mismatch"
	// OutcomeSubscriptionCanceled: the provider subscription was already
	// canceled; providers do not revive a deleted subscription, so a later
	// event for it arrived out of order.
	OutcomeSubscriptionCanceled = "ignored_subscription_canceled"
	// OutcomeStale: an invoice for a period that is already paid for,
	// delivered out of order.
	OutcomeStale = "ignored_stale"
)

// HandleWebhook verifies a payment-provider delivery and applies it.
//
// Errors wrap the webhook package's sentinels (ErrNoSecret,
// ErrMissingSignature, ErrMalformedHeader, ErrTimestampOutOfTolerance,
// ErrBadSignature, ErrMalformedEvent) for the HTTP layer to map to 4xx;
// any other error is the database's, and the provider should retry.
//
// A verified event is recorded by id in the same transaction as its effect,
// so each event id changes a subscription at most once however often and
// however concurrently it is delivered. Events that cannot apply (unknown
// type, user, plan or subscription; out of order) are recorded as ignored
// and answered without error: the provider would otherwise retry them for
// days without any chance of success.
func (s *Service) HandleWebhook(ctx context.Context, signatureHeader string, body []byte) (WebhookResult, error) {
	if s.verifier == nil {
		return WebhookResult{}, fmt.Errorf("billing: webhook: %w", webhook.ErrNoSecret)
	}
	// The raw bytes are verified before any parsing: re-encoding a parsed
	// body would not reproduce the bytes the provider signed.
	if _, err := s.verifier.Verify(signatureHeader, body); err != nil {
		return WebhookResult{}, fmt.Errorf("billing: webhook: %w", err)
	}
	ev, err := webhook.ParseEvent(body)
	unknownType := errors.Is(err, webhook.ErrUnknownEventType)
	if err != nil && !unknownType {
		return WebhookResult{}, fmt.Errorf("billing: webhook: %w", err)
	}

	now := s.clock()
	res := WebhookResult{EventID: ev.ID, Type: string(ev.Type), UserID: ev.UserID}
	err = s.st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
		// Inserting the id first makes it the lock: on PostgreSQL a second
		// delivery of the same id waits here until the first commits, then
		// finds the row and changes nothing.
		claimed, err := claimEvent(ctx, tx, ev, now)
		if err != nil {
			return err
		}
		if !claimed {
			return readEvent(ctx, tx, &res)
		}
		outcome, userID := OutcomeUnknownType, ev.UserID
		if !unknownType {
			if outcome, userID, err = s.apply(ctx, tx, ev, now); err != nil {
				return err
			}
		}
		res.Outcome, res.UserID, res.Ignored = outcome, userID, outcome != OutcomeApplied
		return finishEvent(ctx, tx, ev.ID, outcome, userID)
	})
	if err != nil {
		return WebhookResult{}, fmt.Errorf("billing: webhook event %q: %w", ev.ID, err)
	}
	switch {
	case res.Duplicate:
		s.log.Debug("billing event redelivered", "event_id", res.EventID, "type", res.Type)
	case res.Ignored:
		s.log.Info("billing event ignored", "event_id", res.EventID, "type", res.Type,
			"user_id", res.UserID, "outcome", res.Outcome)
	default:
		s.log.Info("billing event applied", "event_id", res.EventID, "type", res.Type, "user_id", res.UserID)
		s.changed(ctx, res.UserID)
	}
	return res, nil
}

// claimEvent records the event id and reports whether this transaction was
// the first to do so. ON CONFLICT DO NOTHING (rather than catching the
// unique violation) keeps the PostgreSQL transaction usable afterwards.
func claimEvent(ctx context.Context, tx *sqlx.Tx, ev webhook.Event, now time.Time) (bool, error) {
	r, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO billing_events (event_id, type, user_id, outcome, received_at)
		VALUES (?, ?, ?, 'processing', ?) ON CONFLICT (event_id) DO NOTHING`),
		ev.ID, string(ev.Type), nullUserID(ev.UserID), now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("billing: record event: %w", store.MapError(err))
	}
	n, err := r.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("billing: record event: %w", err)
	}
	return n == 1, nil
}

// readEvent fills res from the earlier delivery's record.
func readEvent(ctx context.Context, tx *sqlx.Tx, res *WebhookResult) error {
	var rec struct {
		Type    string `db:"type"`
		UserID  *int64 `db:"user_id"`
		Outcome string `db:"outcome"`
	}
	if err := tx.GetContext(ctx, &rec, tx.Rebind(`SELECT type, user_id, outcome FROM billing_events WHERE event_id = ?`),
		res.EventID); err != nil {
		return fmt.Errorf("billing: read recorded event: %w", store.MapError(err))
	}
	res.Duplicate, res.Type, res.Outcome = true, rec.Type, rec.Outcome
	res.Ignored = rec.Outcome != OutcomeApplied
	if rec.UserID != nil {
		res.UserID = *rec.UserID
	}
	return nil
}

func finishEvent(ctx context.Context, tx *sqlx.Tx, id, outcome string, userID int64) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE billing_events SET outcome = ?, user_id = ? WHERE event_id = ?`),
		outcome, nullUserID(userID), id)
	if err != nil {
		return fmt.Errorf("billing: record event outcome: %w", store.MapError(err))
	}
	return nil
}

func nullUserID(id int64) *int64 {
	if id <= 0 {
		return nil
	}
	return &id
}

// apply performs one known event and returns its outcome and the user it
// concerned.
func (s *Service) apply(ctx context.Context, tx *sqlx.Tx, ev webhook.Event, now time.Time) (string, int64, error) {
	if ev.Type == webhook.EventCheckoutCompleted {
		outcome, err := s.applyCheckout(ctx, tx, ev, now)
		return outcome, ev.UserID, err
	}
	cur, found, err := s.getSubscription(ctx, tx, "provider_subscription_id", ev.SubscriptionID, true)
	switch {
	case err != nil:
		return "", 0, err
	case !found:
		return OutcomeUnknownSubscription, ev.UserID, nil
	case ev.UserID != 0 && ev.UserID != cur.UserID:
		return OutcomeUserMismatch, ev.UserID, nil
	case cur.Status == StatusCanceled:
		return OutcomeSubscriptionCanceled, cur.UserID, nil
	}

	curEnd := cur.periodEnd()
	// An invoice whose period ends no later than the period already paid
	// for is an old one delivered late: acting on it would shorten the
	// period (paid) or mark a paid-up subscription past due (failed).
	staleInvoice := !ev.PeriodEnd.IsZero() && !curEnd.IsZero() && !ev.PeriodEnd.After(curEnd)

	status, end := cur.Status, curEnd
	switch ev.Type {
	case webhook.EventInvoicePaid:
		if staleInvoice {
			return OutcomeStale, cur.UserID, nil
		}
		status, end = StatusActive, ev.PeriodEnd
		if end.IsZero() {
			if end, err = s.extendPeriod(ctx, tx, cur.PlanID, curEnd, now); err != nil {
				return "", 0, err
			}
		}
	case webhook.EventInvoicePaymentFailed:
		if staleInvoice {
			return OutcomeStale, cur.UserID, nil
		}
		status = StatusPastDue
	case webhook.EventSubscriptionDeleted:
		status = StatusCanceled
	}
	if err := updateSubscription(ctx, tx, cur.UserID, status, nullMillis(end), now.UnixMilli()); err != nil {
		return "", 0, err
	}
	return OutcomeApplied, cur.UserID, nil
}

// extendPeriod computes the period end of a renewal whose event carries
// none: one plan period after the later of now and the current end, so a
// renewal paid early is not lost.
func (s *Service) extendPeriod(ctx context.Context, tx *sqlx.Tx, planID string, curEnd, now time.Time) (time.Time, error) {
	plan, err := getPlan(ctx, tx, planID)
	if err != nil {
		return time.Time{}, err
	}
	if plan.PeriodDays <= 0 {
		return curEnd, nil // a plan without periods keeps what it had
	}
	base := now
	if curEnd.After(base) {
		base = curEnd
	}
	return base.AddDate(0, 0, plan.PeriodDays), nil
}

// applyCheckout starts (or replaces) the user's subscription.
func (s *Service) applyCheckout(ctx context.Context, tx *sqlx.Tx, ev webhook.Event, now time.Time) (string, error) {
	plan, err := getPlan(ctx, tx, ev.PlanID)
	if errors.Is(err, ErrPlanNotFound) {
		return OutcomeUnknownPlan, nil
	}
	if err != nil {
		return "", err
	}
	exists, err := userExists(ctx, tx, ev.UserID)
	if err != nil {
		return "", err
	}
	if !exists {
		return OutcomeUnknownUser, nil
	}
	// The provider id is UNIQUE: if another user holds it, writing it would
	// fail, and the provider would retry forever.
	holder, held, err := s.getSubscription(ctx, tx, "provider_subscription_id", ev.SubscriptionID, true)
	if err != nil {
		return "", err
	}
	if held && holder.UserID != ev.UserID {
		return OutcomeUserMismatch, nil
	}
	cur, found, err := s.getSubscription(ctx, tx, "user_id", ev.UserID, true)
	if err != nil {
		return "", err
	}
	sameSub := found && cur.ProviderID.String == ev.SubscriptionID
	if sameSub && cur.Status == StatusCanceled {
		return OutcomeSubscriptionCanceled, nil
	}

	status, days := StatusActive, plan.PeriodDays
	if plan.TrialDays > 0 {
		status, days = StatusTrialing, plan.TrialDays
	}
	end := ev.PeriodEnd
	if end.IsZero() && days > 0 {
		end = now.AddDate(0, 0, days)
	}
	// A checkout redelivered (under a new event id) after renewals must not
	// undo them.
	if sameSub && cur.periodEnd().After(end) {
		status, end = cur.Status, cur.periodEnd()
	}
	row := subRow{
		UserID: ev.UserID, PlanID: plan.ID, Status: status, PeriodEnd: nullMillis(end),
		ProviderID: nullString(ev.SubscriptionID), CreatedAt: now.UnixMilli(), UpdatedAt: now.UnixMilli(),
	}
	if found {
		row.CreatedAt = cur.CreatedAt
	}
	if err := upsertSubscription(ctx, tx, row); err != nil {
		return "", err
	}
	return OutcomeApplied, nil
}

func (s *Service) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.st.Prune(ctx, `DELETE FROM billing_events WHERE event_id IN
		(SELECT event_id FROM billing_events WHERE received_at < ? LIMIT ?)`, before.UnixMilli())
	if err != nil {
		return n, fmt.Errorf("billing: prune events: %w", err)
	}
	return n, nil
}
