package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stc-trading/stc/host/internal/storetest"
)

// fuzzRoutes are the request decoders: every route that reads a body or
// query, called with a valid session so decoding, not auth, is what runs.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/api/v2/auth/register"},
	{"POST", "/api/v2/auth/login"},
	{"POST", "/api/v2/user/api-keys"},
	{"POST", "/api/v2/user/account"},
	{"POST", "/api/v2/user/disconnect"},
	{"POST", "/api/v2/admin/users/1/subscription"},
	{"POST", "/api/v2/billing/webhook"},
	{"GET", "/api/v2/user/accounts?"},
	{"GET", "/api/v2/user/api-keys?"},
	{"GET", "/api/v2/candles?"},
	{"GET", "/api/v2/symbols?"},
}

// FuzzRequestDecoders sends arbitrary bodies (and, for GET routes, query
// strings) to every decoder through the real router and services: the
// answer is never a 5xx, and every error carries the JSON envelope. The
// seed corpus runs in `go test`; `go test -fuzz=FuzzRequestDecoders`
// explores further.
func FuzzRequestDecoders(f *testing.F) {
	seeds := []string{
		`{"email":"a@example.com","password":"correct horse battery"}`,
		`{"name":"k","scopes":["read","trade"],"expires_at":"2099-01-01T00:00:00Z"}`,
		`{"broker":"paper","mode":"practice","credentials":{"username":"u","password":"p"}}`,
		`{"broker":"paper","credentials":{"username":"u","password":"p","code":"000000"}}`,
		`{"account_id":1}`, `{"broker":"paper"}`,
		`{"plan_id":"pro","status":"trialing","current_period_end":"2099-01-01T00:00:00Z"}`,
		`{"id":"evt_1","type":"invoice.paid","created":1,"data":{}}`,
		`limit=500&cursor=9`, `limit=-1`, `broker=paper&symbol=EURUSD-OTC&timeframe=1m&limit=10`,
		``, `{`, `null`, `[]`, `{"a":1}`, "\x00\xff", `{"email":{"$gt":""}}`, `{"credentials":{"` + strings.Repeat("k", 100) + `":"v"}}`,
	}
	for i := range fuzzRoutes {
		for _, s := range seeds {
			f.Add(uint8(i), s)
		}
	}
	// One environment for the whole run: the fuzz engine calls the target
	// many times, and a plugin process per call would be the bottleneck.
	e := newEnv(f, storetest.OpenSQLite(f), noLimits)
	owner := e.register("fuzz")
	f.Fuzz(func(t *testing.T, route uint8, input string) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		path, body := rt.path, input
		if rt.method == "GET" {
			path, body = rt.path+input, ""
			if _, err := url.ParseRequestURI(path); err != nil || strings.ContainsAny(input, " #") {
				t.Skip("not a valid request target; no client can send it")
			}
		}
		r := e.as(t).call(rt.method, path, owner.token, body)
		if r.Status >= 500 {
			t.Fatalf("%s %s with %q: %d %s", rt.method, path, body, r.Status, r.Raw)
		}
		if r.Status >= 400 && r.Status != http.StatusMethodNotAllowed && r.errorCode() == "" {
			t.Fatalf("%s %s with %q: %d without the error envelope: %s", rt.method, path, body, r.Status, r.Raw)
		}
	})
}
