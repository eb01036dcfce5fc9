package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/stc-trading/stc/host/internal/config"
	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/metrics"
)

// metricsAccess is who may read /metrics on the API listener
// (docs/CONFIG.md "Metrics").
func metricsAccess(cfg config.Config, log hclog.Logger) httpapi.MetricsAccess {
	access := httpapi.MetricsAccess{Off: !cfg.MetricsOnAPI(), Token: cfg.MetricsToken}
	if access.Off && cfg.MetricsAddr == "" {
		log.Warn("/metrics is not served: outside development mode set STC_METRICS_ADDR (a listener of its own, e.g. 127.0.0.1:9100) or STC_METRICS_TOKEN (a bearer token)")
	}
	return access
}

// metricsListener is the listener of its own STC_METRICS_ADDR asks for;
// it serves GET /metrics only (behind STC_METRICS_TOKEN when set). The
// caller runs it until ctx ends; the address is bound before this
// returns, so a taken port stops the start with an error.
type metricsListener struct {
	srv *http.Server
	ln  net.Listener
}

func listenMetrics(cfg config.Config, met *metrics.Metrics) (*metricsListener, error) {
	if cfg.MetricsAddr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener (STC_METRICS_ADDR): %w", err)
	}
	return &metricsListener{ln: ln, srv: &http.Server{
		Handler:           httpapi.MetricsServer(met, cfg.MetricsToken),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}}, nil
}

// run serves until ctx ends, then shuts the listener down.
func (m *metricsListener) run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- m.srv.Serve(m.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics listener: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics listener: %w", err)
	}
	return nil
}
