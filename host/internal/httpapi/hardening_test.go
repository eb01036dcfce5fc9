package httpapi_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/billing/webhook"
	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/storetest"
)

var noLimits = httpapi.RateLimits{PerIP: -1, PerUser: -1, Auth: -1}

// Every client mistake is a 4xx with the JSON error envelope, never a 5xx.
func TestClientMistakesAreEnvelopedFourHundreds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite(t), noLimits)
	a := e.register("carol")
	big := `{"email":"` + strings.Repeat("a", 70<<10) + `","password":"x"}`
	cases := []struct {
		name, method, path, token, body string
		status                          int
		code                            string
		headers                         []string
	}{
		{"unknown field", "POST", "/api/v2/auth/register", "", `{"email":"d@example.com","password":"correct horse battery","admin":true}`, 400, "unknown_field", nil},
		{"wrong type", "POST", "/api/v2/auth/login", "", `{"email":5,"password":"x"}`, 400, "validation_failed", nil},
		{"not json", "POST", "/api/v2/auth/login", "", `email=x`, 400, "invalid_json", nil},
		{"empty body", "POST", "/api/v2/auth/login", "", ``, 400, "invalid_json", nil},
		{"two objects", "POST", "/api/v2/auth/login", "", `{"email":"a@b.co","password":"x"}{}`, 400, "invalid_json", nil},
		{"array", "POST", "/api/v2/auth/login", "", `[]`, 400, "invalid_json", nil},
		{"too large", "POST", "/api/v2/auth/register", "", big, 413, "body_too_large", nil},
		{"media type", "POST", "/api/v2/auth/login", "", `{}`, 415, "unsupported_media_type", []string{"Content-Type", "text/plain"}},
		{"short password", "POST", "/api/v2/auth/register", "", `{"email":"e@example.com","password":"short"}`, 400, "validation_failed", nil},
		{"bad email", "POST", "/api/v2/auth/register", "", `{"email":"nope","password":"correct horse battery"}`, 400, "validation_failed", nil},
		{"taken email", "POST", "/api/v2/auth/register", "", `{"email":"` + a.email + `","password":"correct horse battery"}`, 409, "email_taken", nil},
		{"limit too big", "GET", "/api/v2/user/accounts?limit=501", a.token, "", 400, "validation_failed", nil},
		{"limit zero", "GET", "/api/v2/user/api-keys?limit=0", a.token, "", 400, "validation_failed", nil},
		{"bad cursor", "GET", "/api/v2/user/accounts?cursor=abc", a.token, "", 400, "validation_failed", nil},
		{"id not a number", "GET", "/api/v2/user/accounts/abc", a.token, "", 404, "not_found", nil},
		{"id overflow", "GET", "/api/v2/user/api-keys/99999999999999999999", a.token, "", 404, "not_found", nil},
		{"unknown broker", "POST", "/api/v2/user/account", a.token, `{"broker":"nasdaq","credentials":{"username":"u","password":"p"}}`, 400, "unknown_broker", nil},
		{"no credentials", "POST", "/api/v2/user/account", a.token, `{"broker":"paper"}`, 400, "validation_failed", nil},
		{"bad mode", "POST", "/api/v2/user/account", a.token, `{"broker":"paper","mode":"yolo","credentials":{"username":"u","password":"p"}}`, 400, "validation_failed", nil},
		{"credential not a string", "POST", "/api/v2/user/account", a.token, `{"broker":"paper","credentials":{"username":1}}`, 400, "validation_failed", nil},
		{"wrong broker password", "POST", "/api/v2/user/account", a.token, `{"broker":"paper","credentials":{"username":"` + a.login + `","password":"pw-1"}}`, 201, "", nil},
		{"disconnect both", "POST", "/api/v2/user/disconnect", a.token, `{"broker":"paper","account_id":1}`, 400, "validation_failed", nil},
		{"disconnect nothing", "POST", "/api/v2/user/disconnect", a.token, `{"broker":"iqoption"}`, 404, "not_found", nil},
		{"unknown scope", "POST", "/api/v2/user/api-keys", a.token, `{"name":"k","scopes":["root"]}`, 400, "validation_failed", nil},
		{"admin scope for a user", "POST", "/api/v2/user/api-keys", a.token, `{"name":"k","scopes":["admin"]}`, 400, "validation_failed", nil},
		{"expiry in the past", "POST", "/api/v2/user/api-keys", a.token, `{"name":"k","scopes":["read"],"expires_at":"2001-01-01T00:00:00Z"}`, 400, "validation_failed", nil},
		{"bad time", "POST", "/api/v2/user/api-keys", a.token, `{"name":"k","scopes":["read"],"expires_at":"tomorrow"}`, 400, "invalid_json", nil},
		{"real mode on the free plan", "POST", "/api/v2/user/account", a.token, `{"broker":"paper","mode":"real","credentials":{"username":"u","password":"p"}}`, 403, "not_entitled", nil},
		{"unsigned webhook", "POST", "/api/v2/billing/webhook", "", `{"id":"evt_1"}`, 400, "invalid_signature", nil},
		{"unknown route", "GET", "/api/v2/nope", a.token, "", 404, "not_found", nil},
		{"wrong method", "PUT", "/api/v2/plans", "", "", 405, "method_not_allowed", nil},
	}
	for _, c := range cases {
		r := e.call(c.method, c.path, c.token, c.body, c.headers...)
		assert.Equal(t, c.status, r.Status, "%s: %s", c.name, r.Raw)
		if c.code != "" {
			assert.Equal(t, c.code, r.errorCode(), "%s: %s", c.name, r.Raw)
			assert.NotEmpty(t, jsonObj(t, r.JSON["error"])["message"], c.name)
		}
	}
	// The broker's reason is passed on, credentials cut out of it.
	r0 := e.call("POST", "/api/v2/user/account", a.token, `{"broker":"paper","credentials":{"username":"ab","password":"pw-secret-1"}}`)
	assert.Equal(t, http.StatusUnprocessableEntity, r0.Status, r0.Raw)
	assert.Contains(t, r0.Raw, "username must be 3 to 64 characters")
	assert.NotContains(t, r0.Raw, "pw-secret-1")

	// The same paper login with a wrong password is the broker refusing
	// it: a 422, and nothing is left behind.
	r := e.call("POST", "/api/v2/user/account", a.token, `{"broker":"paper","credentials":{"username":"`+a.login+`","password":"not-pw-1"}}`)
	assert.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Raw)
	assert.Equal(t, "broker_auth_failed", r.errorCode())
	r = e.call("GET", "/api/v2/user/accounts", a.token, "")
	assert.Len(t, r.JSON["items"], 1, "the refused connection left no account: %s", r.Raw)
}

