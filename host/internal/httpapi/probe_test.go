package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/billing/webhook"
	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/market"
)

// Requests for routes that do not exist pass the same per-address budget
// and access log as every other request: the middleware wraps the whole
// router, not only the routes it matched.
func TestUnknownRoutesAreRateLimitedAndLogged(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite(t), httpapi.RateLimits{PerIP: 3, PerUser: -1, Auth: -1})
	var statuses []int
	for i := range 5 {
		statuses = append(statuses, e.call("GET", "/nope-"+strconv.Itoa(i), "", "").Status)
	}
	assert.Equal(t, []int{404, 404, 404, 429, 429}, statuses)
	r := e.call("DELETE", "/api/v2/plans", "", "")
	assert.Equal(t, http.StatusTooManyRequests, r.Status, "a wrong method spends the budget too: %s", r.Raw)
	logs := e.logs.String()
	for _, want := range []string{"route=unmatched path=/nope-0 status=404", "path=/nope-4 status=429", "route=unmatched path=/api/v2/plans status=429"} {
		assert.Contains(t, logs, want)
	}
}

// A client-controlled value cannot write a line of its own into the log:
// the forged "[ERROR]" line stays inside the access log line, escaped.
func TestRequestsCannotForgeLogLines(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite(t), noLimits)
	a := e.register("mallory")
	forged := "2026-12-07T12:00:00.000Z [ERROR] stc: FORGED"
	r := e.call("GET", "/api/v2/bots/1%0a2026-12-07T12:00:00.000Z%20[ERROR]%20stc:%20FORGED", a.token, "")
	assert.Equal(t, http.StatusNotFound, r.Status, r.Raw)
	r = e.call("GET", "/nope%0d%0a"+strings.ReplaceAll(forged, " ", "%20")+"%e2%80%ae", "", "")
	assert.Equal(t, http.StatusNotFound, r.Status, r.Raw)
	r = e.call("POST", "/api/v2/auth/login", "", `{"email":"x@example.com\n`+forged+`","password":"correct horse battery"}`)
	assert.Less(t, r.Status, 500, r.Raw)

	logs := e.logs.String()
	found := 0
	for line := range strings.SplitSeq(logs, "\n") {
		trimmed := strings.TrimLeft(line, " |")
		assert.False(t, strings.HasPrefix(trimmed, "2026-12-07T12:00:00.000Z"), "a forged line: %q", line)
		if strings.Contains(line, "FORGED") {
			found++
			assert.Contains(t, line, "http: request:", "a client value outside its access log line: %q", line)
		}
	}
	assert.Equal(t, 2, found, "both requests are logged, each on its own line:\n%s", logs)
	assert.Contains(t, logs, `path="/api/v2/bots/1\n2026-12-07T12:00:00.000Z [ERROR] stc: FORGED"`)
	assert.Contains(t, logs, `FORGED\u202e"`, "an invisible right-to-left override is shown, not applied")
}

