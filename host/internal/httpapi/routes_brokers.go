package httpapi

import (
	"cmp"
	"net/http"
	"slices"
	"strings"

	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/names"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
)

// credentialJSON is one field of a broker's credential schema: what a
// connect form asks for. Secret fields (passwords, tokens) are sealed at
// rest and never shown again.
type credentialJSON struct {
	fieldJSON
	Secret bool `json:"secret"`
}

// brokerPlanJSON is a plan that includes a broker.
type brokerPlanJSON struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Price       float64 `json:"price"`
	Currency    string  `json:"currency"`
	LiveTrading bool    `json:"live_trading"`
}

// brokerAccessJSON is what the caller's plan allows of a broker.
type brokerAccessJSON struct {
	// Included: the caller's plan includes the broker (a locked broker is
	// listed with false).
	Included bool `json:"included"`
	// Modes are the modes the caller may connect now: none when the
	// broker is locked, practice only without live trading.
	Modes []string `json:"modes"`
	// Plans are the public plans that include the broker, cheapest first:
	// what unlocks it, and (those with live_trading) its real mode.
	Plans []brokerPlanJSON `json:"plans"`
}

// brokerJSON is an installed broker as a broker selector shows it.
type brokerJSON struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Description string `json:"description"`
	Version     string `json:"version"`
	// Modes the broker supports: practice, and real when it trades real
	// money.
	Modes []string `json:"modes"`
	// SecondFactor: connecting may answer second_factor_required; the
	// client then sends the code the broker asks for as credentials.code.
	SecondFactor bool `json:"second_factor"`
	// Available is false while the broker's plugin has failed (connects
	// and orders then fail with broker_unavailable).
	Available   bool             `json:"available"`
	Credentials []credentialJSON `json:"credentials"`
	Access      brokerAccessJSON `json:"access"`
}

// brokers lists the brokers installed on this host for the signed-in
// caller, each with the credential schema of its connect form and what
// the caller's plan allows of it. It needs a user, so that a browser
// session (or an API key) says whose plan applies; plans themselves are
// public at /api/v2/plans.
func (s *Server) brokers(w http.ResponseWriter, r *http.Request) {
	ent, err := s.billing.Entitlements(r.Context(), mustPrincipal(r).UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	plans, err := s.billing.Plans(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Cheapest first; Plans' own order (the tier) breaks ties.
	slices.SortStableFunc(plans, func(a, b billing.Plan) int { return a.Price.Cmp(b.Price) })
	failed := s.failedPlugins()
	items := []brokerJSON{}
	for _, p := range s.declared {
		if p.Err != nil || p.Entry.Kind != plugin.KindBroker {
			continue // a plugin that could not be fingerprinted has no schema to offer
		}
		items = append(items, brokerEntry(p.Info, ent, plans, !failed[p.Entry.Name]))
	}
	slices.SortFunc(items, func(a, b brokerJSON) int { return cmp.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// brokerEntry describes one broker for a caller with entitlements ent.
func brokerEntry(info plugin.Info, ent billing.Entitlements, plans []billing.Plan, available bool) brokerJSON {
	realMode := info.Capabilities["real_accounts"]
	modes := []string{broker.Practice.String()}
	if realMode {
		modes = append(modes, broker.Real.String())
	}
	creds := make([]credentialJSON, len(info.Fields))
	for i, f := range info.Fields {
		creds[i] = credentialJSON{fieldJSON: fieldJSON{Name: f.Name, Type: f.Type.String(), Default: f.Default, Description: f.Description,
			Required: f.Required, Min: f.Min, Max: f.Max, Options: f.Options}, Secret: f.Sensitive}
	}
	access := brokerAccessJSON{Included: ent.AllowsBroker(info.Name), Modes: []string{}, Plans: []brokerPlanJSON{}}
	if access.Included {
		access.Modes = append(access.Modes, broker.Practice.String())
		if realMode && ent.LiveTrading {
			access.Modes = append(access.Modes, broker.Real.String())
		}
	}
	for _, p := range plans {
		if p.AllowsBroker(info.Name) {
			price, _ := p.Price.Float64()
			access.Plans = append(access.Plans, brokerPlanJSON{ID: p.ID, Name: p.Name, Price: price, Currency: p.Currency, LiveTrading: p.LiveTrading})
		}
	}
	return brokerJSON{Name: info.Name, DisplayName: displayName(info), Description: info.Description, Version: info.Version, Modes: modes,
		SecondFactor: info.Capabilities["second_factor"], Available: available, Credentials: creds, Access: access}
}

// failedPlugins names the brokers whose shared process has failed (the
// crash-loop breaker is open, or it cannot start at all).
func (s *Server) failedPlugins() map[string]bool {
	out := map[string]bool{}
	if s.procs == nil {
		return out
	}
	for _, st := range s.procs.Status() {
		if st.Kind == plugin.KindBroker && st.Session == "" && st.State == pluginmgr.StateFailed {
			out[st.Name] = true
		}
	}
	return out
}

// maxDisplayName bounds a plugin's display name.
const maxDisplayName = 64

// displayName is the name a plugin declares for people (protocol 1.4),
// or its name when it declares none, or one no name may be (too long,
// invisible or control characters: it is shown to every user).
func displayName(info plugin.Info) string {
	if d := strings.TrimSpace(info.DisplayName); d != "" && len(d) <= maxDisplayName && names.Valid(d) {
		return d
	}
	return info.Name
}
