package httpapi

import (
	"net/http"
	"time"

	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/billing/webhook"
)

// SignatureHeader carries the payment provider's webhook signature,
// "t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
const SignatureHeader = "STC-Signature"

type planJSON struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Price       float64  `json:"price"`
	Currency    string   `json:"currency"`
	PeriodDays  int      `json:"period_days"`
	TrialDays   int      `json:"trial_days"`
	MaxBots     int      `json:"max_bots"`
	MaxAccounts int      `json:"max_accounts"`
	Brokers     []string `json:"brokers"`
	Strategies  []string `json:"strategies"`
	LiveTrading bool     `json:"live_trading"`
}

type entitlementsJSON struct {
	PlanID      string     `json:"plan_id"`
	MaxBots     int        `json:"max_bots"`
	MaxAccounts int        `json:"max_accounts"`
	Brokers     []string   `json:"brokers"`
	Strategies  []string   `json:"strategies"`
	LiveTrading bool       `json:"live_trading"`
	Until       *time.Time `json:"until"`
}

type subscriptionJSON struct {
	PlanID           string           `json:"plan_id"`
	Status           string           `json:"status"`
	CurrentPeriodEnd *time.Time       `json:"current_period_end"`
	Entitlements     entitlementsJSON `json:"entitlements"`
}

func (s *Server) plans(w http.ResponseWriter, r *http.Request) {
	plans, err := s.billing.Plans(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]planJSON, len(plans))
	for i, p := range plans {
		price, _ := p.Price.Float64()
		out[i] = planJSON{ID: p.ID, Name: p.Name, Price: price, Currency: p.Currency, PeriodDays: p.PeriodDays,
			TrialDays: p.TrialDays, MaxBots: p.MaxBots, MaxAccounts: p.MaxAccounts, Brokers: nonNil(p.Brokers), Strategies: nonNil(p.Strategies), LiveTrading: p.LiveTrading}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// subscriptionJSON describes userID's subscription and what it entitles
// them to. A user who never subscribed is on the free practice plan,
// reported with status "none".
func (s *Server) subscriptionJSON(r *http.Request, userID int64) (subscriptionJSON, error) {
	ent, err := s.billing.Entitlements(r.Context(), userID)
	if err != nil {
		return subscriptionJSON{}, err
	}
	sub, ok, err := s.billing.Subscription(r.Context(), userID)
	if err != nil {
		return subscriptionJSON{}, err
	}
	out := subscriptionJSON{PlanID: ent.PlanID, Status: "none", Entitlements: entitlementsJSON{
		PlanID: ent.PlanID, MaxBots: ent.MaxBots, MaxAccounts: ent.MaxAccounts, Brokers: nonNil(ent.Brokers), Strategies: nonNil(ent.Strategies),
		LiveTrading: ent.LiveTrading, Until: optTime(ent.Until),
	}}
	if ok {
		out.PlanID, out.Status, out.CurrentPeriodEnd = sub.PlanID, string(sub.Status), optTime(sub.CurrentPeriodEnd)
	}
	return out, nil
}

func (s *Server) subscription(w http.ResponseWriter, r *http.Request) {
	out, err := s.subscriptionJSON(r, mustPrincipal(r).UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) grantSubscription(w http.ResponseWriter, r *http.Request) {
	id, e := pathID(r, "id")
	if e != nil {
		writeError(w, e)
		return
	}
	var body struct {
		PlanID           string     `json:"plan_id"`
		Status           string     `json:"status"`
		CurrentPeriodEnd *time.Time `json:"current_period_end"`
	}
	if e := decodeJSON(w, r, &body); e != nil {
		writeError(w, e)
		return
	}
	g := billing.Grant{PlanID: body.PlanID, Status: billing.Status(body.Status)}
	if g.Status == "" {
		g.Status = billing.StatusActive
	}
	if body.CurrentPeriodEnd != nil {
		// The zero time is the service's "open-ended"; sent as a date
		// (0001-01-01T00:00:00Z) it is a mistake, not a lifetime plan.
		// Leave the field out, or send null, for an open-ended grant.
		if t := *body.CurrentPeriodEnd; t.IsZero() || t.Unix() <= 0 {
			writeError(w, fieldError("current_period_end",
				"current_period_end must be a time after 1970 (RFC 3339); leave it out or send null for an open-ended grant"))
			return
		}
		g.PeriodEnd = *body.CurrentPeriodEnd
	}
	if _, err := s.billing.Grant(r.Context(), id, g); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("subscription granted by an admin", "admin_id", mustPrincipal(r).UserID, "user_id", id, "plan", g.PlanID, "status", g.Status)
	out, err := s.subscriptionJSON(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// billingWebhook verifies and applies a payment provider's event. The
// body is read raw (the signature covers its exact bytes) and capped.
func (s *Server) billingWebhook(w http.ResponseWriter, r *http.Request) {
	body, e := readJSONBody(w, r, webhook.MaxEventBytes)
	if e != nil {
		writeError(w, e)
		return
	}
	res, err := s.billing.HandleWebhook(r.Context(), r.Header.Get(SignatureHeader), body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"received": true, "event_id": res.EventID, "duplicate": res.Duplicate, "ignored": res.Ignored})
}
