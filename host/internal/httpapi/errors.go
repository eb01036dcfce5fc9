package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
)

// apiError is the JSON error envelope of every non-2xx answer:
// {"error":{"code":"validation_failed","message":"…","details":{…}}}.
// Codes are stable snake_case strings clients may switch on.
type apiError struct {
	Status  int            `json:"-"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func badRequest(code, msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Message: msg}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, map[string]*apiError{"error": e})
}

// writeRaw sends pre-encoded JSON. An explicit Content-Length spares the
// chunked framing net/http uses for bodies larger than its buffer.
func writeRaw(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// internalError answers 500 for a failure that is not the client's. The
// log line names the route, not the request body, which may hold secrets.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	writeError(w, &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; it has been logged"})
}

// failure answers an error no mapping claimed: a value a column refuses is
// the client's 400 (every input is checked first; this is the backstop), a
// broker or plugin failure is a 502/503/504 with a fixed message, anything
// else a 500. Either way
// the error text, which may name processes and paths, goes to the log only.
func (s *Server) failure(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrInvalidValue) {
		// A value the validation let through but a column refuses: still
		// the client's input, never a 500.
		s.log.Warn("the database refused a value of a request", "method", r.Method, "path", r.URL.Path, "error", err)
		writeError(w, badRequest("validation_failed", "a value is out of the range STC can store"))
		return
	}
	if e, ok := upstreamFailure(err); ok {
		s.log.Warn("broker request failed", "method", r.Method, "path", r.URL.Path, "code", e.Code, "error", err)
		writeError(w, e)
		return
	}
	s.internalError(w, r, err)
}

// cleanMessage strips package prefixes from a service error for a client
// message, so "users: invalid input: name must…" reads "name must…".
func cleanMessage(err error, prefix string) string {
	msg := err.Error()
	if prefix != "" {
		msg = strings.TrimPrefix(msg, prefix)
	}
	for {
		i := strings.Index(msg, ": ")
		if i < 0 || strings.ContainsAny(msg[:i], " ") {
			return msg
		}
		msg = msg[i+2:]
	}
}

// upstreamError maps a market-data or plugin error to an API error:
// unknown names are the client's mistake, broker trouble is a 502/503/504,
// never a 500. Messages are fixed texts: error strings from below name
// plugin processes, socket paths and store internals, which go to the
// log only.
func (s *Server) upstreamError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrUnknownBroker):
		writeError(w, &apiError{Status: http.StatusBadRequest, Code: "unknown_broker",
			Message: "no broker of this name is installed on this host", Details: map[string]any{"field": "broker"}})
	case errors.Is(err, store.ErrInvalidKey):
		// The API refuses malformed keys itself; this keeps the store's
		// verdict a client error should another route pass one on.
		writeError(w, badRequest("validation_failed", "broker and symbol must be names a broker could hold"))
	case errors.Is(err, broker.ErrUnknownInstrument):
		writeError(w, &apiError{Status: http.StatusBadRequest, Code: "unknown_symbol",
			Message: "the broker has no such symbol", Details: map[string]any{"field": "symbol"}})
	default:
		e, _ := upstreamFailure(err)
		s.log.Warn("market data request failed", "code", e.Code, "error", err)
		writeError(w, e)
	}
}

// upstreamFailure maps an error of a broker or its plugin to the API
// error a client sees, with a fixed message; ok is false when err is none
// of those (the answer is then the generic 502).
func upstreamFailure(err error) (e *apiError, ok bool) {
	switch {
	case errors.Is(err, broker.ErrRateLimited):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "broker_rate_limited", Message: "the broker is limiting requests; retry later"}, true
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusGatewayTimeout, Code: "broker_timeout", Message: "the broker did not answer in time; retry later"}, true
	case errors.Is(err, broker.ErrUnavailable), errors.Is(err, pluginmgr.ErrPluginUnavailable):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "broker_unavailable", Message: "the broker is unavailable; retry later"}, true
	case errors.Is(err, pluginmgr.ErrPluginExited):
		return errBrokerFailed, true
	}
	return errBrokerFailed, false
}

// errBrokerFailed answers a broker call that failed in a way the client
// need not know more of (the details go to the log).
var errBrokerFailed = &apiError{Status: http.StatusBadGateway, Code: "broker_unavailable", Message: "the broker could not answer; retry later"}
