// Package billing owns plans, subscriptions and the one entitlement service
// every other part of the host asks ("may this user start another bot, use
// this broker, trade live?").
//
// Subscriptions change only through two doors: a verified payment-provider
// webhook (HandleWebhook) and an admin grant (Grant). Entitlements are never
// granted from anything the client says about a checkout (docs/SECURITY.md
// "Subscriptions and webhooks").
//
// The stored status is what the provider (or an admin) last said; reads
// report the effective status, in which a trialing, active or past_due
// subscription whose period has ended is expired. Nothing has to run at
// period end for a lapsed subscription to lose its plan.
package billing

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/host/internal/apperr"
	"github.com/stc-trading/stc/host/internal/billing/webhook"
	"github.com/stc-trading/stc/host/internal/store"
)

// FreePlanID is the plan of every user without a live subscription. The
// migration seeds it (paper broker only, one bot, no live trading).
const FreePlanID = "practice"

// Wildcard in a plan's broker or strategy list allows any name.
const Wildcard = "*"

// Status is a subscription's state.
type Status string

// Subscription states, in their usual order of life.
const (
	// StatusTrialing: a trial period, with the plan's entitlements.
	StatusTrialing Status = "trialing"
	// StatusActive: paid up to the period end.
	StatusActive Status = "active"
	// StatusPastDue: a renewal payment failed and the provider is retrying;
	// the plan is kept until the period end.
	StatusPastDue Status = "past_due"
	// StatusCanceled: the subscription was ended; the free plan applies.
	StatusCanceled Status = "canceled"
	// StatusExpired: the period ended without renewal; the free plan applies.
	StatusExpired Status = "expired"
)

// Valid reports whether st is one of the five states.
func (st Status) Valid() bool {
	switch st {
	case StatusTrialing, StatusActive, StatusPastDue, StatusCanceled, StatusExpired:
		return true
	}
	return false
}

// live reports whether a subscription in state st (before the period-end
// check) carries its plan's entitlements.
func (st Status) live() bool {
	return st == StatusTrialing || st == StatusActive || st == StatusPastDue
}

// Sentinel errors, tested with errors.Is.
var (
	// ErrPlanNotFound: no plan has the given id.
	ErrPlanNotFound = errors.New("billing: plan not found")
	// ErrUserNotFound: no user has the given id.
	ErrUserNotFound = errors.New("billing: user not found")
	// ErrInvalidGrant: an admin grant is inconsistent; the error holds an
	// *apperr.FieldError naming the field at fault (unknown status, a
	// period end in the past for a live status, a trial without an end).
	ErrInvalidGrant = errors.New("billing: invalid grant")
)

// Plan is something a user can subscribe to.
type Plan struct {
	// ID is the stable identifier ("practice", "pro", …).
	ID string
	// Name is for display.
	Name string
	// Price is charged per period, in Currency.
	Price decimal.Decimal
	// Currency is an ISO 4217 code.
	Currency string
	// PeriodDays is the billing period; 0 for the free plan.
	PeriodDays int
	// TrialDays is the trial a checkout starts with; 0 means none.
	TrialDays int
	// MaxBots caps the user's bots.
	MaxBots int
	// MaxAccounts caps the user's broker accounts that are not
	// disconnected.
	MaxAccounts int
	// Brokers lists the brokers the plan may use; "*" means any.
	Brokers []string
	// Strategies lists the strategies the plan may use; "*" means any.
	Strategies []string
	// LiveTrading allows real-money (non-practice) broker accounts.
	LiveTrading bool
	// Public plans are listed by Plans; others exist for admin grants only.
	Public bool
}

// Subscription is a user's current subscription.
type Subscription struct {
	// UserID is the subscriber.
	UserID int64
	// PlanID names the plan.
	PlanID string
	// Status is the effective status (see the package doc).
	Status Status
	// CurrentPeriodEnd is when the paid (or trial) period ends; zero means
	// open-ended (an admin grant without an end).
	CurrentPeriodEnd time.Time
	// ProviderSubscriptionID is the payment provider's id, empty for an
	// admin grant made without one.
	ProviderSubscriptionID string
	// CreatedAt and UpdatedAt are bookkeeping times.
	CreatedAt, UpdatedAt time.Time
}