func TestRateLimitsAnswer429WithRetryAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite(t), httpapi.RateLimits{PerIP: 1000, PerUser: 5, Auth: 3})
	// register and login share the per-address auth budget.
	var last response
	for i := range 4 {
		last = e.call("POST", "/api/v2/auth/login", "", fmt.Sprintf(`{"email":"x%d@example.com","password":"correct horse battery"}`, i))
	}
	assert.Equal(t, http.StatusTooManyRequests, last.Status, last.Raw)
	assert.Equal(t, "rate_limited", last.errorCode())
	secs, err := strconv.Atoi(last.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After is whole seconds")
	assert.Positive(t, secs)

	// The per-user budget counts every token of the user.
	e2 := newEnv(t, storetest.OpenSQLite(t), httpapi.RateLimits{PerIP: 1000, PerUser: 5, Auth: 100})
	a := e2.register("dave") // 1 authenticated call (key creation) + 1 list
	statuses := []int{}
	for range 5 {
		statuses = append(statuses, e2.call("GET", "/api/v2/user", a.token, "").Status)
	}
	assert.Contains(t, statuses, http.StatusOK)
	assert.Equal(t, http.StatusTooManyRequests, statuses[len(statuses)-1], "%v", statuses)
	b := e2.register("erin")
	assert.Equal(t, http.StatusOK, e2.call("GET", "/api/v2/user", b.token, "").Status, "another user has their own budget")
}

