package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/hashicorp/go-hclog"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/apperr"
	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/billing/webhook"
	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/trading"
	"github.com/stc-trading/stc/host/internal/users"
	"github.com/stc-trading/stc/sdk/broker"
)

// errorRules is the one table from the services' errors to the API's
// answers (docs/API.md, "Errors"), first match wins. It is a function, not
// a package variable, so nothing can change it. Rules that need data from
// a typed error (a limit, an account id, a retry hint) read it in their
// details or header function; every other answer is the status, the code
// and either a fixed message or the service's explanation for the client.
func errorRules() []errorRule {
	rules := []errorRule{
		// Market data and the plugin list: the client's mistakes first,
		// then the broker's trouble, then anything else of theirs as the
		// broker's failure (a 502), so no account rule applies to them.
		{name: "V1 broker not installed", match: is(errLegacyBrokerMissing), status: http.StatusServiceUnavailable,
			code: "broker_not_installed", message: fixed("the iqoption broker plugin is not installed on this host")},
		{name: "unknown broker", match: is(ErrUnknownBroker, accounts.ErrUnknownBroker), status: http.StatusBadRequest,
			code: "unknown_broker", message: reasonOr("no broker of this name is installed on this host"), details: field("broker")},
		{name: "unknown symbol", match: is(broker.ErrUnknownInstrument), status: http.StatusBadRequest, code: "unknown_symbol",
			message: fixed("the broker has no such symbol"), details: field("symbol")},
		{name: "invalid candle key", match: is(store.ErrInvalidKey), status: http.StatusBadRequest, code: "validation_failed",
			message: fixed("broker and symbol must be names a broker could hold"), details: field("symbol")},
		{name: "candle span too large", match: as[*marketdata.SpanError](), status: http.StatusBadRequest, code: "candle_span_too_large",
			message: spanMessage, details: spanDetails},
		{name: "market-data budget", match: as[*marketdata.BudgetError](), status: http.StatusTooManyRequests,
			code: "market_data_rate_limited", message: budgetMessage, details: budgetDetails, header: budgetRetryAfter},
		{name: "market-data broker rate limit", match: both(errMarketData, broker.ErrRateLimited), status: http.StatusServiceUnavailable,
			code: "broker_rate_limited", message: fixed("the broker is limiting requests; retry later"), log: hclog.Warn},
	}
	rules = append(rules, upstreamRules()...)
	rules = append(rules,
		errorRule{name: "market-data broker failure", match: is(errMarketData), status: http.StatusBadGateway, code: "broker_unavailable",
			message: fixed("the broker could not answer; retry later"), log: hclog.Warn},

		// Validation: every refusal of a field names it in details.field.
		errorRule{name: "invalid field", match: as[*apperr.FieldError](), status: http.StatusBadRequest, code: "validation_failed",
			message: reasonOr("the request is invalid"), details: fieldOf},
		errorRule{name: "invalid email", match: is(users.ErrInvalidEmail), status: http.StatusBadRequest, code: "validation_failed",
			message: fixed("email must be a valid email address"), details: field("email")},
		errorRule{name: "invalid request", match: is(bots.ErrInvalidSpec, trading.ErrInvalidRequest, accounts.ErrInvalidRequest,
			users.ErrInvalidInput, billing.ErrInvalidGrant), status: http.StatusBadRequest, code: "validation_failed",
			message: fixed("the request is invalid"), details: fieldOf},
		// A value the validation let through but a column refuses: still
		// the client's input, never a 500 (every input is checked first;
		// this is the backstop).
		errorRule{name: "value out of range", match: is(store.ErrInvalidValue), status: http.StatusBadRequest, code: "validation_failed",
			message: fixed("a value is out of the range STC can store"), details: field(""), log: hclog.Warn},
		errorRule{name: "unknown plan", match: is(billing.ErrPlanNotFound), status: http.StatusBadRequest, code: "unknown_plan",
			message: fixed("no such plan"), details: field("plan_id")},

		// Objects that do not exist, or are another user's.
		errorRule{name: "bot not found", match: is(bots.ErrNotFound), status: http.StatusNotFound, code: "not_found", message: fixed("no such bot")},
		errorRule{name: "trade's account not found", match: is(trading.ErrAccountNotFound), status: http.StatusNotFound, code: "not_found",
			message: fixed("no such account"), details: field("account_id")},
		errorRule{name: "account not found", match: is(accounts.ErrNotFound), status: http.StatusNotFound, code: "not_found", message: fixed("no such account")},
		errorRule{name: "trade not found", match: is(trading.ErrNotFound), status: http.StatusNotFound, code: "not_found", message: fixed("no such trade")},
		errorRule{name: "user not found", match: is(billing.ErrUserNotFound), status: http.StatusNotFound, code: "not_found", message: fixed("no such user")},
		errorRule{name: "not found", match: is(users.ErrNotFound), status: http.StatusNotFound, code: "not_found", message: fixed("not found")},

		// States that refuse the request.
		errorRule{name: "risk limit", match: as[*trading.RiskError](), status: http.StatusUnprocessableEntity, code: "risk_limit",
			message: riskMessage, details: riskDetails},
		errorRule{name: "account limit", match: as[*accounts.LimitError](), status: http.StatusForbidden, code: "account_limit",
			message: limitMessage, details: limitDetails},
		errorRule{name: "not entitled", match: is(bots.ErrNotEntitled, trading.ErrNotEntitled, accounts.ErrNotEntitled),
			status: http.StatusForbidden, code: "not_entitled", message: reasonOr("your plan does not allow this; upgrade to use it")},
		errorRule{name: "idempotency conflict", match: is(bots.ErrIdempotencyConflict, trading.ErrIdempotencyConflict),
			status: http.StatusConflict, code: "idempotency_conflict", message: fixed("this Idempotency-Key was used with a different request")},
		errorRule{name: "bot conflict", match: is(bots.ErrConflict), status: http.StatusConflict, code: "conflict",
			message: reasonOr("the bot cannot do this in its present state")},
		errorRule{name: "account disconnected", match: is(bots.ErrAccountNotConnected, trading.ErrAccountNotConnected, broker.ErrSessionNotFound),
			status: http.StatusConflict, code: "account_disconnected", message: reasonOr("the account is not connected")},
		errorRule{name: "account busy", match: is(accounts.ErrBusy), status: http.StatusConflict, code: "account_busy",
			message: reasonOr("the account has trades the broker has still to resolve; retry once they have settled")},

		// A broker's answer to a login.
		errorRule{name: "second factor pending", match: as[*accounts.SecondFactorError](), status: http.StatusConflict,
			code: "second_factor_required", message: fixed("the broker sent a verification code; repeat the request with credentials.code"),
			details: secondFactorDetails},
		errorRule{name: "second factor required", match: is(broker.ErrSecondFactorRequired), status: http.StatusConflict,
			code: "second_factor_required", message: fixed("the broker needs a verification code; repeat the request with credentials.code")},
		// A wrong broker password is the client's mistake (422), not STC's
		// 401: the STC token was fine.
		errorRule{name: "broker auth failed", match: is(broker.ErrAuthFailed), status: http.StatusUnprocessableEntity,
			code: "broker_auth_failed", message: reasonOr("the broker refused these credentials")},
		errorRule{name: "broker rate limit", match: is(broker.ErrRateLimited), status: http.StatusTooManyRequests,
			code: "broker_rate_limited", message: fixed("the broker is limiting logins; retry later"), header: retryAfterOf},
		errorRule{name: "broker unsupported", match: is(broker.ErrUnsupported), status: http.StatusUnprocessableEntity,
			code: "broker_unsupported", message: reasonOr("the broker does not support this")},

		// Sign-up and login.
		errorRule{name: "login throttled", match: as[*users.ThrottledError](), status: http.StatusTooManyRequests, code: "too_many_attempts",
			message: fixed("too many failed logins; retry after the number of seconds in Retry-After"), header: throttleRetryAfter},
		errorRule{name: "invalid credentials", match: is(users.ErrInvalidCredentials), status: http.StatusUnauthorized,
			code: "invalid_credentials", message: fixed("invalid email or password")},
		errorRule{name: "email taken", match: is(users.ErrEmailTaken), status: http.StatusConflict, code: "email_taken",
			message: fixed("this email is already registered; log in instead")},

		// Payment provider webhooks.
		errorRule{name: "webhooks not configured", match: is(webhook.ErrNoSecret), status: http.StatusServiceUnavailable,
			code: "billing_not_configured", message: fixed("webhooks are not configured on this host"), log: hclog.Error},
		errorRule{name: "missing signature", match: is(webhook.ErrMissingSignature), status: http.StatusBadRequest, code: "invalid_signature",
			message: fixed("the " + SignatureHeader + " header is missing"), log: hclog.Warn},
		errorRule{name: "malformed signature", match: is(webhook.ErrMalformedHeader), status: http.StatusBadRequest, code: "invalid_signature",
			message: fixed("the " + SignatureHeader + " header is malformed"), log: hclog.Warn},
		errorRule{name: "stale signature", match: is(webhook.ErrTimestampOutOfTolerance), status: http.StatusBadRequest, code: "invalid_signature",
			message: fixed("the signature's timestamp is outside the tolerance"), log: hclog.Warn},
		errorRule{name: "bad signature", match: is(webhook.ErrBadSignature), status: http.StatusBadRequest, code: "invalid_signature",
			message: fixed("the signature does not match the body"), log: hclog.Warn},
		errorRule{name: "malformed event", match: is(webhook.ErrMalformedEvent), status: http.StatusBadRequest, code: "invalid_event",
			message: fixed("the event is malformed")},
	)
	// A broker's trouble outside market data (a login, a balance).
	return append(rules, upstreamRules()...)
}