// Entitlements is what a user may do right now.
type Entitlements struct {
	// PlanID is the plan whose limits apply (FreePlanID when none is live).
	PlanID string
	// Status is the subscription's effective status; "" when the user has
	// never had a subscription and is on the free plan.
	Status Status
	// MaxBots caps the user's bots.
	MaxBots int
	// MaxAccounts caps the user's broker accounts that are not
	// disconnected.
	MaxAccounts int
	// Brokers and Strategies are the allowed names; "*" means any.
	Brokers, Strategies []string
	// LiveTrading allows real-money accounts and orders.
	LiveTrading bool
	// Until is when these entitlements lapse unless renewed; zero means
	// they do not lapse (the free plan, an open-ended grant).
	Until time.Time
}

// AllowsBroker reports whether the entitlements cover broker name.
func (e Entitlements) AllowsBroker(name string) bool { return allows(e.Brokers, name) }

// CheckBroker says why the entitlements do not cover using broker name
// (with real money when real is set), or nil when they do. Connecting an
// account and placing a trade ask the same question, so the rule and its
// message live here once.
func (e Entitlements) CheckBroker(name string, real bool) error {
	if !e.AllowsBroker(name) {
		return apperr.Refuse(nil, "the %s plan does not include the %s broker; upgrade to use it", e.PlanID, name)
	}
	if real && !e.LiveTrading {
		return apperr.Refuse(nil, "the %s plan allows practice trading only; upgrade for real-money trading", e.PlanID)
	}
	return nil
}

// AllowsStrategy reports whether the entitlements cover strategy name.
func (e Entitlements) AllowsStrategy(name string) bool { return allows(e.Strategies, name) }

// allows matches exactly (no case folding), so what is allowed is exactly
// what the plan row says.
func allows(list []string, name string) bool {
	if name == "" {
		return false
	}
	return slices.Contains(list, Wildcard) || slices.Contains(list, name)
}

// Grant is an admin's decision about a user's subscription.
type Grant struct {
	// PlanID names the plan.
	PlanID string
	// Status defaults to StatusActive when empty.
	Status Status
	// PeriodEnd is when the grant ends; zero means open-ended (not allowed
	// for trialing or past_due, which only make sense with an end).
	PeriodEnd time.Time
}

// WebhookResult says what HandleWebhook did with a verified event.
type WebhookResult struct {
	// EventID is the provider's event id.
	EventID string
	// Type is the event type as sent.
	Type string
	// Duplicate is true when the event id had been handled before; nothing
	// changed this time.
	Duplicate bool
	// Ignored is true when the event changed nothing (unknown type, unknown
	// user, plan or subscription, stale delivery); it is still recorded.
	Ignored bool
	// UserID is the user the event concerned, when known.
	UserID int64
	// Outcome is the recorded outcome (one of the Outcome constants).
	Outcome string
}

// Service is the billing service. It is safe for concurrent use; it keeps
// no state of its own but its change listeners (OnChange), so every answer
// reflects the database at once.
type Service struct {
	st       *store.Store
	verifier *webhook.Verifier
	now      func() time.Time
	log      hclog.Logger

	mu        sync.Mutex
	listeners []func(ctx context.Context, userID int64)
}

// OnChange registers f to be called after each change of a user's
// subscription is committed (a webhook event applied, an admin grant),
// with the user's id, so that whoever caches entitlements (the bot
// runner, the trading service) can drop them and act on the new plan at
// once. f runs on the caller's goroutine, with a context that is not
// cancelled when the request's is; it must not call OnChange. A
// redelivered or ignored event calls nothing.
func (s *Service) OnChange(f func(ctx context.Context, userID int64)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listeners = append(s.listeners, f)
}

// changed tells the listeners that userID's subscription changed.
func (s *Service) changed(ctx context.Context, userID int64) {
	if userID <= 0 {
		return
	}
	s.mu.Lock()
	fs := slices.Clone(s.listeners)
	s.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	for _, f := range fs {
		f(ctx, userID)
	}
}

// NewService returns a Service over st. verifier checks webhook signatures;
// a nil verifier (or one without a secret) makes every webhook fail with
// webhook.ErrNoSecret. now is the clock (nil means time.Now) and log may be
// nil.
func NewService(st *store.Store, verifier *webhook.Verifier, now func() time.Time, log hclog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Service{st: st, verifier: verifier, now: now, log: log}
}

// clock returns the current time at the millisecond precision the store
// keeps, so values handed out equal values read back.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// effectiveStatus applies the period-end rule: a live status whose period
// has ended (at or after the end instant) reads as expired.
func effectiveStatus(st Status, periodEnd, now time.Time) Status {
	if st.live() && !periodEnd.IsZero() && !now.Before(periodEnd) {
		return StatusExpired
	}
	return st
}
