package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/apperr"
	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/billing/webhook"
	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/trading"
	"github.com/stc-trading/stc/host/internal/users"
	"github.com/stc-trading/stc/sdk/broker"
)

// The error table, row by row: each service error, wrapped as the services
// wrap it, gets its status, code, details and message, and the error's own
// text (package prefixes, process names, paths) never reaches the client.
func TestErrorTable(t *testing.T) {
	secret := "pid 4242 at /tmp/stc-plugin.sock"
	wrap := func(err error) error { return fmt.Errorf("pluginmgr: %s: %w", secret, err) }
	cases := []struct {
		rule    string
		err     error
		status  int
		code    string
		message string // the whole message, when it is fixed or the service's
		details map[string]any
		retry   string
	}{
		{"V1 broker not installed", legacyFailure(fmt.Errorf("%w %q", ErrUnknownBroker, "iqoption")), 503, "broker_not_installed", "", nil, ""},
		{"unknown broker", marketData(fmt.Errorf("%w %q", ErrUnknownBroker, "x")), 400, "unknown_broker",
			"no broker of this name is installed on this host", map[string]any{"field": "broker"}, ""},
		{"unknown broker", apperr.Refuse(accounts.ErrUnknownBroker, "no broker of this name is installed on this host"), 400, "unknown_broker",
			"no broker of this name is installed on this host", map[string]any{"field": "broker"}, ""},
		{"unknown symbol", marketData(wrap(broker.ErrUnknownInstrument)), 400, "unknown_symbol", "the broker has no such symbol", map[string]any{"field": "symbol"}, ""},
		{"invalid candle key", marketData(fmt.Errorf("%w: symbol %q", store.ErrInvalidKey, secret)), 400, "validation_failed", "", map[string]any{"field": "symbol"}, ""},
		{"candle span too large", marketData(&marketdata.SpanError{Requested: 48 * time.Hour, Max: 24 * time.Hour}), 400, "candle_span_too_large", "",
			map[string]any{"max_days": 1.0, "requested_days": 2.0}, ""},
		{"market-data budget", marketData(&marketdata.BudgetError{Scope: marketdata.ScopeClient, RetryAfter: 1500 * time.Millisecond}), 429,
			"market_data_rate_limited", "", map[string]any{"scope": "client"}, "2"},
		{"market-data broker rate limit", marketData(wrap(broker.RateLimited(time.Minute, "slow down"))), 503, "broker_rate_limited", "", nil, ""},
		{"broker timeout", marketData(wrap(context.DeadlineExceeded)), 504, "broker_timeout", "", nil, ""},
		{"broker unavailable", marketData(wrap(pluginmgr.ErrPluginUnavailable)), 503, "broker_unavailable", "", nil, ""},
		{"broker plugin exited", marketData(wrap(pluginmgr.ErrPluginExited)), 502, "broker_unavailable", "", nil, ""},
		{"market-data broker failure", marketData(wrap(broker.ErrAuthFailed)), 502, "broker_unavailable", "", nil, ""},

		{"invalid field", apperr.Invalid(bots.ErrInvalidSpec, "name", "name must be 1 to 100 bytes"), 400, "validation_failed",
			"name must be 1 to 100 bytes", map[string]any{"field": "name"}, ""},
		{"invalid field", fmt.Errorf("bot limits: %w", apperr.Invalid(trading.ErrInvalidRequest, "max_stake", "max_stake must be positive")), 400,
			"validation_failed", "max_stake must be positive", map[string]any{"field": "max_stake"}, ""},
		{"invalid email", fmt.Errorf("%w: %q is not an email address", users.ErrInvalidEmail, "x"), 400, "validation_failed",
			"email must be a valid email address", map[string]any{"field": "email"}, ""},
		{"invalid request", fmt.Errorf("%w: %s", users.ErrInvalidInput, secret), 400, "validation_failed", "the request is invalid", map[string]any{"field": ""}, ""},
		{"value out of range", fmt.Errorf("trading: insert: %w", store.ErrInvalidValue), 400, "validation_failed", "", map[string]any{"field": ""}, ""},
		{"unknown plan", fmt.Errorf("%w: %q", billing.ErrPlanNotFound, "gold"), 400, "unknown_plan", "no such plan", map[string]any{"field": "plan_id"}, ""},

		{"bot not found", fmt.Errorf("%w: id 3", bots.ErrNotFound), 404, "not_found", "no such bot", nil, ""},
		{"trade's account not found", fmt.Errorf("%w: account 3", trading.ErrAccountNotFound), 404, "not_found", "no such account", map[string]any{"field": "account_id"}, ""},
		{"account not found", fmt.Errorf("bots: account_id 3: %w", accounts.ErrNotFound), 404, "not_found", "no such account", nil, ""},
		{"trade not found", trading.ErrNotFound, 404, "not_found", "no such trade", nil, ""},
		{"user not found", billing.ErrUserNotFound, 404, "not_found", "no such user", nil, ""},
		{"not found", users.ErrNotFound, 404, "not_found", "not found", nil, ""},

		{"risk limit", fmt.Errorf("trading: %w", &trading.RiskError{Rule: trading.RuleMaxStake, Message: "the stake is above your max_stake of 10"}), 422,
			"risk_limit", "the stake is above your max_stake of 10", map[string]any{"rule": "max_stake"}, ""},
		{"account limit", &accounts.LimitError{Max: 2}, 403, "account_limit", "your plan allows 2 connected broker accounts; disconnect one or upgrade",
			map[string]any{"max_accounts": 2}, ""},
		{"not entitled", apperr.Refuse(bots.ErrNotEntitled, "the free plan allows 1 bots"), 403, "not_entitled", "the free plan allows 1 bots", nil, ""},
		{"not entitled", fmt.Errorf("%w: %w", trading.ErrNotEntitled, apperr.Refuse(nil, "the free plan allows practice trading only")), 403, "not_entitled",
			"the free plan allows practice trading only", nil, ""},
		{"not entitled", accounts.ErrNotEntitled, 403, "not_entitled", "your plan does not allow this; upgrade to use it", nil, ""},
		{"idempotency conflict", trading.ErrIdempotencyConflict, 409, "idempotency_conflict", "this Idempotency-Key was used with a different request", nil, ""},
		{"bot conflict", apperr.Refuse(bots.ErrConflict, "bot 3 is running; stop it first"), 409, "conflict", "bot 3 is running; stop it first", nil, ""},
		{"account disconnected", apperr.Refuse(trading.ErrAccountNotConnected, "you have no connected paper account"), 409, "account_disconnected",
			"you have no connected paper account", nil, ""},
		{"account disconnected", wrap(broker.ErrSessionNotFound), 409, "account_disconnected", "the account is not connected", nil, ""},
		{"account busy", fmt.Errorf("%w: 2 trade(s) on this account are still open", accounts.ErrBusy), 409, "account_busy", "", nil, ""},

		{"second factor pending", &accounts.SecondFactorError{AccountID: 7, Err: broker.ErrSecondFactorRequired}, 409, "second_factor_required", "",
			map[string]any{"account_id": int64(7)}, ""},
		{"second factor required", wrap(broker.ErrSecondFactorRequired), 409, "second_factor_required", "", nil, ""},
		{"broker auth failed", &apperr.Refusal{Kind: wrap(broker.ErrAuthFailed), Reason: "the broker refused these credentials: username too short"}, 422,
			"broker_auth_failed", "the broker refused these credentials: username too short", nil, ""},
		{"broker auth failed", wrap(broker.ErrAuthFailed), 422, "broker_auth_failed", "the broker refused these credentials", nil, ""},
		{"broker rate limit", wrap(broker.RateLimited(3*time.Second, "logins")), 429, "broker_rate_limited", "", nil, "3"},
		{"broker unsupported", apperr.Refuse(broker.ErrUnsupported, "the paper broker has no real-money accounts"), 422, "broker_unsupported",
			"the paper broker has no real-money accounts", nil, ""},

		{"login throttled", &users.ThrottledError{RetryAfter: 30 * time.Second}, 429, "too_many_attempts", "", nil, "30"},
		{"invalid credentials", users.ErrInvalidCredentials, 401, "invalid_credentials", "invalid email or password", nil, ""},
		{"email taken", fmt.Errorf("%w: a@b.c", users.ErrEmailTaken), 409, "email_taken", "", nil, ""},

		{"webhooks not configured", webhook.ErrNoSecret, 503, "billing_not_configured", "", nil, ""},
		{"missing signature", webhook.ErrMissingSignature, 400, "invalid_signature", "", nil, ""},
		{"malformed signature", webhook.ErrMalformedHeader, 400, "invalid_signature", "", nil, ""},
		{"stale signature", webhook.ErrTimestampOutOfTolerance, 400, "invalid_signature", "", nil, ""},
		{"bad signature", webhook.ErrBadSignature, 400, "invalid_signature", "", nil, ""},
		{"malformed event", fmt.Errorf("%w: no id", webhook.ErrMalformedEvent), 400, "invalid_event", "", nil, ""},

		{"broker timeout", wrap(context.DeadlineExceeded), 504, "broker_timeout", "", nil, ""},
		{"broker unavailable", wrap(broker.ErrUnavailable), 503, "broker_unavailable", "", nil, ""},
		{"broker plugin exited", wrap(pluginmgr.ErrPluginExited), 502, "broker_unavailable", "", nil, ""},
	}
	tested := map[string]bool{}
	for _, c := range cases {
		rule, ok := matchRule(c.err)
		require.True(t, ok, "%s: no rule matches %v", c.rule, c.err)
		assert.Equal(t, c.rule, rule.name, "%v", c.err)
		h := http.Header{}
		e := rule.answer(h, c.err)
		assert.Equal(t, c.status, e.Status, c.rule)
		assert.Equal(t, c.code, e.Code, c.rule)
		if c.message != "" {
			assert.Equal(t, c.message, e.Message, c.rule)
		}
		assert.NotEmpty(t, e.Message, c.rule)
		assert.NotContains(t, e.Message, secret, "%s: the error's text stays in the log", c.rule)
		if c.details != nil || e.Details != nil {
			assert.Equal(t, c.details, e.Details, c.rule)
		}
		if e.Code == "validation_failed" {
			assert.Contains(t, e.Details, "field", "%s: every validation error names its field", c.rule)
		}
		assert.Equal(t, c.retry, h.Get("Retry-After"), c.rule)
		tested[rule.name] = true
	}
	for _, rule := range errorRules() {
		assert.True(t, tested[rule.name], "rule %q has no case in this table", rule.name)
	}

	_, ok := matchRule(errors.New("disk full"))
	assert.False(t, ok, "an error no rule claims is the server's: a 500")
}

// docs/API.md lists every status and code the table answers, so the
// document clients read cannot miss one.
func TestErrorTableDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "API.md"))
	require.NoError(t, err)
	for _, rule := range errorRules() {
		row := fmt.Sprintf("| %d | `%s` |", rule.status, rule.code)
		assert.Contains(t, string(doc), row, "rule %q", rule.name)
	}
}
