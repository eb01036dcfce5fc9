package httpapi

import (
	"net/http"
	"time"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/sdk/broker"
)

type accountJSON struct {
	ID           int64     `json:"id"`
	Broker       string    `json:"broker"`
	Mode         string    `json:"mode"`
	Login        string    `json:"login"`
	Connected    bool      `json:"connected"`
	Status       string    `json:"status"`
	StatusReason string    `json:"status_reason,omitempty"`
	Balance      *float64  `json:"balance"`
	Currency     string    `json:"currency,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	// Removed marks the last event of an account a failed first connect
	// deleted: clients drop it.
	Removed bool `json:"removed,omitempty"`
}

// toAccountJSON never carries credentials: the Account type has none.
func toAccountJSON(a accounts.Account) accountJSON {
	out := accountJSON{ID: a.ID, Broker: a.Broker, Mode: a.Mode.String(), Login: a.Login,
		Connected: a.Status == accounts.StatusConnected, Status: string(a.Status), StatusReason: a.StatusReason,
		Currency: a.Currency, CreatedAt: a.CreatedAt, Removed: a.Removed}
	if a.BalanceKnown {
		b, _ := a.Balance.Float64()
		out.Balance = &b
	}
	return out
}

func (s *Server) connectAccount(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Broker      string            `json:"broker"`
		Mode        string            `json:"mode"`
		Credentials map[string]string `json:"credentials"`
	}
	if e := decodeJSON(w, r, &body); e != nil {
		writeError(w, e)
		return
	}
	if body.Broker == "" {
		writeError(w, fieldError("broker", "broker is required"))
		return
	}
	mode := broker.Practice // practice unless the request opts in
	if body.Mode != "" {
		m, err := broker.ParseMode(body.Mode)
		if err != nil {
			writeError(w, fieldError("mode", "mode must be practice or real"))
			return
		}
		mode = m
	}
	if len(body.Credentials) == 0 {
		writeError(w, fieldError("credentials", "credentials are required"))
		return
	}
	a, err := s.accounts.Connect(r.Context(), mustPrincipal(r).UserID, accounts.ConnectRequest{Broker: body.Broker, Mode: mode, Credentials: body.Credentials})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"account": toAccountJSON(a)})
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) {
	pg, e := parsePage(r)
	if e != nil {
		writeError(w, e)
		return
	}
	list, err := s.accounts.List(r.Context(), mustPrincipal(r).UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list, next := paginate(list, func(a accounts.Account) int64 { return a.ID }, pg)
	out := make([]accountJSON, len(list))
	for i, a := range list {
		out[i] = toAccountJSON(a)
	}
	writeJSON(w, http.StatusOK, listJSON(out, next))
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	id, e := pathID(r, "id")
	if e != nil {
		writeError(w, e)
		return
	}
	a, err := s.accounts.Get(r.Context(), mustPrincipal(r).UserID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"account": toAccountJSON(a)})
}

func (s *Server) disconnectAccount(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Broker    string `json:"broker"`
		AccountID int64  `json:"account_id"`
	}
	if e := decodeJSON(w, r, &body); e != nil {
		writeError(w, e)
		return
	}
	if (body.Broker == "") == (body.AccountID == 0) {
		writeError(w, fieldError("broker", "send exactly one of broker or account_id"))
		return
	}
	userID := mustPrincipal(r).UserID
	if body.AccountID != 0 {
		if err := s.accounts.Disconnect(r.Context(), userID, body.AccountID); err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"disconnected": 1})
		return
	}
	n, err := s.accounts.DisconnectBroker(r.Context(), userID, body.Broker)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if n == 0 {
		writeError(w, notFound("no connected account on this broker"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"disconnected": n})
}
