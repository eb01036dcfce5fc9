package httpapi

import (
	"net/http"
	"strconv"

	"github.com/stc-trading/stc/sdk/schema"
)

// credentialFieldJSON is one field of a broker's credential schema: what a
// connect form asks for. Sensitive fields are passwords and tokens, to be
// typed into a masked input and never shown again.
type credentialFieldJSON struct {
	fieldJSON
	Sensitive bool `json:"sensitive,omitempty"`
}

type brokerJSON struct {
	Name         string                `json:"name"`
	Version      string                `json:"version"`
	Description  string                `json:"description"`
	Credentials  []credentialFieldJSON `json:"credentials"`
	SecondFactor bool                  `json:"second_factor"`
	RealAccounts bool                  `json:"real_accounts"`
}

func toFieldJSON(f schema.Field) fieldJSON {
	return fieldJSON{Name: f.Name, Type: f.Type.String(), Default: f.Default, Description: f.Description,
		Required: f.Required, Min: f.Min, Max: f.Max, Options: f.Options}
}

// brokers lists the broker plugins this host runs and what connecting an
// account to each takes. Which of them a user's plan includes is in the
// user's entitlements (GET /api/v2/user/subscription).
func (s *Server) brokers(w http.ResponseWriter, r *http.Request) {
	infos, err := s.plugins.Brokers(r.Context())
	if err != nil {
		s.fail(w, r, marketData(err))
		return
	}
	items := make([]brokerJSON, len(infos))
	for i, in := range infos {
		creds := make([]credentialFieldJSON, len(in.Fields))
		for j, f := range in.Fields {
			creds[j] = credentialFieldJSON{fieldJSON: toFieldJSON(f), Sensitive: f.Sensitive}
		}
		items[i] = brokerJSON{Name: in.Name, Version: in.Version, Description: in.Description, Credentials: creds,
			SecondFactor: in.Capabilities["second_factor"], RealAccounts: in.Capabilities["real_accounts"]}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// pluginStateJSON is one plugin process as the operator sees it.
type pluginStateJSON struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Session   string `json:"session,omitempty"`
	Version   string `json:"version,omitempty"`
	State     string `json:"state"`
	PID       int    `json:"pid,omitempty"`
	Restarts  int    `json:"restarts"`
	Instances int    `json:"instances"`
	LastError string `json:"last_error,omitempty"`
}

// adminPlugins lists every plugin process and its state (operators only:
// last errors name processes and paths).
func (s *Server) adminPlugins(w http.ResponseWriter, _ *http.Request) {
	list := s.plugins.Status()
	out := make([]pluginStateJSON, len(list))
	for i, p := range list {
		out[i] = pluginStateJSON{Kind: p.Kind.String(), Name: p.Name, Session: p.Session, Version: p.Version,
			State: p.State.String(), PID: p.PID, Restarts: p.Restarts, Instances: p.Instances, LastError: p.LastError}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

// adminUserJSON is a user with their plan, as the operator's user list
// shows them.
type adminUserJSON struct {
	userJSON
	Subscription subscriptionJSON `json:"subscription"`
}

// adminUsers pages through every user, newest first, with their plan.
func (s *Server) adminUsers(w http.ResponseWriter, r *http.Request) {
	pg, e := parsePage(r)
	if e != nil {
		writeError(w, e)
		return
	}
	list, next, err := s.users.ListUsers(r.Context(), pg.limit, pg.cursor)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]adminUserJSON, len(list))
	for i, u := range list {
		sub, err := s.subscriptionJSON(r, u.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out[i] = adminUserJSON{userJSON: toUserJSON(u), Subscription: sub}
	}
	writeJSON(w, http.StatusOK, listJSON(out, nextCursor(next)))
}

// nextCursor is a next_cursor value: nil at the end of a list.
func nextCursor(next int64) *string {
	if next == 0 {
		return nil
	}
	c := strconv.FormatInt(next, 10)
	return &c
}
