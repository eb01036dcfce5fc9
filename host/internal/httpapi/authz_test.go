package httpapi_test

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// who may call a route, as the matrix expects it.
type who int

const (
	anyone  who = iota // public
	user               // a session, or an API key with the scope
	session            // a login session only
	admin              // the admin role
)

// authzCase is the matrix entry of one route.
type authzCase struct {
	who who
	// readKeyOK: a key with only the read scope may call it (false for
	// trade/bots scopes and for session-only routes).
	readKeyOK bool
	// path and body address the owner's objects; nil means the template
	// as it is and no body.
	path func(owner actor) string
	body func(owner actor) string
	// foreign: another user addressing the owner's object gets 404.
	foreign bool
	// leaks: the answer to another user must not mention the owner.
	leaks bool
	// revokesCaller: the route ends the credential it is called with
	// (logout), so the matrix spends a fresh key on it.
	revokesCaller bool
	// invalid: the request is refused past authentication on purpose
	// (400), because the valid one never ends (the event stream); a
	// caller who may use the route gets that 400, one who may not gets
	// 401 or 403 first.
	invalid bool
}

func idPath(tpl string, id func(actor) int64) func(actor) string {
	return func(a actor) string { return strings.ReplaceAll(tpl, "{id}", strconv.FormatInt(id(a), 10)) }
}

// matrix is every route of the API. A route the router has and the matrix
// lacks fails TestAuthorizationMatrix: a new route must decide who may
// call it here.
func matrix() map[string]authzCase {
	key := func(a actor) int64 { return a.readKeyID }
	trade := func(a actor) int64 { return a.trade }
	bot := func(a actor) int64 { return a.bot }
	onAccount := func(extra string) func(actor) string {
		return func(a actor) string { return `{"account_id":` + strconv.FormatInt(a.account, 10) + extra + `}` }
	}
	acct := func(a actor) int64 { return a.account }
	uid := func(a actor) int64 { return a.id }
	return map[string]authzCase{
		"GET /healthz":          {who: anyone},
		"GET /readyz":           {who: anyone},
		"GET /metrics":          {who: anyone},
		"GET /api/openapi.json": {who: anyone},
		"POST /api/v2/auth/register": {who: anyone, body: func(actor) string {
			return `{"email":"x","password":""}`
		}},
		"POST /api/v2/auth/login": {who: anyone, body: func(a actor) string {
			return `{"email":"` + a.email + `","password":"wrong password!"}`
		}},
		"POST /api/v2/auth/logout":          {who: user, readKeyOK: true, revokesCaller: true},
		"GET /api/v2/user":                  {who: user, readKeyOK: true, leaks: true},
		"GET /api/v2/user/api-keys":         {who: session, leaks: true},
		"POST /api/v2/user/api-keys":        {who: session, body: func(actor) string { return `{"name":"x","scopes":["read"]}` }},
		"GET /api/v2/user/api-keys/{id}":    {who: session, path: idPath("/api/v2/user/api-keys/{id}", key), foreign: true},
		"DELETE /api/v2/user/api-keys/{id}": {who: session, path: idPath("/api/v2/user/api-keys/{id}", key), foreign: true},
		"GET /api/v2/plans":                 {who: anyone},
		"GET /api/v2/user/subscription":     {who: user, readKeyOK: true, leaks: true},
		"POST /api/v2/billing/webhook":      {who: anyone, body: func(actor) string { return `{}` }},
		"POST /api/v2/admin/users/{id}/subscription": {who: admin, path: idPath("/api/v2/admin/users/{id}/subscription", uid),
			body: func(actor) string { return `{"plan_id":"pro"}` }},
		"GET /api/v2/admin/users":   {who: admin},
		"GET /api/v2/admin/plugins": {who: admin},
		"POST /api/v2/user/account": {who: session, body: func(actor) string {
			return `{"broker":"paper","credentials":{"username":"someone","password":"secret-secret"}}`
		}},
		"GET /api/v2/user/accounts":      {who: user, readKeyOK: true, leaks: true},
		"GET /api/v2/user/accounts/{id}": {who: user, readKeyOK: true, path: idPath("/api/v2/user/accounts/{id}", acct), foreign: true},
		"POST /api/v2/user/disconnect": {who: user, body: func(a actor) string {
			return `{"account_id":` + strconv.FormatInt(a.account, 10) + `}`
		}, foreign: true},
		"POST /api/v2/user/trade": {who: user, body: onAccount(`,"symbol":"EURUSD-OTC","direction":"PUT","amount":1,"expiration":60`), foreign: true},
		"POST /api/iq/trade": {who: user, body: func(actor) string {
			return `{"symbol":"EURUSD-OTC","direction":"PUT","amount":1,"expiration":60}`
		}},
		"GET /api/v2/user/trades":              {who: user, readKeyOK: true, leaks: true},
		"GET /api/v2/user/trades/{id}":         {who: user, readKeyOK: true, path: idPath("/api/v2/user/trades/{id}", trade), foreign: true},
		"GET /api/v2/user/stats":               {who: user, readKeyOK: true, leaks: true},
		"GET /api/v2/user/analytics/equity":    {who: user, readKeyOK: true, leaks: true},
		"GET /api/v2/user/analytics/daily":     {who: user, readKeyOK: true, leaks: true},
		"GET /api/v2/user/analytics/by-symbol": {who: user, readKeyOK: true, leaks: true},
		"GET /api/v2/user/analytics/by-hour":   {who: user, readKeyOK: true, leaks: true},
		"GET /api/v2/user/analytics/bots":      {who: user, readKeyOK: true, leaks: true},
		"GET /api/v2/user/limits":              {who: user, readKeyOK: true},
		"PUT /api/v2/user/limits":              {who: session, body: func(actor) string { return `{"max_open_trades":50}` }},
		"POST /api/v2/bots": {who: user, body: onAccount(`,"name":"b","strategy":"rsi","symbol":"EURUSD-OTC","timeframe":"1m","amount":1,"expiration":60`),
			foreign: true},
		"GET /api/v2/bots":              {who: user, readKeyOK: true, leaks: true},
		"GET /api/v2/bots/{id}":         {who: user, readKeyOK: true, path: idPath("/api/v2/bots/{id}", bot), foreign: true},
		"GET /api/v2/bots/{id}/journal": {who: user, readKeyOK: true, path: idPath("/api/v2/bots/{id}/journal", bot), foreign: true, leaks: true},
		"GET /api/v2/stream": {who: user, readKeyOK: true, invalid: true,
			path: func(actor) string { return "/api/v2/stream?last_event_id=not-a-number" }},
		"PATCH /api/v2/bots/{id}":      {who: user, path: idPath("/api/v2/bots/{id}", bot), body: func(actor) string { return `{"name":"mine now"}` }, foreign: true},
		"DELETE /api/v2/bots/{id}":     {who: user, path: idPath("/api/v2/bots/{id}", bot), foreign: true},
		"POST /api/v2/bots/{id}/start": {who: user, path: idPath("/api/v2/bots/{id}/start", bot), foreign: true},
		"POST /api/v2/bots/{id}/stop":  {who: user, path: idPath("/api/v2/bots/{id}/stop", bot), foreign: true},
		"GET /api/v2/symbols":          {who: anyone},
		"GET /api/v2/candles":          {who: anyone},
		"GET /api/v2/strategies":       {who: anyone},
		"GET /api/v2/brokers":          {who: user, readKeyOK: true, leaks: true},
		"GET /api/iq/symbols":          {who: anyone},
		"GET /api/iq/candles":          {who: anyone},
	}
}

