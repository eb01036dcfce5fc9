package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/host/internal/config"
	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/metrics"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/pluginsettings"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
)

// StartPlugins discovers the trusted plugins of cfg.PluginDir, resolves
// the settings each declares from environ (the host's environment,
// "KEY=value") and the configuration file (a bad or missing one stops the
// host here) and builds their supervisor; no plugin process runs until a
// handle is asked for. onEvent, when set, also receives its lifecycle
// events (it must not block). The caller closes the manager; the
// settings resolution comes back with it (what each plugin declared).
func StartPlugins(ctx context.Context, cfg config.Config, environ []string, log hclog.Logger, met *metrics.Metrics, onEvent func(pluginmgr.Event)) (*pluginmgr.Manager, []catalog.Entry, *pluginsettings.Resolution, error) {
	found, err := catalog.Discover(cfg.PluginDir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("plugin directory: %w", err)
	}
	for _, p := range found.Problems {
		log.Warn("plugin not trusted", "problem", p.Error())
	}
	socketDir := filepath.Join(cfg.DataDir, "run")
	if err := os.MkdirAll(socketDir, 0o700); err != nil {
		return nil, nil, nil, fmt.Errorf("socket directory: %w", err)
	}
	// Plugins inherit nothing: each gets its log level, its data
	// directory and the settings it declares (docs/CONFIG.md).
	settings, err := pluginsettings.Load(ctx, found.Entries, pluginsettings.Options{
		DataDir: cfg.DataDir, LogLevel: cfg.LogLevel, SocketDir: socketDir, Log: log.Named("plugins"),
		Sources: pluginsettings.Sources{Environ: environ, File: cfg.PluginSettings},
	})
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := pluginmgr.New(found.Entries, log.Named("plugins"), pluginmgr.Options{
		Env:                   settings.Env,
		CallTimeout:           cfg.CallTimeout,
		MarketDataTimeout:     cfg.MarketDataTimeout,
		MarketDataConcurrency: cfg.MarketDataConcurrency,
		SocketDir:             socketDir,
		OnEvent: func(ev pluginmgr.Event) {
			met.PluginEvents.WithLabelValues(ev.Type.String()).Inc()
			if ev.Type == pluginmgr.EventRestarted {
				met.PluginRestarts.WithLabelValues(ev.Kind.String(), ev.Name).Inc()
			}
			if onEvent != nil {
				onEvent(ev)
			}
		},
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return m, found.Entries, settings, nil
}

// pluginBackend adapts the supervisor to what the services and the API
// need.
type pluginBackend struct {
	m       *pluginmgr.Manager
	entries []catalog.Entry
	db      *store.Store // for readiness
}

// MarketData is the plugin manager's, with an unknown broker mapped to the
// API's error.
func (p pluginBackend) MarketData(ctx context.Context, name string) (broker.Broker, error) {
	b, err := p.m.MarketData(ctx, name)
	if errors.Is(err, pluginmgr.ErrUnknownPlugin) {
		return nil, fmt.Errorf("%w %q", httpapi.ErrUnknownBroker, name)
	}
	return b, err
}

// hasBroker reports whether a broker plugin of that name is installed.
func (p pluginBackend) hasBroker(name string) bool {
	for _, e := range p.entries {
		if e.Kind == plugin.KindBroker && e.Name == name {
			return true
		}
	}
	return false
}

// Strategies describes every installed strategy plugin, starting it if
// needed.
func (p pluginBackend) Strategies(ctx context.Context) ([]plugin.Info, error) {
	var out []plugin.Info
	for _, e := range p.entries {
		if e.Kind != plugin.KindStrategy {
			continue
		}
		h, err := p.m.Strategy(ctx, e.Name)
		if err != nil {
			return nil, err
		}
		info, err := h.Info(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// Ready reports whether the store answers and no plugin is stuck in the
// crash-loop breaker.
func (p pluginBackend) Ready(ctx context.Context) error {
	if p.db != nil {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := p.db.Ping(pctx); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	for _, s := range p.m.Status() {
		if s.State == pluginmgr.StateFailed {
			return fmt.Errorf("plugin %s/%s failed: %s", s.Kind, s.Name, s.LastError)
		}
	}
	return nil
}
