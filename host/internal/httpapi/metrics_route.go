package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"

	"github.com/stc-trading/stc/host/internal/metrics"
)

// MetricsAccess is who may read /metrics on the API handler. The zero
// value serves it to anyone, as development mode does; production binds
// it to a listener of its own (Off here) or puts it behind a token
// (docs/CONFIG.md).
type MetricsAccess struct {
	// Off answers /metrics with 404 on the API handler: metrics are
	// served on their own listener (MetricsHandler), or not at all.
	Off bool
	// Token, when set, must be sent as "Authorization: Bearer <token>".
	Token string
}

// metricsRoute is the API's /metrics route under s.access.
func (s *Server) metricsRoute() http.HandlerFunc {
	if s.access.Off {
		return func(w http.ResponseWriter, _ *http.Request) { writeError(w, errNoRoute) }
	}
	return MetricsHandler(s.metrics, s.access.Token).ServeHTTP
}

// MetricsHandler serves the Prometheus metrics, behind a bearer token
// when token is set. The host's own metrics listener (STC_METRICS_ADDR)
// serves it at /metrics.
func MetricsHandler(m *metrics.Metrics, token string) http.Handler {
	h := m.Handler()
	if token == "" {
		return h
	}
	// Compare digests so the comparison takes the same time whatever the
	// length of the guess.
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := bearer(r)
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="stc-metrics"`)
			writeError(w, &apiError{Status: http.StatusUnauthorized, Code: "unauthenticated",
				Message: "send the metrics token: Authorization: Bearer <STC_METRICS_TOKEN>"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// MetricsServer is the handler of the metrics listener: GET /metrics
// (MetricsHandler) and 404 for everything else.
func MetricsServer(m *metrics.Metrics, token string) http.Handler {
	h := MetricsHandler(m, token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path != "/metrics":
			writeError(w, errNoRoute)
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			writeError(w, errMethodNotAllowed)
		default:
			h.ServeHTTP(w, r)
		}
	})
}