func spanMessage(err error) string {
	var span *marketdata.SpanError
	errors.As(err, &span)
	return span.Error() + "; ask for fewer candles, a smaller timeframe or a shorter from/to range"
}

func spanDetails(err error) map[string]any {
	var span *marketdata.SpanError
	errors.As(err, &span)
	return map[string]any{"max_days": spanDays(span.Max), "requested_days": spanDays(span.Requested)}
}

func budgetMessage(err error) string {
	var budget *marketdata.BudgetError
	errors.As(err, &budget)
	return budget.Error()
}

func budgetDetails(err error) map[string]any {
	var budget *marketdata.BudgetError
	errors.As(err, &budget)
	return map[string]any{"scope": budget.Scope}
}

func budgetRetryAfter(h http.Header, err error) {
	var budget *marketdata.BudgetError
	errors.As(err, &budget)
	setRetryAfter(h, budget.RetryAfter)
}

func riskMessage(err error) string {
	var risk *trading.RiskError
	errors.As(err, &risk)
	return risk.Message
}

func riskDetails(err error) map[string]any {
	var risk *trading.RiskError
	errors.As(err, &risk)
	return map[string]any{"rule": risk.Rule}
}

func limitMessage(err error) string {
	var limit *accounts.LimitError
	errors.As(err, &limit)
	return fmt.Sprintf("your plan allows %d connected broker accounts; disconnect one or upgrade", limit.Max)
}

func limitDetails(err error) map[string]any {
	var limit *accounts.LimitError
	errors.As(err, &limit)
	return map[string]any{"max_accounts": limit.Max}
}

func secondFactorDetails(err error) map[string]any {
	var sf *accounts.SecondFactorError
	errors.As(err, &sf)
	return map[string]any{"account_id": sf.AccountID}
}

func throttleRetryAfter(h http.Header, err error) {
	var th *users.ThrottledError
	errors.As(err, &th)
	setRetryAfter(h, th.RetryAfter)
}