// {"amount":1,"AMOUNT":900} used to place a 900 trade and
// {"amount":1,"amount":5000} a 5000 one, while a proxy or client reading
// the body saw 1. Duplicate keys, in any case, and keys that match a
// field only case-insensitively are refused, and nothing is placed.
func TestDuplicateAndCaseVariantKeysAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite(t), noLimits)
	a := e.register("dupe")
	e.connectPaper(&a, "dupe-password-1")
	trade := `{"account_id":` + strconv.FormatInt(a.account, 10) + `,"symbol":"EURUSD-OTC","direction":"CALL","expiration":60,`
	cases := []struct {
		name, method, path, body, code, field string
	}{
		{"case variant", "POST", "/api/v2/user/trade", trade + `"amount":1,"AMOUNT":900}`, "duplicate_key", "AMOUNT"},
		{"exact duplicate", "POST", "/api/v2/user/trade", trade + `"amount":1,"amount":5000}`, "duplicate_key", "amount"},
		{"Unicode folding", "POST", "/api/v2/user/trade", trade + `"amount":1,"ſymbol":"GBPUSD-OTC"}`, "duplicate_key", "ſymbol"},
		{"case variant alone", "POST", "/api/v2/user/trade", trade + `"AMOUNT":900}`, "unknown_field", "AMOUNT"},
		{"legacy route", "POST", "/api/iq/trade", `{"symbol":"EURUSD-OTC","direction":"CALL","expiration":60,"amount":1,"Amount":900}`, "duplicate_key", "Amount"},
		{"nested object", "POST", "/api/v2/bots", `{"name":"b","limits":{"max_stake":1,"max_ſtake":500}}`, "duplicate_key", "limits.max_ſtake"},
		{"map keys", "POST", "/api/v2/user/account", `{"broker":"paper","credentials":{"username":"u1","Username":"u2","password":"p"}}`, "duplicate_key", "credentials.Username"},
		{"inside a raw value", "POST", "/api/v2/bots", `{"name":"b","params":{"period":14,"period":2}}`, "duplicate_key", "params.period"},
		{"top-level duplicate", "POST", "/api/v2/auth/login", `{"email":"a@example.com","email":"b@example.com","password":"x"}`, "duplicate_key", "email"},
		{"in limits", "PUT", "/api/v2/user/limits", `{"max_stake":1,"MAX_STAKE":0}`, "duplicate_key", "MAX_STAKE"},
	}
	for _, c := range cases {
		r := e.call(c.method, c.path, a.token, c.body)
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", c.name, r.Raw)
		assert.Equal(t, c.code, r.errorCode(), "%s: %s", c.name, r.Raw)
		errObj := jsonObj(t, r.JSON["error"])
		assert.Equal(t, c.field, jsonObj(t, errObj["details"])["field"], "%s: %s", c.name, r.Raw)
		assert.Contains(t, errObj["message"], fmt.Sprintf("%q", c.field), "%s: the message names the key", c.name)
	}
	r := e.call("GET", "/api/v2/user/trades", a.token, "")
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Empty(t, r.JSON["items"], "no refused request placed a trade")

	// The documented spelling, once, still works.
	r = e.call("POST", "/api/v2/user/trade", a.token, trade+`"amount":1}`)
	assert.Equal(t, http.StatusCreated, r.Status, r.Raw)
}

// Type errors name the JSON type the field wants: an amount is a number,
// even though the server keeps it as text.
func TestTypeErrorsNameTheJSONType(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite(t), noLimits)
	a := e.register("types")
	for body, want := range map[string]string{
		`{"symbol":"EURUSD-OTC","direction":"CALL","expiration":60,"broker":"paper","amount":true}`:  "amount must be a JSON number",
		`{"symbol":"EURUSD-OTC","direction":"CALL","expiration":60,"broker":"paper","amount":"ten"}`: "amount must be a JSON number",
		`{"symbol":"EURUSD-OTC","direction":"CALL","expiration":60,"broker":"paper","amount":{}}`:    "amount must be a JSON number",
		`{"symbol":"EURUSD-OTC","direction":"CALL","expiration":60,"broker":"paper","amount":[1]}`:   "amount must be a JSON number",
		`{"symbol":"EURUSD-OTC","direction":"CALL","expiration":"60","broker":"paper","amount":1}`:   "expiration must be a JSON number",
		`{"symbol":5,"direction":"CALL","expiration":60,"broker":"paper","amount":1}`:                "symbol must be a JSON string",
	} {
		r := e.call("POST", "/api/v2/user/trade", a.token, body)
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", body, r.Raw)
		assert.Equal(t, "validation_failed", r.errorCode(), body)
		assert.Equal(t, want, jsonObj(t, r.JSON["error"])["message"], body)
	}
	r := e.call("PUT", "/api/v2/user/limits", a.token, `{"max_stake":false}`)
	assert.Equal(t, "max_stake must be a JSON number", jsonObj(t, r.JSON["error"])["message"], r.Raw)
	r = e.call("POST", "/api/v2/bots", a.token, `{"limits":{"max_stake":"1e"}}`)
	assert.Equal(t, "limits.max_stake must be a JSON number", jsonObj(t, r.JSON["error"])["message"], r.Raw)
}