func walkRoutes(t *testing.T, h http.Handler) []string {
	t.Helper()
	r, ok := h.(interface{ Walk(fn mux.WalkFunc) error })
	require.True(t, ok, "the API handler walks its routes")
	var out []string
	require.NoError(t, r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return err
		}
		methods, err := route.GetMethods()
		if err != nil {
			return err
		}
		for _, m := range methods {
			out = append(out, m+" "+tpl)
		}
		return nil
	}))
	sort.Strings(out)
	return out
}

// TestAuthorizationMatrix walks every route with two users (alice owns
// the objects, bob tries to reach them), an admin, no token and a
// read-only API key, on PostgreSQL with row-level security on, and real
// paper-broker sessions.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t, storetest.OpenPostgres(t), httpapi.RateLimits{PerIP: -1, PerUser: -1, Auth: -1})
	routes := walkRoutes(t, e.h)
	m := matrix()
	for _, rt := range routes {
		_, ok := m[rt]
		assert.True(t, ok, "route %s has no authorization-matrix entry: add one to matrix()", rt)
	}
	require.Len(t, m, len(routes), "the matrix lists a route the router does not have")

	alice, bob := e.register("alice"), e.register("bob")
	e.connectPaper(&alice, "alice-password-1")
	e.connectPaper(&bob, "bob-password-1")
	e.tradeAndBot(&alice)
	e.tradeAndBot(&bob)
	_, err := e.users.CreateUser(t.Context(), "ops-"+alice.email, "correct horse battery", "admin")
	require.NoError(t, err)
	r := e.call("POST", "/api/v2/auth/login", "", `{"email":"ops-`+alice.email+`","password":"correct horse battery"}`)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	adminToken := jsonStr(t, r.JSON["token"])

	for _, rt := range routes {
		c := m[rt]
		method, tpl, _ := strings.Cut(rt, " ")
		path := func(owner actor) string {
			if c.path != nil {
				return c.path(owner)
			}
			return tpl
		}
		body := func(owner actor) string {
			if c.body != nil {
				return c.body(owner)
			}
			return ""
		}
		t.Run(rt, func(t *testing.T) {
			if c.who == anyone {
				r := e.call(method, path(alice), "", body(alice))
				assert.NotEqual(t, "unauthenticated", r.errorCode(), "a public route needs no token: %s", r.Raw)
				assert.Less(t, r.Status, 500, r.Raw)
				return
			}
			r := e.call(method, path(alice), "", body(alice))
			assert.Equal(t, http.StatusUnauthorized, r.Status, "no token: %s", r.Raw)
			assert.Equal(t, "unauthenticated", r.errorCode())
			r = e.call(method, path(alice), "stc_s_not-a-real-token", body(alice))
			assert.Equal(t, http.StatusUnauthorized, r.Status, "a forged token: %s", r.Raw)

			switch c.who {
			case admin:
				r = e.call(method, path(alice), alice.token, body(alice))
				assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, r.Status, "a user on an admin route: %s", r.Raw)
				r = e.call(method, path(alice), adminToken, body(alice))
				assert.Equal(t, http.StatusOK, r.Status, "the admin: %s", r.Raw)
				return
			case session, user:
				readKey := alice.readKey
				if c.revokesCaller {
					readKey = e.newKey(alice, "read")
				}
				r = e.call(method, path(alice), readKey, body(alice))
				if c.readKeyOK && c.invalid {
					assert.Equal(t, http.StatusBadRequest, r.Status, "a read key on a read route: %s", r.Raw)
				} else if c.readKeyOK {
					assert.Less(t, r.Status, 300, "a read key on a read route: %s", r.Raw)
				} else {
					assert.Equal(t, http.StatusForbidden, r.Status, "a read-only key: %s", r.Raw)
				}
			}
			if c.foreign {
				r = e.call(method, path(alice), bob.token, body(alice))
				assert.Equal(t, http.StatusNotFound, r.Status, "bob on alice's object: %s", r.Raw)
				assert.Equal(t, "not_found", r.errorCode())
				assert.NotContains(t, r.Raw, alice.email)
				assert.NotContains(t, r.Raw, alice.login)
			}
			if c.leaks {
				r = e.call(method, path(bob), bob.token, body(bob))
				require.Equal(t, http.StatusOK, r.Status, r.Raw)
				assert.NotContains(t, r.Raw, alice.email, "bob's answer mentions alice")
				assert.NotContains(t, r.Raw, alice.login, "bob's answer mentions alice's broker login")
				for _, mark := range []string{
					`"account_id":` + strconv.FormatInt(alice.account, 10) + `,`,
					`"user_id":` + strconv.FormatInt(alice.id, 10) + `,`,
					`"bot_id":` + strconv.FormatInt(alice.bot, 10) + `,`,
					`"id":` + strconv.FormatInt(alice.account, 10) + `,"broker"`,
				} {
					assert.NotContains(t, r.Raw, mark, "bob's answer mentions alice's objects")
				}
			}
		})
	}

	// After bob's attempts, alice's objects are intact: her account is
	// connected and her key works.
	r = e.call("GET", "/api/v2/user/accounts/"+strconv.FormatInt(alice.account, 10), alice.token, "")
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, true, jsonObj(t, r.JSON["account"])["connected"], "bob's disconnect did not reach alice's account")
	r = e.call("GET", "/api/v2/bots/"+strconv.FormatInt(alice.bot, 10), alice.token, "")
	require.Equal(t, http.StatusOK, r.Status, "bob's delete did not reach alice's bot: %s", r.Raw)
	assert.Equal(t, "rsi", jsonObj(t, r.JSON["bot"])["name"], "bob's patch did not reach alice's bot")
	assert.Equal(t, "stopped", jsonObj(t, r.JSON["bot"])["status"], "bob's start did not reach alice's bot")
	r = e.call("GET", "/api/v2/user", alice.readKey, "")
	assert.Equal(t, http.StatusOK, r.Status, "bob's revoke did not reach alice's key: %s", r.Raw)

	// Nothing above logged a broker password, at trace level.
	logs := e.logs.String()
	require.Contains(t, logs, "request", "the log was captured")
	assert.NotContains(t, logs, "alice-password-1")
	assert.NotContains(t, logs, "bob-password-1")
}
