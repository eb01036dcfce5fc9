package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/host/internal/cockpit"
	"github.com/stc-trading/stc/host/internal/config"
	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/logsafe"
	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/host/internal/metrics"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/pluginsettings"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/symbols"
	"github.com/stc-trading/stc/host/internal/trading"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
)

// newLogger is the host's logger. Every value logged through it is
// escaped (logsafe): request paths, symbols, e-mail addresses and broker
// messages come from clients, and none may start a log line of its own.
func newLogger(level string) hclog.Logger {
	return logsafe.Wrap(hclog.New(&hclog.LoggerOptions{Name: "stc", Level: hclog.LevelFromString(level), Output: os.Stderr}))
}

// startPlugins discovers the trusted plugins, resolves the settings each
// declares (a bad or missing one stops the host here) and builds their
// supervisor. onEvent, when set, also receives its lifecycle events (it
// must not block).
func startPlugins(ctx context.Context, cfg config.Config, log hclog.Logger, met *metrics.Metrics, onEvent func(pluginmgr.Event)) (*pluginmgr.Manager, []catalog.Entry, error) {
	found, err := catalog.Discover(cfg.PluginDir)
	if err != nil {
		return nil, nil, fmt.Errorf("plugin directory: %w", err)
	}
	for _, p := range found.Problems {
		log.Warn("plugin not trusted", "problem", p.Error())
	}
	socketDir := filepath.Join(cfg.DataDir, "run")
	if err := os.MkdirAll(socketDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("socket directory: %w", err)
	}
	// Plugins inherit nothing: each gets its log level, its data
	// directory and the settings it declares (docs/CONFIG.md).
	settings, err := pluginsettings.Load(ctx, found.Entries, pluginsettings.Options{
		DataDir: cfg.DataDir, LogLevel: cfg.LogLevel, SocketDir: socketDir, Log: log.Named("plugins"),
		Sources: pluginsettings.Sources{Environ: os.Environ(), File: cfg.PluginSettings},
	})
	if err != nil {
		return nil, nil, err
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
		return nil, nil, err
	}
	return m, found.Entries, nil
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

func (p pluginBackend) hasBroker(name string) bool {
	for _, e := range p.entries {
		if e.Kind == plugin.KindBroker && e.Name == name {
			return true
		}
	}
	return false
}

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

// Brokers asks every installed broker plugin for its description.
func (p pluginBackend) Brokers(ctx context.Context) ([]plugin.Info, error) {
	var out []plugin.Info
	for _, e := range p.entries {
		if e.Kind != plugin.KindBroker {
			continue
		}
		h, err := p.m.Broker(ctx, e.Name)
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

// Status is the supervisor's view of every plugin process.
func (p pluginBackend) Status() []pluginmgr.PluginStatus { return p.m.Status() }

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

type marketsAPI struct {
	plugins pluginBackend
	data    *marketdata.Service
	syms    *symbols.Service
	metrics *metrics.Metrics
}

func (a marketsAPI) Symbols(ctx context.Context, name string) (httpapi.SymbolList, error) {
	// The built-in list stands in for an installed broker that is down,
	// never for one this host does not have.
	if !a.plugins.hasBroker(name) {
		return httpapi.SymbolList{}, fmt.Errorf("%w %q", httpapi.ErrUnknownBroker, name)
	}
	items, src, err := a.syms.List(ctx, name)
	result := "miss"
	if src == symbols.SourceCache {
		result = "hit"
	}
	a.metrics.CacheRequests.WithLabelValues("symbols", result).Inc()
	return httpapi.SymbolList{Items: items, Source: src}, err
}

func (a marketsAPI) Candles(ctx context.Context, c marketdata.Client, b, s string, tf market.Timeframe, from, to int64, limit int) (market.Series, error) {
	return a.data.CandlesFor(ctx, c, b, s, tf, from, to, limit)
}

func (a marketsAPI) CandleVersion(b, s string, tf market.Timeframe) (uint64, bool) {
	return a.data.Version(marketdata.Key{Broker: b, Symbol: s, Timeframe: tf})
}

func serve(ctx context.Context, args []string) error {
	cfg, err := config.Load(args, os.Getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir, log.Named("store"))
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()

	met := metrics.New()
	// Sessions a restarted broker plugin could not re-open go to the
	// account manager (below), which records the ones that need the user.
	reopenFailed := make(chan pluginmgr.Event, 256)
	m, entries, err := startPlugins(ctx, cfg, log, met, func(ev pluginmgr.Event) {
		if ev.Type != pluginmgr.EventInstanceRecreateFailed || ev.Kind != plugin.KindBroker {
			return
		}
		select {
		case reopenFailed <- ev:
		default:
			log.Warn("too many failed session re-opens to record; the account shows the live error", "session", ev.Instance)
		}
	})
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := m.Close(closeCtx); err != nil {
			log.Warn("plugin shutdown", "error", err)
		}
	}()
	backend := pluginBackend{m: m, entries: entries, db: db}
	data := marketdata.New(backend, marketdata.FromStore(db), met, log.Named("marketdata"),
		marketdata.Options{PollInterval: cfg.PollInterval, Budget: candleBudget(cfg.Candles)})
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = data.Close(closeCtx)
	}()
	if err := trackKeys(ctx, db, data, cfg.Track, log); err != nil {
		return err
	}
	syms := symbols.New(data, 5*time.Minute, symbols.Builtin, nil)
	symCtx, stopSyms := context.WithCancel(ctx)
	symDone := make(chan struct{})
	go func() { syms.Run(symCtx); close(symDone) }()
	defer func() { stopSyms(); <-symDone }()
	ten, err := newTenancy(cfg, db, m, log)
	if err != nil {
		return err
	}
	// workCtx ends the background work on any return, not only on a
	// signal, so the waits below can never hang an early error return.
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	trader := trading.NewService(db, ten.accounts, entitlementPolicy{ten.billing}, trading.Options{IdempotencyTTL: cfg.IdempotencyTTL}, log.Named("trading"))
	botSvc := bots.NewService(db, bots.Deps{
		Strategies: m, Market: data, Accounts: ten.accounts, Entitlements: ten.billing, Trader: bots.FromTrading(trader),
	}, bots.Options{}, log.Named("bots"))
	// A change of plan (a webhook event, an admin grant) applies at once:
	// the cached entitlements are dropped and the bots the new plan does
	// not allow are paused, instead of trading on until the caches expire.
	ten.billing.OnChange(func(ctx context.Context, userID int64) {
		trader.ForgetUser(userID)
		if n, err := botSvc.EntitlementsChanged(ctx, userID); err != nil {
			log.Error("applying a plan change to the user's bots", "user_id", userID, "error", err)
		} else if n > 0 {
			log.Info("paused bots the new plan does not allow", "user_id", userID, "bots", n)
		}
	})

	// Re-open every connected account's broker session (the host
	// restarted); plugin restarts are covered by the supervisor itself.
	// The accounts of running bots go first, and the bots start as soon as
	// those are back, so however many accounts other users have, the bots
	// wait only for their own.
	botAccounts, err := botSvc.RunningAccounts(workCtx)
	if err != nil {
		return err
	}
	botAccountsReady := make(chan struct{})
	resumeDone := make(chan struct{})
	go func() {
		defer close(resumeDone)
		resumed, failed, err := ten.accounts.ResumeAll(workCtx, accounts.ResumeOptions{
			First: botAccounts, FirstDone: func() { close(botAccountsReady) },
		})
		if err != nil {
			log.Error("resuming broker sessions", "error", err)
		}
		if resumed+failed > 0 {
			log.Info("resumed broker sessions", "resumed", resumed, "failed", failed)
		}
	}()
	defer func() { stopWork(); <-resumeDone }()

	// Trading settles and reconciles in the background; bots resume and
	// run. Both stop when ctx ends (SIGTERM), before the market data and
	// the plugins they use are closed (defers run in reverse).
	tradingDone := make(chan struct{})
	go func() { defer close(tradingDone); trader.Run(workCtx) }()
	defer func() { stopWork(); <-tradingDone }()
	reopenDone := make(chan struct{})
	go func() {
		defer close(reopenDone)
		for {
			select {
			case <-workCtx.Done():
				return
			case ev := <-reopenFailed:
				if _, err := ten.accounts.ReopenFailed(workCtx, ev.Instance, ev.Err); err != nil && workCtx.Err() == nil {
					log.Error("could not record a failed session re-open", "session", ev.Instance, "error", err)
				}
			}
		}
	}()
	defer func() { stopWork(); <-reopenDone }()
	housekeeping := make(chan struct{})
	go func() {
		defer close(housekeeping)
		housekeep(workCtx, housekeepingInterval, log.Named("housekeeping"),
			pruneJob{"idempotency keys", trader.PruneIdempotencyKeys},
			pruneJob{"billing events", func(ctx context.Context) (int64, error) {
				return ten.billing.PruneEvents(ctx, time.Now().Add(-cfg.RetainBillingEvents))
			}},
			pruneJob{"ended sessions and API keys", func(ctx context.Context) (int64, error) {
				return ten.users.PruneTokens(ctx, time.Now().Add(-cfg.RetainEndedTokens))
			}})
	}()
	defer func() { stopWork(); <-housekeeping }()
	botsDone := make(chan struct{})
	go func() {
		defer close(botsDone)
		// Bots resume once their accounts have: a bot whose account is
		// still reconnecting would otherwise pause itself for nothing.
		select {
		case <-botAccountsReady:
		case <-workCtx.Done():
			return
		}
		if err := botSvc.Run(workCtx); err != nil && workCtx.Err() == nil {
			log.Error("bot runner stopped", "error", err)
		}
	}()
	defer func() { stopWork(); <-botsDone }()

	web, err := cockpit.New()
	if err != nil {
		return err
	}
	api := httpapi.New(httpapi.Deps{
		Markets: marketsAPI{plugins: backend, data: data, syms: syms, metrics: met}, Plugins: backend,
		Users: ten.users, Billing: ten.billing, Accounts: accountsAPI{ten.accounts, botSvc, trader}, Trading: trader, Bots: botSvc,
		Limits:         httpapi.RateLimits{PerIP: cfg.RateLimitIP, PerUser: cfg.RateLimitUser, Auth: cfg.RateLimitAuth},
		TrustedProxies: cfg.TrustedProxies,
		Metrics:        met, MetricsAccess: metricsAccess(cfg, log), Log: log.Named("http"),
		Web: web,
	})
	metricsLn, err := listenMetrics(cfg, met)
	if err != nil {
		return err
	}
	if metricsLn != nil {
		metricsDone := make(chan struct{})
		go func() {
			defer close(metricsDone)
			if err := metricsLn.run(workCtx); err != nil {
				log.Error("metrics listener stopped", "error", err)
			}
		}()
		defer func() { stopWork(); <-metricsDone }()
		log.Info("metrics are served on a listener of their own", "url", "http://"+cfg.MetricsAddr+"/metrics", "token", cfg.MetricsToken != "")
	}

	srv := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           api,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("STC is up", "url", "http://"+cfg.HTTPAddr, "store", db.Dialect(), "plugins", len(entries), "data_dir", cfg.DataDir)
	try := "/api/openapi.json"
	if len(cfg.Track) > 0 {
		if k, err := marketdata.ParseKey(cfg.Track[0]); err == nil {
			try = fmt.Sprintf("/api/v2/candles?broker=%s&symbol=%s&timeframe=%s&limit=100", k.Broker, k.Symbol, k.Timeframe)
		}
	}
	fmt.Fprintf(os.Stderr, "\n  STC is listening on http://%s  (open it in a browser; API: %s)\n\n", cfg.HTTPAddr, try)

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
	case <-ctx.Done():
		log.Info("shutting down")
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutCtx)
}

