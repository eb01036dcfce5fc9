package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/stc-trading/stc/host/internal/users"
)

// Browser sessions (docs/SECURITY.md "Browser sessions"). The cockpit
// never sees its session token: a register or login request that carries
// SessionModeHeader gets the token in an HttpOnly, SameSite=Strict cookie
// instead of the answer body, and every later request of the page sends
// it back. Bearer tokens are untouched: a request with an Authorization
// header is authenticated by it alone, whatever cookies it carries.
//
// A cookie is sent by the browser whoever made the page that asks, so
// cookie-authenticated requests that change something pass three checks,
// each enough on its own in the browsers that implement it:
//   - SameSite=Strict: no other site's page gets the cookie sent at all;
//   - Fetch Metadata and Origin (net/http's CrossOriginProtection): a
//     request another origin's page made is refused, also from a sibling
//     subdomain, which SameSite counts as the same site;
//   - SessionModeHeader on the request: a cross-origin page can set a
//     custom header only after a CORS preflight, which this host never
//     grants, so a form or a simple fetch cannot forge one.
const (
	// SessionModeHeader is "STC-Session: cookie": on register and login it
	// asks for the session in a cookie; on any other request it declares
	// a browser request, and unsafe methods authenticated by the cookie
	// need it.
	SessionModeHeader = "STC-Session"
	// sessionModeCookie is SessionModeHeader's only value.
	sessionModeCookie = "cookie"
	// SessionCookie holds the session token over plain HTTP (development,
	// a loopback address).
	SessionCookie = "stc_session"
	// SecureSessionCookie holds it over HTTPS: the __Host- prefix makes
	// the browser refuse it unless it is Secure, for Path=/ and without a
	// Domain, so no other host of the domain can plant or read one.
	SecureSessionCookie = "__Host-stc_session"
)

// errCSRF refuses a cookie-authenticated change that another origin's
// page could have made.
var errCSRF = &apiError{Status: http.StatusForbidden, Code: "csrf_failed",
	Message: "a browser session request that changes something must come from this host's own pages with the header " + SessionModeHeader + ": cookie"}

// overTLS reports whether the client reached the host over HTTPS: the
// connection itself, or a trusted reverse proxy's X-Forwarded-Proto.
func (s *Server) overTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.addr.isTrusted(peer) {
		return false
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}

// sessionCookieName is the cookie a request over this scheme uses. Over
// HTTPS only the __Host- cookie counts, so a cookie planted over plain
// HTTP on the same host cannot stand in for it.
func (s *Server) sessionCookieName(r *http.Request) string {
	if s.overTLS(r) {
		return SecureSessionCookie
	}
	return SessionCookie
}

// credential returns the token that authenticates r: the bearer token if
// there is an Authorization header, else the session cookie. fromCookie
// says which.
func (s *Server) credential(r *http.Request) (token string, fromCookie, ok bool) {
	if r.Header.Get("Authorization") != "" {
		token, ok = bearer(r)
		return token, false, ok
	}
	c, err := r.Cookie(s.sessionCookieName(r))
	if err != nil || c.Value == "" {
		return "", false, false
	}
	return c.Value, true, true
}

// checkCSRF refuses an unsafe cookie-authenticated request that is not
// provably the cockpit's own.
func (s *Server) checkCSRF(r *http.Request) *apiError {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if r.Header.Get(SessionModeHeader) != sessionModeCookie || s.csrf.Check(r) != nil {
		return errCSRF
	}
	return nil
}

// wantsCookie reports whether a register or login request asked for a
// browser session.
func wantsCookie(r *http.Request) bool {
	return r.Header.Get(SessionModeHeader) == sessionModeCookie
}

// sessionAnswer is the answer of register and login. A browser session
// (SessionModeHeader) gets its token in the cookie only, never in the
// body, where a script could read it; the answer says when it expires.
func (s *Server) sessionAnswer(w http.ResponseWriter, r *http.Request, sess users.Session) map[string]any {
	if !wantsCookie(r) {
		return sessionJSON(w, sess)
	}
	out := sessionJSON(w, sess)
	delete(out, "token")
	delete(out, "device_token")
	delete(out, "device_expires_at")
	http.SetCookie(w, &http.Cookie{
		Name: s.sessionCookieName(r), Value: sess.Token, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: s.overTLS(r), SameSite: http.SameSiteStrictMode,
	})
	return out
}

// loginCSRF refuses a register or login that asks for a browser session
// from another origin's page (login CSRF: signing the browser in to an
// account of the attacker's choosing). It runs before any work is done.
func (s *Server) loginCSRF(r *http.Request) *apiError {
	if wantsCookie(r) && s.csrf.Check(r) != nil {
		return errCSRF
	}
	return nil
}

// clearSessionCookie tells the browser to drop its session cookie (the
// session itself is revoked by the caller).
func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(s.sessionCookieName(r)); err != nil {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: s.sessionCookieName(r), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.overTLS(r), SameSite: http.SameSiteStrictMode,
	})
}