// docs/SECURITY.md: a body is application/json. One sent without a
// Content-Type (what an HTML form or a careless client sends) is refused
// like one with a wrong type; a request without a body needs none.
func TestBodiesNeedTheJSONContentType(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite(t), noLimits)
	a := e.register("ctype")
	sig := webhookSignature(e, `{"id":"evt_x"}`)
	for _, c := range []struct{ method, path, token, body string }{
		{"POST", "/api/v2/auth/login", "", `{"email":"` + a.email + `","password":"correct horse battery"}`},
		{"POST", "/api/v2/auth/register", "", `{"email":"new-` + a.email + `","password":"correct horse battery"}`},
		{"POST", "/api/v2/user/api-keys", a.token, `{"name":"k","scopes":["read"]}`},
		{"PUT", "/api/v2/user/limits", a.token, `{"max_stake":5}`},
		{"PATCH", "/api/v2/bots/1", a.token, `{"name":"x"}`},
		{"POST", "/api/v2/billing/webhook", "", `{"id":"evt_x"}`},
	} {
		for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded"} {
			r := e.call(c.method, c.path, c.token, c.body, "Content-Type", ct, httpapi.SignatureHeader, sig)
			assert.Equal(t, http.StatusUnsupportedMediaType, r.Status, "%s %s with %q: %s", c.method, c.path, ct, r.Raw)
			assert.Equal(t, "unsupported_media_type", r.errorCode())
		}
	}
	r := e.call("POST", "/api/v2/auth/login", "", `{"email":"`+a.email+`","password":"correct horse battery"}`, "Content-Type", "application/json; charset=utf-8")
	assert.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = e.call("POST", "/api/v2/auth/logout", a.token, "")
	assert.Equal(t, http.StatusNoContent, r.Status, "no body, no Content-Type needed: %s", r.Raw)
}

// webhookSignature signs body with e's webhook secret now.
func webhookSignature(e *env, body string) string {
	return webhook.Sign(e.secret, time.Now(), []byte(body))
}

// An encoded slash is not a path separator: /api/v2/user%2ftrades is not
// /api/v2/user/trades, which a proxy in front sees as another path.
func TestEncodedSlashesDoNotRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite(t), noLimits)
	a := e.register("slash")
	require.Equal(t, http.StatusOK, e.call("GET", "/api/v2/user/trades", a.token, "").Status)
	for _, p := range []string{"/api/v2/user%2ftrades", "/api/v2/user%2Ftrades", "/api%2fv2/user/trades", "/api/v2/bots/1%2fstart"} {
		r := e.call("GET", p, a.token, "")
		assert.Equal(t, http.StatusNotFound, r.Status, "%s: %s", p, r.Raw)
		assert.Equal(t, "not_found", r.errorCode(), p)
	}
}

// Market-data keys that no broker or store could hold are the client's
// mistake (400), found before they reach a plugin or the store; they
// used to come back as a 502 quoting the store's error (and, as the
// trade list's filter, as a 500).
func TestMalformedMarketKeysAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenPostgres(t), noLimits, withLiveMarkets)
	for _, q := range []string{
		"/api/v2/candles?broker=paper&symbol=%00&timeframe=1m",
		"/api/v2/candles?broker=paper%00&symbol=EURUSD-OTC&timeframe=1m",
		"/api/v2/candles?broker=paper&symbol=EURUSD%ff&timeframe=1m",
		"/api/v2/candles?broker=paper&symbol=EUR%0aUSD&timeframe=1m",
		"/api/v2/candles?broker=paper&symbol=EUR%e2%80%aeUSD&timeframe=1m",
		"/api/v2/candles?broker=paper&symbol=" + strings.Repeat("A", 51) + "&timeframe=1m",
		"/api/v2/candles?broker=PAPER&symbol=EURUSD-OTC&timeframe=1m",
		"/api/v2/symbols?broker=paper%00",
		"/api/iq/candles?symbol=%00",
	} {
		r := e.call("GET", q, "", "")
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", q, r.Raw)
		assert.Equal(t, "validation_failed", r.errorCode(), q)
		for _, leak := range []string{"pq:", "sql", "UTF8", "0x00", "stored candles"} {
			assert.NotContains(t, r.Raw, leak, q)
		}
	}
	// The trade list's symbol filter refuses what no trade can carry
	// (PostgreSQL's refusal of the NUL byte used to be a 500), but takes
	// every symbol a trade may be placed on, which the market-data rule
	// would not (a space, a ':').
	a := e.register("keys")
	for _, q := range []string{"/api/v2/user/trades?symbol=%00", "/api/v2/user/trades?symbol=%ff"} {
		r := e.call("GET", q, a.token, "")
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", q, r.Raw)
		assert.Equal(t, "validation_failed", r.errorCode(), q)
	}
	for _, q := range []string{"EURUSD-OTC", "EUR%20USD", "NYSE:IBM"} {
		r := e.call("GET", "/api/v2/user/trades?symbol="+q, a.token, "")
		assert.Equal(t, http.StatusOK, r.Status, "%s: %s", q, r.Raw)
	}
	var r response

	r = e.call("GET", "/api/v2/candles?broker=nasdaq&symbol=EURUSD-OTC&timeframe=1m", "", "")
	assert.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
	assert.Equal(t, "unknown_broker", r.errorCode())
	r = e.call("GET", "/api/v2/candles?broker=paper&symbol=EURUSD-OTC&timeframe=1m&limit=5", "", "")
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Len(t, r.JSON["candles"], 5)
}

