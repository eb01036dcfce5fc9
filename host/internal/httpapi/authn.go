package httpapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/httprate"

	"github.com/stc-trading/stc/host/internal/auth"
	"github.com/stc-trading/stc/host/internal/users"
)

// access is who may call a route.
type access int

const (
	// accessPublic needs no token.
	accessPublic access = iota
	// accessUser needs a session, or an API key with the route's scope.
	accessUser
	// accessSession needs a login session: API keys never manage keys or
	// broker credentials (docs/SECURITY.md "Users, tokens and keys").
	accessSession
	// accessAdmin needs the admin role (and, for a key, the admin scope).
	accessAdmin
)

type principalKey struct{}

// principalFrom returns the caller the auth middleware resolved.
func principalFrom(ctx context.Context) (users.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(users.Principal)
	return p, ok
}

// mustPrincipal is principalFrom for handlers behind authenticate.
func mustPrincipal(r *http.Request) users.Principal {
	p, _ := principalFrom(r.Context())
	return p
}

var errUnauthenticated = &apiError{Status: http.StatusUnauthorized, Code: "unauthenticated",
	Message: "send a valid token: Authorization: Bearer <token>"}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// authenticate guards a route: it resolves the bearer token, checks the
// access level and scope, and puts the principal in the context.
func (s *Server) authenticate(a access, scope auth.Scope, next http.Handler) http.Handler {
	if a == accessPublic {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, fromCookie, ok := s.credential(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="stc"`)
			writeError(w, errUnauthenticated)
			return
		}
		p, err := s.users.Authenticate(r.Context(), token)
		if errors.Is(err, users.ErrUnauthenticated) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="stc", error="invalid_token"`)
			writeError(w, errUnauthenticated)
			return
		}
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		if fromCookie {
			if e := s.checkCSRF(r); e != nil {
				writeError(w, e)
				return
			}
		}
		switch {
		case a == accessAdmin && !p.Can(auth.ScopeAdmin):
			writeError(w, &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "this route needs the admin role"})
			return
		case a == accessSession && p.Kind != users.KindSession:
			writeError(w, &apiError{Status: http.StatusForbidden, Code: "session_required",
				Message: "API keys cannot do this; use a login session"})
			return
		case scope != "" && !p.Can(scope):
			writeError(w, &apiError{Status: http.StatusForbidden, Code: "insufficient_scope",
				Message: "this API key lacks the " + string(scope) + " scope", Details: map[string]any{"scope": string(scope)}})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// RateLimits are the request budgets per client address and per user.
// Zero fields take the defaults; a negative value turns that limit off.
type RateLimits struct {
	// PerIP is requests per minute from one address (IPv6 by /64),
	// whatever the route (default 600).
	PerIP int
	// PerUser is requests per minute by one authenticated user, across
	// their sessions and keys (default 600).
	PerUser int
	// Auth is register and login attempts per minute from one address
	// (default 20), on top of the per-account failure throttle.
	Auth int
}

func (l RateLimits) withDefaults() RateLimits {
	if l.PerIP == 0 {
		l.PerIP = 600
	}
	if l.PerUser == 0 {
		l.PerUser = 600
	}
	if l.Auth == 0 {
		l.Auth = 20
	}
	return l
}

// clientAddr resolves the client address of a request: the TCP peer, or,
// when the peer is a trusted proxy, the nearest X-Forwarded-For entry that
// is not one. Each proxy appends the address it received the request
// from, so entries to the left of the last untrusted one were written by
// the client and cannot be believed; without trusted proxies the header
// is ignored altogether.
type clientAddr struct{ trusted []netip.Prefix }

func (c clientAddr) isTrusted(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) || p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// of returns r's client address (without port).
func (c clientAddr) of(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !c.isTrusted(peer) {
		return host
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for _, h := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := parseHop(hops[i])
		if err != nil {
			break // garbage from here on: the last good address stands
		}
		client = a
		if !c.isTrusted(a) {
			break
		}
	}
	return client.Unmap().String()
}

// parseHop parses one X-Forwarded-For entry: an address, optionally with
// a port (and IPv6 then in brackets).
func parseHop(h string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(h); err == nil {
		return a, nil
	}
	ap, err := netip.ParseAddrPort(h)
	if err != nil {
		return netip.Addr{}, err
	}
	return ap.Addr(), nil
}

func (s *Server) keyByIP(r *http.Request) (string, error) {
	return "ip:" + httprate.CanonicalizeIP(s.addr.of(r)), nil
}

func keyByUser(r *http.Request) (string, error) {
	if p, ok := principalFrom(r.Context()); ok {
		return "user:" + strconv.FormatInt(p.UserID, 10), nil
	}
	return "", nil
}

// limiter returns middleware allowing n requests per minute per key, or a
// pass-through when n < 0. Over budget the answer is 429 with the error
// envelope and Retry-After.
func limiter(n int, key httprate.KeyFunc) func(http.Handler) http.Handler {
	if n < 0 {
		return func(h http.Handler) http.Handler { return h }
	}
	return httprate.LimitBy(n, time.Minute, key,
		httprate.WithLimitHandler(func(w http.ResponseWriter, _ *http.Request) {
			if w.Header().Get("Retry-After") == "" {
				w.Header().Set("Retry-After", "60")
			}
			writeError(w, &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited",
				Message: "too many requests; retry after the number of seconds in Retry-After"})
		}))
}

// setRetryAfter sets Retry-After to d rounded up to whole seconds (at
// least 1).
func setRetryAfter(h http.Header, d time.Duration) {
	secs := int((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	h.Set("Retry-After", strconv.Itoa(secs))
}
