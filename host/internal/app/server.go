package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/errgroup"

	"github.com/stc-trading/stc/host/internal/config"
	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/metrics"
)

// Grace periods of the listeners at shutdown: requests in flight get this
// long to finish.
const (
	apiGrace     = 10 * time.Second
	metricsGrace = 5 * time.Second
)

// server is an HTTP server on a listener bound when the App is built, so
// that a taken address stops the start with an error instead of failing
// once everything else runs.
type server struct {
	name  string // for errors and logs
	srv   *http.Server
	ln    net.Listener
	grace time.Duration
	// fatal: a failure of the server stops the host; otherwise it is
	// logged and the host runs on without it.
	fatal bool
	log   hclog.Logger
}

// listen binds addr for srv.
func listen(name, addr string, srv *http.Server, grace time.Duration, fatal bool, log hclog.Logger) (*server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &server{name: name, srv: srv, ln: ln, grace: grace, fatal: fatal, log: log}, nil
}

// serve runs the server in g until ctx ends, then shuts it down within
// its grace period: it stops accepting at once and lets the requests in
// flight finish. Both goroutines belong to g.
func (s *server) serve(ctx context.Context, g *errgroup.Group) {
	g.Go(func() error {
		err := s.srv.Serve(s.ln)
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		err = fmt.Errorf("%s: %w", s.name, err)
		if !s.fatal {
			s.log.Error("listener stopped", "listener", s.name, "error", err)
			return nil
		}
		return err
	})
	g.Go(func() error {
		<-ctx.Done()
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.grace)
		defer cancel()
		if err := s.srv.Shutdown(shutCtx); err != nil {
			return fmt.Errorf("%s: shutdown: %w", s.name, err)
		}
		return nil
	})
}

// close releases the listener of a server that never served.
func (s *server) close() { _ = s.ln.Close() }

// addr is the bound address.
func (s *server) addr() string { return s.ln.Addr().String() }

// apiServer is the HTTP server of the API on cfg.HTTPAddr.
// Event streams end when the server shuts down (they would otherwise hold
// Shutdown for its whole grace period).
func apiServer(cfg config.Config, h *httpapi.API, log hclog.Logger) (*server, error) {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	srv.RegisterOnShutdown(h.CloseStreams)
	return listen("http server", cfg.HTTPAddr, srv, apiGrace, true, log)
}

// metricsAccess is who may read /metrics on the API listener
// (docs/CONFIG.md "Metrics").
func metricsAccess(cfg config.Config, log hclog.Logger) httpapi.MetricsAccess {
	access := httpapi.MetricsAccess{Off: !cfg.MetricsOnAPI(), Token: cfg.MetricsToken}
	if access.Off && cfg.MetricsAddr == "" {
		log.Warn("/metrics is not served: outside development mode set STC_METRICS_ADDR (a listener of its own, e.g. 127.0.0.1:9100) or STC_METRICS_TOKEN (a bearer token)")
	}
	return access
}

// metricsServer is the listener of its own STC_METRICS_ADDR asks for; it
// serves GET /metrics only (behind STC_METRICS_TOKEN when set). It is nil
// without STC_METRICS_ADDR. Its failure is logged, not fatal: the API
// goes on without its metrics.
func metricsServer(cfg config.Config, met *metrics.Metrics, log hclog.Logger) (*server, error) {
	if cfg.MetricsAddr == "" {
		return nil, nil
	}
	return listen("metrics listener (STC_METRICS_ADDR)", cfg.MetricsAddr, &http.Server{
		Handler:           httpapi.MetricsServer(met, cfg.MetricsToken),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}, metricsGrace, false, log)
}

// shownAddr is the address the start banner and log show: the configured
// one, or the bound one when the port was left to the system (":0").
func shownAddr(configured string, s *server) string {
	if strings.HasSuffix(configured, ":0") {
		return s.addr()
	}
	return configured
}
