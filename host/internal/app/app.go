// Package app is the STC host as `stc serve` runs it: New builds every
// part from the configuration (store, plugin supervisor, services, HTTP
// API, metrics listener) and Run runs them until its context ends, owning
// every goroutine the host starts, and stops them in one order.
//
// # Start
//
// New, in order: the data directory and the store (migrations run,
// PostgreSQL switches to stc_app); the plugin catalog, the settings each
// plugin declares and the supervisor (no plugin process runs until a
// handle is asked for); the candle service and the feeds of every tracked
// key; the symbols cache; users, billing and the account manager; the
// trading and bot services, and the links between them (a disconnect
// consults trading and pauses bots, a plan change reaches both); the API
// and the listeners, bound so that a taken address fails New. New starts
// no goroutine of its own.
//
// Run then starts the background jobs: the symbols refresher, the resume
// of every connected account's broker session, the trading service's
// settle/reconcile loop, the recorder of sessions a restarted plugin could
// not re-open, the housekeeping, and the bot runner (which waits for the
// accounts of running bots to be back, so no bot pauses itself for an
// account that is still reconnecting). The HTTP listeners serve last.
//
// # Shutdown
//
// When Run's context ends (SIGTERM), or the API listener fails, the host
// stops in this order; each step waits for the one before, because each
// part uses only what stops after it:
//
//  1. the HTTP listeners stop accepting and drain the requests in flight
//     (10 s): a request may use any service below, so all of them still
//     run while it finishes;
//  2. the background jobs stop — bots, trading's settle/reconcile loop,
//     the account resume, the re-open recorder, housekeeping, the symbols
//     refresher — and Run waits for each: they place and settle trades
//     through market data, plugins and the store;
//  3. the candle service closes (its feeds stop, its writer flushes to
//     the store): its feeds read from broker plugins;
//  4. the plugin supervisor closes (instances destroyed, sessions closed,
//     processes stopped): a plugin restarting meanwhile re-opens sessions
//     with credentials read from the store;
//  5. the store closes.
package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/auth"
	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/billing/webhook"
	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/host/internal/cockpit"
	"github.com/stc-trading/stc/host/internal/config"
	"github.com/stc-trading/stc/host/internal/events"
	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/marketdata"
	"github.com/stc-trading/stc/host/internal/metrics"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/pluginsettings"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/symbols"
	"github.com/stc-trading/stc/host/internal/trading"
	"github.com/stc-trading/stc/host/internal/users"
	"github.com/stc-trading/stc/sdk/plugin"
)

// closeTimeout bounds each of the candle service's and the plugin
// supervisor's shutdown.
const closeTimeout = 15 * time.Second

// reopenQueue is how many failed session re-opens wait for the recorder;
// more are dropped with a warning (the account shows the live error).
const reopenQueue = 256

// Option tunes New.
type Option func(*options)

type options struct {
	log     hclog.Logger
	environ []string
	banner  io.Writer
}

// WithLogger sets the host's logger (default: NewLogger at the
// configured level, on standard error).
func WithLogger(l hclog.Logger) Option { return func(o *options) { o.log = l } }

// WithEnviron sets the environment plugin settings are read from,
// "KEY=value" (default: os.Environ()).
func WithEnviron(env []string) Option { return func(o *options) { o.environ = env } }

// WithBanner sets where Run writes the "STC is listening" banner for
// the operator (default: standard error).
func WithBanner(w io.Writer) Option { return func(o *options) { o.banner = w } }

// App is one host, built by New and run by Run.
type App struct {
	cfg    config.Config
	log    hclog.Logger
	banner io.Writer

	db       *store.Store
	plugins  *pluginmgr.Manager
	entries  []catalog.Entry
	declared *pluginsettings.Resolution
	data     *marketdata.Service
	syms     *symbols.Service
	users    *users.Service
	billing  *billing.Service
	accounts *accounts.Manager
	trader   *trading.Service
	bots     *bots.Service
	// events is the per-user event log the services write and the
	// stream reads.
	events *events.Log

	// reopenFailed carries the plugin supervisor's failed session re-opens
	// to the recorder job.
	reopenFailed chan pluginmgr.Event
	// botAccounts are the accounts of running bots, resumed first.
	botAccounts []int64

	api     *server
	metrics *server // nil without STC_METRICS_ADDR

	runOnce   sync.Once
	closeOnce sync.Once
	closeErr  error
}

