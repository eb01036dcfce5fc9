package httpapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/schema"
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
}

// toAccountJSON never carries credentials: the Account type has none.
func toAccountJSON(a accounts.Account) accountJSON {
	out := accountJSON{ID: a.ID, Broker: a.Broker, Mode: a.Mode.String(), Login: a.Login,
		Connected: a.Status == accounts.StatusConnected, Status: string(a.Status), StatusReason: a.StatusReason,
		Currency: a.Currency, CreatedAt: a.CreatedAt}
	if a.BalanceKnown {
		b, _ := a.Balance.Float64()
		out.Balance = &b
	}
	return out
}

// accountsError maps the account manager's and brokers' errors. A wrong
// broker password is the client's mistake (422), not STC's 401: the STC
// token was fine.
func (s *Server) accountsError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		sf    *accounts.SecondFactorError
		limit *accounts.LimitError
	)
	switch {
	case errors.As(err, &limit):
		writeError(w, &apiError{Status: http.StatusForbidden, Code: "account_limit",
			Message: cleanMessage(err, ""),
			Details: map[string]any{"max_accounts": limit.Max}})
	case errors.As(err, &sf):
		writeError(w, &apiError{Status: http.StatusConflict, Code: "second_factor_required",
			Message: "the broker sent a verification code; repeat the request with credentials.code",
			Details: map[string]any{"account_id": sf.AccountID}})
	case errors.Is(err, accounts.ErrNotFound):
		writeError(w, notFound("no such account"))
	case errors.Is(err, accounts.ErrBusy):
		writeError(w, &apiError{Status: http.StatusConflict, Code: "account_busy", Message: cleanMessage(err, "")})
	case errors.Is(err, accounts.ErrNotEntitled):
		writeError(w, &apiError{Status: http.StatusForbidden, Code: "not_entitled", Message: cleanMessage(err, "")})
	case errors.Is(err, accounts.ErrUnknownBroker):
		writeError(w, &apiError{Status: http.StatusBadRequest, Code: "unknown_broker", Message: cleanMessage(err, ""),
			Details: map[string]any{"field": "broker"}})
	case errors.Is(err, accounts.ErrInvalidRequest):
		writeError(w, badRequest("validation_failed", cleanMessage(err, "")))
	case errors.Is(err, schema.ErrInvalid):
		// The adapter's credential schema refused the fields (a missing
		// username, say): the request's mistake.
		msg := err.Error()
		if i := strings.Index(msg, "invalid configuration: "); i >= 0 {
			msg = msg[i+len("invalid configuration: "):]
		}
		writeError(w, &apiError{Status: http.StatusBadRequest, Code: "validation_failed", Message: "credentials: " + msg,
			Details: map[string]any{"field": "credentials"}})
	case errors.Is(err, broker.ErrAuthFailed):
		writeError(w, &apiError{Status: http.StatusUnprocessableEntity, Code: "broker_auth_failed", Message: "the broker refused these credentials"})
	case errors.Is(err, broker.ErrSecondFactorRequired):
		writeError(w, &apiError{Status: http.StatusConflict, Code: "second_factor_required",
			Message: "the broker needs a verification code; repeat the request with credentials.code"})
	case errors.Is(err, broker.ErrRateLimited):
		if d, ok := broker.RetryAfter(err); ok {
			retryAfter(w, d)
		}
		writeError(w, &apiError{Status: http.StatusTooManyRequests, Code: "broker_rate_limited", Message: "the broker is limiting logins; retry later"})
	case errors.Is(err, broker.ErrUnsupported):
		writeError(w, &apiError{Status: http.StatusUnprocessableEntity, Code: "broker_unsupported", Message: "the broker does not support this: " + cleanMessage(err, "")})
	case errors.Is(err, broker.ErrSessionNotFound):
		writeError(w, &apiError{Status: http.StatusConflict, Code: "account_disconnected", Message: "the account is not connected"})
	case errors.Is(err, broker.ErrUnavailable):
		writeError(w, &apiError{Status: http.StatusServiceUnavailable, Code: "broker_unavailable", Message: "the broker is unavailable; retry later"})
	default:
		s.failure(w, r, err)
	}
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
		writeError(w, &apiError{Status: http.StatusBadRequest, Code: "validation_failed", Message: "broker is required", Details: map[string]any{"field": "broker"}})
		return
	}
	mode := broker.Practice // practice unless the request opts in
	if body.Mode != "" {
		m, err := broker.ParseMode(body.Mode)
		if err != nil {
			writeError(w, &apiError{Status: http.StatusBadRequest, Code: "validation_failed", Message: "mode must be practice or real", Details: map[string]any{"field": "mode"}})
			return
		}
		mode = m
	}
	if len(body.Credentials) == 0 {
		writeError(w, &apiError{Status: http.StatusBadRequest, Code: "validation_failed", Message: "credentials are required", Details: map[string]any{"field": "credentials"}})
		return
	}
	a, err := s.accounts.Connect(r.Context(), mustPrincipal(r).UserID, accounts.ConnectRequest{Broker: body.Broker, Mode: mode, Credentials: body.Credentials})
	if errors.Is(err, broker.ErrAuthFailed) {
		// Say why when the broker did (a too-short username, say), with
		// every credential value cut out in case the broker echoed one.
		msg := "the broker refused these credentials"
		var be *broker.Error
		if errors.As(err, &be) && be.Message != "" {
			msg += ": " + scrub(be.Message, body.Credentials)
		}
		writeError(w, &apiError{Status: http.StatusUnprocessableEntity, Code: "broker_auth_failed", Message: msg})
		return
	}
	if err != nil {
		s.accountsError(w, r, err)
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
		s.accountsError(w, r, err)
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
		s.accountsError(w, r, err)
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
		writeError(w, badRequest("validation_failed", "send exactly one of broker or account_id"))
		return
	}
	userID := mustPrincipal(r).UserID
	if body.AccountID != 0 {
		if err := s.accounts.Disconnect(r.Context(), userID, body.AccountID); err != nil {
			s.accountsError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"disconnected": 1})
		return
	}
	n, err := s.accounts.DisconnectBroker(r.Context(), userID, body.Broker)
	if err != nil {
		s.accountsError(w, r, err)
		return
	}
	if n == 0 {
		writeError(w, notFound("no connected account on this broker"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"disconnected": n})
}

// scrub replaces every credential value of 3 bytes or more in msg.
func scrub(msg string, creds map[string]string) string {
	for _, v := range creds {
		if len(v) >= 3 {
			msg = strings.ReplaceAll(msg, v, "[redacted]")
		}
	}
	return msg
}
