package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
)

// API is the handler New returns: the router behind the middleware that
// every request passes, whether or not a route matches it.
type API struct {
	router *mux.Router
	chain  http.Handler
	server *Server
}

// ServeHTTP serves one request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.chain.ServeHTTP(w, r) }

// CloseStreams ends every open event stream; the host calls it when it
// shuts down (http.Server.RegisterOnShutdown), since a stream never ends
// by itself and Shutdown waits for requests in flight. Clients reconnect
// to another host, or to this one when it is back, with Last-Event-ID.
func (a *API) CloseStreams() { a.server.closeStreams() }

// Walk visits every route; the authorization-matrix and OpenAPI tests use
// it to check that no route escapes them.
func (a *API) Walk(fn mux.WalkFunc) error { return a.router.Walk(fn) }

// routes builds the router. Every route must also be described in
// openapi.json; TestOpenAPIMatchesRouter keeps the two equal.
func (s *Server) routes() *API {
	r := mux.NewRouter()
	lim := s.limits.withDefaults()
	r.Use(recordRoute)
	authLimit := limiter(lim.Auth, s.keyByIP)
	perUser := limiter(lim.PerUser, keyByUser)
	for _, rt := range s.table() {
		var h http.Handler = rt.handler
		if rt.access != accessPublic {
			h = s.authenticate(rt.access, rt.scope, perUser(h))
		}
		if rt.authLimit {
			h = authLimit(h)
		}
		r.Handle(rt.path, h).Methods(rt.method)
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if s.web != nil && !strings.HasPrefix(req.URL.Path, "/api/") {
			s.web.ServeHTTP(w, req)
			return
		}
		writeError(w, errNoRoute)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, errMethodNotAllowed)
	})
	// The middleware wraps the whole router, not each route (mux's Use
	// runs only on a match): a request for a route that does not exist is
	// logged and counted against its address like any other.
	var h http.Handler = r
	h = refuseEncodedSlash(h)
	h = limiter(lim.PerIP, s.keyByIP)(h)
	h = s.observe(h)
	return &API{router: r, chain: h, server: s}
}

var errNoRoute = &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no such route"}

// errMethodNotAllowed answers a known path with a method it does not take.
var errMethodNotAllowed = &apiError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: "method not allowed on this route"}

// refuseEncodedSlash answers 404 for a path with an encoded slash.
// net/http decodes %2F into URL.Path, where the router would take it for
// a separator: /api/v2/user%2ftrades would be /api/v2/user/trades, a path
// a proxy in front (which sees one segment) allows or logs differently.
func refuseEncodedSlash(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if raw := r.URL.RawPath; raw != "" && strings.Contains(strings.ToLower(raw), "%2f") {
			writeError(w, &apiError{Status: http.StatusNotFound, Code: "not_found",
				Message: "no such route; an encoded slash (%2F) is not a path separator"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// routeKey is the context key of the *string in which recordRoute leaves
// the matched route's template for observe, which runs outside the router.
type routeKey struct{}

// recordRoute runs on matched routes only and tells observe which one.
func recordRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if dst, ok := r.Context().Value(routeKey{}).(*string); ok {
			if cur := mux.CurrentRoute(r); cur != nil {
				if tpl, err := cur.GetPathTemplate(); err == nil {
					*dst = tpl
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// observe logs each request and records its latency under the route
// template, so /metrics has one series per route, not per URL; requests
// no route matched share the series "unmatched".
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		route := "unmatched"
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), routeKey{}, &route)))
		d := time.Since(start)
		s.metrics.HTTPDuration.WithLabelValues(route, metricMethod(r.Method), strconv.Itoa(rec.status)).Observe(d.Seconds())
		// One structured line per request at info level (STC_LOG_LEVEL=warn
		// turns access logs off); the check skips building the arguments.
		// The path and method are the client's: s.log escapes them.
		if s.log.IsInfo() {
			s.log.Info("request", "method", r.Method, "route", route, "path", r.URL.Path, "status", rec.status, "duration", d, "remote", r.RemoteAddr)
		}
	})
}

// metricMethod bounds the method label: net/http accepts any token as a
// method, and now that unmatched requests are measured too, a client
// could otherwise mint a series per request.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection's Flush and
// SetWriteDeadline through the recorder (the event stream needs both).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