// Behind a trusted proxy every client has its own address budget (from
// X-Forwarded-For); without one configured, the header moves nothing and
// all requests through the proxy share its budget.
func TestRateLimitPerClientBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	healthz := func(e *env, client string) int { // e.call's peer is 192.0.2.10
		return e.call("GET", "/healthz", "", "", "X-Forwarded-For", client).Status
	}
	proxied := newEnv(t, storetest.OpenSQLite(t), httpapi.RateLimits{PerIP: 2, PerUser: -1, Auth: -1}, func(d *httpapi.Deps) {
		d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.10/32")}
	})
	assert.Equal(t, http.StatusOK, healthz(proxied, "203.0.113.1"))
	assert.Equal(t, http.StatusOK, healthz(proxied, "203.0.113.1"))
	assert.Equal(t, http.StatusTooManyRequests, healthz(proxied, "203.0.113.1"), "the client's own budget is spent")
	assert.Equal(t, http.StatusTooManyRequests, healthz(proxied, "198.51.100.7, 203.0.113.1"), "a spoofed entry in front changes nothing")
	assert.Equal(t, http.StatusOK, healthz(proxied, "203.0.113.2"), "another client behind the proxy")

	direct := newEnv(t, storetest.OpenSQLite(t), httpapi.RateLimits{PerIP: 2, PerUser: -1, Auth: -1})
	assert.Equal(t, http.StatusOK, healthz(direct, "203.0.113.1"))
	assert.Equal(t, http.StatusOK, healthz(direct, "203.0.113.2"))
	assert.Equal(t, http.StatusTooManyRequests, healthz(direct, "203.0.113.3"), "an untrusted peer's header is ignored")
}

// Webhooks on PostgreSQL through HTTP: bad signatures are refused, and
// one valid event delivered 1,000 times (concurrently) changes the
// subscription once; the upgrade lifts the plan's limits at once.
func TestBillingWebhookOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenPostgres(t), noLimits)
	a := e.register("frank")
	r := e.call("GET", "/api/v2/user/subscription", a.token, "")
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, "practice", r.JSON["plan_id"])
	assert.Equal(t, "none", r.JSON["status"])
	r = e.call("POST", "/api/v2/user/account", a.token, `{"broker":"paper","mode":"real","credentials":{"username":"u","password":"p"}}`)
	assert.Equal(t, http.StatusForbidden, r.Status, "the practice plan has no real trading: %s", r.Raw)

	now := time.Now()
	body := fmt.Sprintf(`{"id":"evt_%s","type":"checkout.completed","created":%d,"data":{"user_id":%d,"plan_id":"elite","subscription_id":"sub_%s","period_end":%d}}`,
		randHex(t), now.Unix(), a.id, randHex(t), now.Add(30*24*time.Hour).Unix())
	sig := func(at time.Time) string { return webhook.Sign(e.secret, at, []byte(body)) }
	for name, header := range map[string]string{
		"unsigned": "",
		"wrong":    webhook.Sign([]byte("not the secret"), now, []byte(body)),
		"stale":    sig(now.Add(-301 * time.Second)),
		"future":   sig(now.Add(301 * time.Second)),
		"garbage":  "t=abc,v1=zz",
	} {
		r := e.call("POST", "/api/v2/billing/webhook", "", body, httpapi.SignatureHeader, header)
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", name, r.Raw)
		assert.Equal(t, "invalid_signature", r.errorCode(), name)
	}
	r = e.call("GET", "/api/v2/user/subscription", a.token, "")
	assert.Equal(t, "none", r.JSON["status"], "no rejected delivery changed anything")

	header := sig(now)
	var (
		wg                sync.WaitGroup
		mu                sync.Mutex
		applied, replayed int
		other             []int
	)
	for range 1000 {
		wg.Go(func() {
			r := e.call("POST", "/api/v2/billing/webhook", "", body, httpapi.SignatureHeader, header)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case r.Status == http.StatusOK && r.JSON["duplicate"] == false:
				applied++
			case r.Status == http.StatusOK:
				replayed++
			default:
				other = append(other, r.Status)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, applied, "one delivery applies the event")
	assert.Equal(t, 999, replayed, "the rest are recognized as duplicates")
	assert.Empty(t, other)

	r = e.call("GET", "/api/v2/user/subscription", a.token, "")
	assert.Equal(t, "elite", r.JSON["plan_id"], r.Raw)
	assert.Equal(t, "active", r.JSON["status"], r.Raw)
	assert.Equal(t, true, jsonObj(t, r.JSON["entitlements"])["live_trading"])
	// The limit is lifted at once: real mode now passes the entitlement
	// check and reaches the broker, which (paper) is practice-only.
	r = e.call("POST", "/api/v2/user/account", a.token, `{"broker":"paper","mode":"real","credentials":{"username":"u","password":"p"}}`)
	assert.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Raw)
	assert.Equal(t, "broker_unsupported", r.errorCode())
}