// candleBudget turns the configured budget (days; negative: off) into
// the candle service's.
func candleBudget(c config.CandleBudget) marketdata.Budget {
	days := func(n int) time.Duration {
		if n < 0 {
			return -1
		}
		return time.Duration(n) * 24 * time.Hour
	}
	return marketdata.Budget{
		MaxSpanAnonymous: days(c.MaxDaysAnon), MaxSpanUser: days(c.MaxDaysUser),
		DaysPerMinuteAnonymous: c.FetchDaysAnon, DaysPerMinuteUser: c.FetchDaysUser, DaysPerMinuteAnonymousTotal: c.FetchDaysAnonTotal,
		Concurrency: c.Concurrency, ConcurrencyAnonymous: c.ConcurrencyAnon,
	}
}

// trackKeys starts the feeds of the operator's keys and of every key
// stored as tracked (keys bots needed in earlier runs).
func trackKeys(ctx context.Context, db *store.Store, data *marketdata.Service, keys []string, log hclog.Logger) error {
	for _, text := range keys {
		k, err := marketdata.ParseKey(text)
		if err != nil {
			return err
		}
		if _, err := db.TrackSymbol(ctx, k.Broker, k.Symbol, k.Timeframe, "config"); err != nil {
			return err
		}
	}
	tracked, err := db.TrackedSymbols(ctx, "")
	if err != nil {
		return err
	}
	for _, t := range tracked {
		k := marketdata.Key{Broker: t.Broker, Symbol: t.Symbol, Timeframe: t.Timeframe}
		if err := data.Track(k); err != nil {
			log.Warn("cannot track candles", "feed", k.String(), "error", err)
		}
	}
	return nil
}
