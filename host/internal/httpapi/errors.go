package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/hashicorp/go-hclog"

	"github.com/stc-trading/stc/host/internal/apperr"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
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

// fieldError is the answer to a request field the API refuses itself: a
// validation_failed naming the field in details.field, as every
// validation error does.
func fieldError(field, msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "validation_failed", Message: msg, Details: map[string]any{"field": field}}
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

// statusClientClosed is the status logged for a request whose client
// closed the connection before the answer (nginx's 499).
const statusClientClosed = 499

// internalError answers 500 for a failure that is not the client's. The
// log line names the route, not the request body, which may hold secrets.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away (a page left, a stream closed while it was
		// being authenticated): nothing reads the answer, and it was not
		// the host's failure. 499 is how proxies log a closed request.
		w.WriteHeader(statusClientClosed)
		return
	}
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	writeError(w, &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; it has been logged"})
}

// fail answers a service's error with the first rule of errorRules that
// matches it, and with a 500 when none does. Messages come from the rule:
// a fixed text, or the explanation a service wrote for the client
// (apperr). The error's own text, which may name plugin processes,
// socket paths and store internals, goes to the log only.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	rule, ok := matchRule(err)
	if !ok {
		s.internalError(w, r, err)
		return
	}
	if rule.log != hclog.NoLevel {
		s.log.Log(rule.log, "request refused: "+rule.code, "method", r.Method, "path", r.URL.Path, "error", err)
	}
	writeError(w, rule.answer(w.Header(), err))
}

// marketData marks an error of a market-data or plugin-listing route: a
// broker's trouble there is answered as the broker's (502/503/504), never
// as a refusal of the client's account.
func marketData(err error) error { return fmt.Errorf("%w: %w", errMarketData, err) }

// errMarketData is what marketData wraps an error in.
var errMarketData = errors.New("market data")

// errLegacyBrokerMissing marks an unknown-broker error of a V1 route,
// whose only broker is iqoption: a host without it cannot serve V1.
var errLegacyBrokerMissing = errors.New("the V1 broker is not installed")

// errorRule maps the errors it matches to an answer.
type errorRule struct {
	// name identifies the rule in tests and the docs.
	name   string
	match  func(error) bool
	status int
	code   string
	// message writes the answer's message; see fixed and reasonOr.
	message func(error) string
	// details, when set, gives the answer's details.
	details func(error) map[string]any
	// header, when set, adds headers (Retry-After).
	header func(http.Header, error)
	// log, unless NoLevel, logs the error with the request's route.
	log hclog.Level
}

func (rule errorRule) answer(h http.Header, err error) *apiError {
	e := &apiError{Status: rule.status, Code: rule.code, Message: rule.message(err)}
	if rule.details != nil {
		e.Details = rule.details(err)
	}
	if rule.header != nil {
		rule.header(h, err)
	}
	return e
}

// matchRule returns the first rule of errorRules matching err.
func matchRule(err error) (errorRule, bool) {
	for _, rule := range errorRules() {
		if rule.match(err) {
			return rule, true
		}
	}
	return errorRule{}, false
}

// is matches errors wrapping any of targets.
func is(targets ...error) func(error) bool {
	return func(err error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	}
}

// both matches errors wrapping a and b.
func both(a, b error) func(error) bool {
	return func(err error) bool { return errors.Is(err, a) && errors.Is(err, b) }
}

// as matches errors holding a T.
func as[T error]() func(error) bool {
	return func(err error) bool {
		var t T
		return errors.As(err, &t)
	}
}

// fixed answers msg whatever the error says.
func fixed(msg string) func(error) string { return func(error) string { return msg } }

// reasonOr answers the explanation the error carries for the client
// (apperr.Reason), or def when it carries none.
func reasonOr(def string) func(error) string {
	return func(err error) string {
		if r, ok := apperr.Reason(err); ok {
			return r
		}
		return def
	}
}

// field gives details.field for a refusal of a known field.
func field(name string) func(error) map[string]any {
	return func(error) map[string]any { return map[string]any{"field": name} }
}

// fieldOf gives details.field from the error's *apperr.FieldError.
func fieldOf(err error) map[string]any {
	fe, _ := apperr.FieldOf(err)
	if fe == nil {
		return map[string]any{"field": ""}
	}
	return map[string]any{"field": fe.Field}
}

// retryAfterOf sets Retry-After from a broker's retry hint.
func retryAfterOf(h http.Header, err error) {
	if d, ok := broker.RetryAfter(err); ok {
		setRetryAfter(h, d)
	}
}

// upstreamRules answer a broker's or its plugin's trouble: a 502, 503 or
// 504 with a fixed message.
func upstreamRules() []errorRule {
	return []errorRule{
		{name: "broker timeout", match: is(context.DeadlineExceeded), status: http.StatusGatewayTimeout, code: "broker_timeout",
			message: fixed("the broker did not answer in time; retry later"), log: hclog.Warn},
		{name: "broker unavailable", match: is(broker.ErrUnavailable, pluginmgr.ErrPluginUnavailable), status: http.StatusServiceUnavailable,
			code: "broker_unavailable", message: fixed("the broker is unavailable; retry later"), log: hclog.Warn},
		{name: "broker plugin exited", match: is(pluginmgr.ErrPluginExited), status: http.StatusBadGateway, code: "broker_unavailable",
			message: fixed("the broker could not answer; retry later"), log: hclog.Warn},
	}
}