// brokenMarkets fails as a paper plugin killed under the call does.
type brokenMarkets struct{ noMarkets }

func (brokenMarkets) Candles(context.Context, marketdata.Client, string, string, market.Timeframe, int64, int64, int) (market.Series, error) {
	return nil, fmt.Errorf("candles paper/EURUSD-OTC/1m: %w: broker/paper (pid 4242) died during the call: dial unix /tmp/stc/run/plugin77: connect: connection refused",
		pluginmgr.ErrPluginExited)
}

// A broker that dies under the call is a 502 with a fixed message; the
// pid and the socket path are in the host log, not in the answer.
func TestBrokenBrokerAnswersWithoutInternals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite(t), noLimits, func(d *httpapi.Deps) { d.Markets = brokenMarkets{} })
	e.allowUpstreamFailures(http.StatusBadGateway)
	r := e.call("GET", "/api/v2/candles?broker=paper&symbol=EURUSD-OTC&timeframe=1m", "", "")
	assert.Equal(t, http.StatusBadGateway, r.Status, r.Raw)
	assert.Equal(t, "broker_unavailable", r.errorCode())
	for _, leak := range []string{"pid", "4242", "plugin77", "/tmp/stc", "dial unix"} {
		assert.NotContains(t, r.Raw, leak)
	}
	assert.Contains(t, e.logs.String(), "(pid 4242) died during the call")
}

// PostgreSQL refuses U+0000 in text, so a NUL byte in a field that
// reached a query unchecked was a 500 (an admin grant's plan_id). The
// shared decoder refuses it in every key and string.
func TestNULInBodiesIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenPostgres(t), noLimits)
	a := e.register("nul")
	_, err := e.users.CreateUser(t.Context(), "ops-"+a.email, "correct horse battery", "admin")
	require.NoError(t, err)
	r := e.call("POST", "/api/v2/auth/login", "", `{"email":"ops-`+a.email+`","password":"correct horse battery"}`)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	admin := jsonStr(t, r.JSON["token"])
	grant := "/api/v2/admin/users/" + strconv.FormatInt(a.id, 10) + "/subscription"
	for _, c := range []struct{ path, token, body, field string }{
		{grant, admin, `{"plan_id":"pro\u0000"}`, "plan_id"},
		{"/api/v2/auth/login", "", `{"email":"a\u0000@example.com","password":"correct horse battery"}`, "email"},
		{"/api/v2/bots", a.token, `{"name":"b","params":{"per\u0000iod":14}}`, "params.per\x00iod"},
		{"/api/v2/user/api-keys", a.token, `{"name":"k","scopes":["read","\u0000"]}`, "scopes[1]"},
	} {
		r := e.call("POST", c.path, c.token, c.body)
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", c.body, r.Raw)
		assert.Equal(t, "validation_failed", r.errorCode(), c.body)
		assert.Equal(t, c.field, jsonObj(t, jsonObj(t, r.JSON["error"])["details"])["field"], c.body)
	}
	r = e.call("POST", grant, admin, `{"plan_id":"pro"}`)
	assert.Equal(t, http.StatusOK, r.Status, r.Raw)
}
