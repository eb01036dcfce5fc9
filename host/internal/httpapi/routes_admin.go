package httpapi

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/host/internal/names"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/pluginsettings"
	"github.com/stc-trading/stc/host/internal/users"
)

// maxEmailFilter bounds ?email= of the operator's user list: an email is
// at most 254 bytes.
const maxEmailFilter = 254

type adminSubscriptionJSON struct {
	PlanID           string     `json:"plan_id"`
	Status           string     `json:"status"`
	CurrentPeriodEnd *time.Time `json:"current_period_end"`
}

// adminUserJSON is a user as an operator's list shows them.
type adminUserJSON struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	// PlanID is the plan whose limits apply now: the subscription's while
	// it is live, else the free plan.
	PlanID string `json:"plan_id"`
	// Subscription is null for a user who never had one.
	Subscription *adminSubscriptionJSON `json:"subscription"`
}

// adminUsers lists users for an operator, newest first, filtered by a
// substring of their email (?email=), with their plan and subscription.
func (s *Server) adminUsers(w http.ResponseWriter, r *http.Request) {
	pg, e := parsePage(r)
	if e != nil {
		writeError(w, e)
		return
	}
	q := users.Query{EmailContains: r.URL.Query().Get("email"), Limit: pg.limit, Cursor: pg.cursor}
	if len(q.EmailContains) > maxEmailFilter || !names.Valid(q.EmailContains) {
		writeError(w, fieldError("email", "email must be part of an email address: at most 254 visible characters"))
		return
	}
	list, next, err := s.users.List(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ids := make([]int64, len(list))
	for i, u := range list {
		ids[i] = u.ID
	}
	subs, err := s.billing.Subscriptions(r.Context(), ids)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]adminUserJSON, len(list))
	for i, u := range list {
		out[i] = adminUserJSON{ID: u.ID, Email: u.Email, Role: string(u.Role), CreatedAt: u.CreatedAt, PlanID: billing.FreePlanID}
		if sub, ok := subs[u.ID]; ok {
			out[i].PlanID = sub.PlanInEffect()
			out[i].Subscription = &adminSubscriptionJSON{PlanID: sub.PlanID, Status: string(sub.Status), CurrentPeriodEnd: optTime(sub.CurrentPeriodEnd)}
		}
	}
	var cursor *string
	if next != 0 {
		c := strconv.FormatInt(next, 10)
		cursor = &c
	}
	writeJSON(w, http.StatusOK, listJSON(out, cursor))
}

// pluginSettingJSON is one operator setting a plugin declares, as
// `stc plugins` shows it: a secret's value is masked.
type pluginSettingJSON struct {
	Name     string `json:"name"`
	Variable string `json:"variable"`
	Type     string `json:"type"`
	// Value is the effective value (the operator's, else the default),
	// "******" for a secret, null when unset.
	Value       *string `json:"value"`
	Source      string  `json:"source"`
	Required    bool    `json:"required"`
	Secret      bool    `json:"secret"`
	Description string  `json:"description"`
}

// adminPluginJSON is one installed plugin for an operator.
type adminPluginJSON struct {
	Kind         string `json:"kind"`
	Name         string `json:"name"`
	Version      string `json:"version"`
	Protocol     string `json:"protocol"`
	Multiplexing bool   `json:"multiplexing"`
	Description  string `json:"description"`
	// State is the shared process's: starting, running, backoff, failed,
	// stopped, or idle when none runs (plugins start on first use).
	State string `json:"state"`
	// Restarts counts the relaunches of its processes since the host
	// started; SessionProcesses the processes of per-session brokers.
	Restarts         int `json:"restarts"`
	SessionProcesses int `json:"session_processes"`
	// LastError is a fixed text saying what kind of failure happened last:
	// the error itself names paths and processes, so it goes to the log.
	LastError *string             `json:"last_error"`
	Settings  []pluginSettingJSON `json:"settings"`
}

// adminPlugins lists the installed plugins with their process state and
// declared settings.
func (s *Server) adminPlugins(w http.ResponseWriter, _ *http.Request) {
	var status []pluginmgr.PluginStatus
	if s.procs != nil {
		status = s.procs.Status()
	}
	out := make([]adminPluginJSON, 0, len(s.declared))
	for _, p := range s.declared {
		out = append(out, adminPlugin(p, status))
	}
	slices.SortFunc(out, func(a, b adminPluginJSON) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

func adminPlugin(p pluginsettings.Plugin, status []pluginmgr.PluginStatus) adminPluginJSON {
	out := adminPluginJSON{Kind: p.Entry.Kind.String(), Name: p.Entry.Name, State: "idle", Settings: []pluginSettingJSON{}}
	var lastErr error
	if p.Err != nil {
		lastErr = errFingerprint
	} else {
		out.Version, out.Protocol = p.Info.Version, fmt.Sprintf("1.%d", p.Info.ProtocolMinor)
		out.Multiplexing, out.Description = p.Info.Multiplexing, p.Info.Description
	}
	for _, st := range status {
		if st.Kind != p.Entry.Kind || st.Name != p.Entry.Name {
			continue
		}
		out.Restarts += st.Restarts
		if st.Session != "" {
			out.SessionProcesses++
		} else {
			out.State = st.State.String()
		}
		// The shared process's error first, else a session process's.
		if st.Err != nil && (lastErr == nil || st.Session == "") {
			lastErr = st.Err
		}
	}
	if lastErr != nil {
		text := pluginErrorText(lastErr)
		out.LastError = &text
	}
	for _, v := range p.Values {
		set := pluginSettingJSON{Name: v.Setting.Name, Variable: v.Var, Type: v.Setting.Type.String(), Source: string(v.Source),
			Required: v.Setting.Required, Secret: v.Setting.Sensitive, Description: v.Setting.Description}
		if v.Source != pluginsettings.Unset {
			shown := v.Display()
			set.Value = &shown
		}
		out.Settings = append(out.Settings, set)
	}
	return out
}

// errFingerprint stands for a plugin the host could not fingerprint at
// start.
var errFingerprint = errors.New("not fingerprinted")

// pluginErrorText is the fixed text of a plugin failure.
func pluginErrorText(err error) string {
	switch {
	case errors.Is(err, errFingerprint):
		return "the host could not read the plugin's declarations at start; the cause is in the host log"
	case errors.Is(err, pluginmgr.ErrChecksumMismatch):
		return "the binary does not match its line in SHA256SUMS; rebuild and reinstall it"
	case errors.Is(err, pluginmgr.ErrPluginStdout):
		return "the plugin wrote to stdout before its handshake; plugins must log to stderr"
	case errors.Is(err, pluginmgr.ErrStartTimeout):
		return "the plugin did not complete its handshake in time"
	case errors.Is(err, catalog.ErrFingerprintMismatch):
		return "the binary reports another kind or name than its file name says"
	}
	return "the plugin's process ended or could not start; the cause is in the host log"
}
