package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// cookieOf returns the Set-Cookie of name in r, or nil.
func cookieOf(r response, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestBrowserSession: a register or login with STC-Session: cookie puts
// the session in an HttpOnly, SameSite=Strict cookie and never in the
// body; the cookie authenticates; changes need the cockpit's header and a
// same-origin request; logout ends the session server-side.
func TestBrowserSession(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), httpapi.RateLimits{PerIP: -1, PerUser: -1, Auth: -1})
	email := "browser-" + randHex(t) + "@example.com"
	r := e.call("POST", "/api/v2/auth/register", "", `{"email":"`+email+`","password":"correct horse battery"}`,
		"STC-Session", "cookie", "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	assert.NotContains(t, r.JSON, "token", "a browser session's token is never in the body")
	assert.NotContains(t, r.Raw, "stc_s_")
	c := cookieOf(r, httpapi.SessionCookie)
	require.NotNil(t, c, "the session cookie is set: %v", r.Header)
	assert.True(t, c.HttpOnly, "scripts cannot read the session cookie")
	assert.Equal(t, http.SameSiteStrictMode, c.SameSite)
	assert.Equal(t, "/", c.Path)
	assert.False(t, c.Secure, "plain HTTP: a Secure cookie would never come back")
	assert.True(t, strings.HasPrefix(c.Value, "stc_s_"))
	cookie := httpapi.SessionCookie + "=" + c.Value

	r = e.call("GET", "/api/v2/user", "", "", "Cookie", cookie)
	require.Equal(t, http.StatusOK, r.Status, "the cookie authenticates: %s", r.Raw)
	assert.Equal(t, email, r.JSON["email"])

	limits := `{"max_open_trades":7}`
	r = e.call("PUT", "/api/v2/user/limits", "", limits, "Cookie", cookie)
	assert.Equal(t, http.StatusForbidden, r.Status, "a change without the cockpit's header: %s", r.Raw)
	assert.Equal(t, "csrf_failed", r.errorCode())
	r = e.call("PUT", "/api/v2/user/limits", "", limits, "Cookie", cookie, "STC-Session", "cookie", "Sec-Fetch-Site", "cross-site")
	assert.Equal(t, http.StatusForbidden, r.Status, "another site's page: %s", r.Raw)
	r = e.call("PUT", "/api/v2/user/limits", "", limits, "Cookie", cookie, "STC-Session", "cookie", "Origin", "https://evil.example")
	assert.Equal(t, http.StatusForbidden, r.Status, "another origin without fetch metadata: %s", r.Raw)
	r = e.call("GET", "/api/v2/user/limits", "", "", "Cookie", cookie)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.NotEqual(t, float64(7), r.JSON["max_open_trades"], "no refused request changed anything")
	r = e.call("PUT", "/api/v2/user/limits", "", limits, "Cookie", cookie, "STC-Session", "cookie", "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusOK, r.Status, "the cockpit's own request: %s", r.Raw)
	assert.Equal(t, float64(7), r.JSON["max_open_trades"])

	// An Authorization header decides alone: a bad bearer with a good
	// cookie is refused, and the cookie needs no header for bearer calls.
	r = e.call("GET", "/api/v2/user", "stc_s_forged", "", "Cookie", cookie)
	assert.Equal(t, http.StatusUnauthorized, r.Status, r.Raw)

	// Another origin cannot sign the browser in (login CSRF).
	r = e.call("POST", "/api/v2/auth/login", "", `{"email":"`+email+`","password":"correct horse battery"}`,
		"STC-Session", "cookie", "Sec-Fetch-Site", "cross-site")
	assert.Equal(t, http.StatusForbidden, r.Status, r.Raw)
	assert.Nil(t, cookieOf(r, httpapi.SessionCookie), "no session for a cross-site sign-in")

	r = e.call("POST", "/api/v2/auth/logout", "", "", "Cookie", cookie, "STC-Session", "cookie", "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusNoContent, r.Status, r.Raw)
	cleared := cookieOf(r, httpapi.SessionCookie)
	require.NotNil(t, cleared, "logout clears the cookie")
	assert.Less(t, cleared.MaxAge, 0)
	r = e.call("GET", "/api/v2/user", "", "", "Cookie", cookie)
	assert.Equal(t, http.StatusUnauthorized, r.Status, "the session ended server-side, not only in the browser: %s", r.Raw)

	// Bearer clients are unchanged: a login without the header answers
	// the token and sets no session cookie.
	r = e.call("POST", "/api/v2/auth/login", "", `{"email":"`+email+`","password":"correct horse battery"}`)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.NotEmpty(t, r.JSON["token"])
	assert.Nil(t, cookieOf(r, httpapi.SessionCookie))
}

// TestBrowserSessionOverTLS: behind a trusted TLS proxy the cookie is
// Secure and __Host- prefixed, and the plain-HTTP cookie name is not
// accepted there.
func TestBrowserSessionOverTLS(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), httpapi.RateLimits{PerIP: -1, PerUser: -1, Auth: -1}, func(d *httpapi.Deps) {
		d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	})
	email := "tls-" + randHex(t) + "@example.com"
	r := e.call("POST", "/api/v2/auth/register", "", `{"email":"`+email+`","password":"correct horse battery"}`,
		"STC-Session", "cookie", "X-Forwarded-Proto", "https")
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	c := cookieOf(r, httpapi.SecureSessionCookie)
	require.NotNil(t, c, "%v", r.Header)
	assert.True(t, c.Secure)
	assert.True(t, c.HttpOnly)
	assert.Nil(t, cookieOf(r, httpapi.SessionCookie))

	r = e.call("GET", "/api/v2/user", "", "", "Cookie", httpapi.SecureSessionCookie+"="+c.Value, "X-Forwarded-Proto", "https")
	assert.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = e.call("GET", "/api/v2/user", "", "", "Cookie", httpapi.SessionCookie+"="+c.Value, "X-Forwarded-Proto", "https")
	assert.Equal(t, http.StatusUnauthorized, r.Status, "over HTTPS only the __Host- cookie counts: %s", r.Raw)
}

// TestWebMount: paths outside /api/ that no route matches go to the web
// handler; unknown API paths keep their JSON 404.
func TestWebMount(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), httpapi.RateLimits{PerIP: -1, PerUser: -1, Auth: -1}, func(d *httpapi.Deps) {
		d.Web = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("web " + r.URL.Path))
		})
	})
	// Pages are not API operations, so they bypass e.call's OpenAPI check.
	for _, p := range []string{"/", "/trade", "/assets/x.js"} {
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "web "+p, rec.Body.String())
	}
	r := e.call("GET", "/api/v2/no-such-route", "", "")
	assert.Equal(t, http.StatusNotFound, r.Status)
	assert.Equal(t, "not_found", r.errorCode())
	r = e.call("GET", "/healthz", "", "")
	assert.Equal(t, http.StatusOK, r.Status, "routes still win")
}