// New builds the host cfg describes; see the package doc for what and in
// which order. Nothing runs until Run, but resources are held: call Run,
// or Close when the host is not to run after all. On error everything
// built so far is released.
func New(ctx context.Context, cfg config.Config, opts ...Option) (_ *App, err error) {
	o := options{environ: os.Environ(), banner: os.Stderr}
	for _, f := range opts {
		f(&o)
	}
	if o.log == nil {
		o.log = NewLogger(cfg.LogLevel, os.Stderr)
	}
	a := &App{cfg: cfg, log: o.log, banner: o.banner, reopenFailed: make(chan pluginmgr.Event, reopenQueue)}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	log := a.log

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if a.db, err = store.Open(ctx, cfg.DatabaseURL, cfg.DataDir, log.Named("store")); err != nil {
		return nil, err
	}
	met := metrics.New()
	a.events = events.New(a.db, httpapi.RenderEvent, log, events.Options{Retention: cfg.RetainEvents})
	if a.plugins, a.entries, a.declared, err = StartPlugins(ctx, cfg, o.environ, log, met, a.onPluginEvent); err != nil {
		return nil, err
	}
	backend := pluginBackend{m: a.plugins, entries: a.entries, db: a.db}
	a.data = marketdata.New(backend, marketdata.FromStore(a.db), met, log.Named("marketdata"),
		marketdata.Options{PollInterval: cfg.PollInterval, Budget: candleBudget(cfg.Candles)})
	if err := trackKeys(ctx, a.db, a.data, cfg.Track, log); err != nil {
		return nil, err
	}
	a.syms = symbols.New(a.data, symbolsTTL, symbols.Builtin, nil)
	if err := a.buildServices(); err != nil {
		return nil, err
	}
	if a.botAccounts, err = a.bots.RunningAccounts(ctx); err != nil {
		return nil, err
	}

	web, err := cockpit.New()
	if err != nil {
		return nil, fmt.Errorf("cockpit: %w", err)
	}
	handler := httpapi.New(httpapi.Deps{
		Web:     web,
		Markets: marketsAPI{plugins: backend, data: a.data, syms: a.syms, metrics: met}, Plugins: backend,
		Users: a.users, Billing: a.billing, Accounts: a.accounts, Trading: a.trader, Bots: a.bots,
		Declared: a.declared.Plugins, Processes: a.plugins,
		Limits:         httpapi.RateLimits{PerIP: cfg.RateLimitIP, PerUser: cfg.RateLimitUser, Auth: cfg.RateLimitAuth},
		TrustedProxies: cfg.TrustedProxies,
		Metrics:        met, MetricsAccess: metricsAccess(cfg, log), Log: log.Named("http"),
		Events: a.events, Candles: a.data,
		Stream: httpapi.StreamOptions{PerUser: cfg.StreamPerUser, Max: cfg.StreamMax, Heartbeat: cfg.StreamHeartbeat},
	})
	if a.metrics, err = metricsServer(cfg, met, log); err != nil {
		return nil, err
	}
	if a.api, err = apiServer(cfg, handler, log); err != nil {
		return nil, err
	}
	return a, nil
}

// buildServices builds the multi-tenant services — users, billing, the
// account manager, trading and bots — and links them.
func (a *App) buildServices() error {
	cfg, log := a.cfg, a.log
	keys, err := LoadKeyring(cfg, log)
	if err != nil {
		return err
	}
	hasher, err := NewHasher()
	if err != nil {
		return err
	}
	if cfg.BillingWebhookSecret == "" {
		log.Warn("STC_BILLING_WEBHOOK_SECRET is not set: the billing webhook answers 503 until it is")
	}
	a.billing = billing.NewService(a.db, &webhook.Verifier{Secret: []byte(cfg.BillingWebhookSecret)}, time.Now, log.Named("billing"))
	a.users = users.NewService(a.db, hasher, auth.NewThrottle(auth.DefaultThrottleConfig()), users.Options{}, log.Named("users"))
	policy := entitlementPolicy{a.billing}
	a.accounts = accounts.NewManager(a.db, keys, a.plugins, policy, log.Named("accounts"))
	a.accounts.SetEvents(a.events)
	a.trader = trading.NewService(a.db, a.accounts, policy, trading.Options{IdempotencyTTL: cfg.IdempotencyTTL, Events: tradeEvents{a.events, a.accounts}}, log.Named("trading"))
	a.bots = bots.NewService(a.db, bots.Deps{
		Strategies: a.plugins, Market: a.data, Accounts: a.accounts, Entitlements: a.billing, Trader: bots.FromTrading(a.trader),
		Events: a.events,
	}, bots.Options{}, log.Named("bots"))
	// Trading and bots are built on the account manager, so they join it
	// here rather than in its constructor.
	a.accounts.SetDependents(accountDependents(a.trader, a.bots))
	a.billing.OnChange(planChanged(a.trader, a.bots, log))
	return nil
}

// onPluginEvent hands the sessions a restarted broker plugin could not
// re-open to the recorder job, which records the ones that need the user.
// The supervisor calls it, and it must not block.
func (a *App) onPluginEvent(ev pluginmgr.Event) {
	if ev.Type != pluginmgr.EventInstanceRecreateFailed || ev.Kind != plugin.KindBroker {
		return
	}
	select {
	case a.reopenFailed <- ev:
	default:
		a.log.Warn("too many failed session re-opens to record; the account shows the live error", "session", ev.Instance)
	}
}

// Addr is the address the API listens on.
func (a *App) Addr() string { return a.api.addr() }

// Close releases what New holds, in the shutdown order of the package
// doc (steps 3 to 5), and the listeners of a host that never ran. Run
// calls it when every goroutine has stopped; calling it again returns the
// first call's answer.
func (a *App) Close() error {
	a.closeOnce.Do(func() { a.closeErr = a.close() })
	return a.closeErr
}

func (a *App) close() error {
	// Listeners that served are shut down by Run; closing them again only
	// reports that they are closed.
	for _, s := range []*server{a.api, a.metrics} {
		if s != nil {
			s.close()
		}
	}
	if a.data != nil {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if err := a.data.Close(ctx); err != nil {
			a.log.Warn("candle service shutdown", "error", err)
		}
	}
	if a.plugins != nil {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if err := a.plugins.Close(ctx); err != nil {
			a.log.Warn("plugin shutdown", "error", err)
		}
	}
	if a.db != nil {
		if err := a.db.Close(); err != nil {
			return err
		}
	}
	return nil
}
