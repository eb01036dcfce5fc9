package pluginmgr

import (
	"maps"
	"time"

	"github.com/stc-trading/stc/host/internal/catalog"
)

// EnvFunc returns the complete environment of a plugin's process. Nothing
// of the host's environment is inherited, so everything a plugin reads
// (STC_PLUGIN_LOG_LEVEL, its declared settings) must be listed here;
// pluginsettings.Resolution.Env is the host's.
type EnvFunc func(e catalog.Entry) map[string]string

// EnvByKey serves per-plugin environments keyed by "kind/name" (e.g.
// "broker/paper"); plugins without a key get an empty environment.
func EnvByKey(m map[string]map[string]string) EnvFunc {
	return func(e catalog.Entry) map[string]string { return maps.Clone(m[e.Key()]) }
}

// Options tune a Manager. Zero values take the defaults in the comments.
type Options struct {
	// Env is each plugin's explicit environment; nil means empty.
	Env EnvFunc
	// CallTimeout is the deadline of a call whose context has none, and
	// of each re-creation after a restart. Default 10 s.
	CallTimeout time.Duration
	// BacktestTimeout replaces CallTimeout for Backtest. Default 30 min.
	BacktestTimeout time.Duration
	// StartTimeout bounds the go-plugin handshake. Default 30 s.
	StartTimeout time.Duration
	// HealthInterval is the period of the health ping. Default 10 s.
	HealthInterval time.Duration
	// PingTimeout bounds one health ping. Default 2 s.
	PingTimeout time.Duration
	// PingFailures consecutive failed pings restart the process. Default 2.
	PingFailures int
	// TimeoutsBeforeRestart consecutive timed-out calls restart the
	// process: the health service is go-plugin's, so it keeps answering
	// while author code is deadlocked. Default 3. Only account and order
	// calls count: a market-data read (Candles, Instruments) that times
	// out proves a slow history request, not a stuck plugin, and never
	// restarts a process that answers its health checks.
	TimeoutsBeforeRestart int
	// MarketDataTimeout replaces CallTimeout for a broker's Candles calls
	// (one history page), whose cost grows with the range asked for.
	// Default 30 s.
	MarketDataTimeout time.Duration
	// MarketDataConcurrency is how many Candles calls one broker process
	// serves at once; more wait (within their deadline) for a free slot.
	// Orders and account calls never wait for it, so history reads cannot
	// crowd them out of the plugin. Default 4.
	MarketDataConcurrency int
	// BackoffBase and BackoffCap shape the restart delay: the first restart
	// is immediate, then BackoffBase doubling up to BackoffCap. Defaults
	// 100 ms and 30 s.
	BackoffBase, BackoffCap time.Duration
	// StableAfter is how long a process must run before the backoff
	// resets. Default 1 min.
	StableAfter time.Duration
	// MaxRestarts restarts within RestartWindow open the crash-loop
	// breaker: the plugin goes Failed and calls fail fast with
	// ErrPluginUnavailable. Defaults 5 and 10 min.
	MaxRestarts   int
	RestartWindow time.Duration
	// FailedCooldown, when positive, closes the breaker again after that
	// long; zero waits for Manager.Reset.
	FailedCooldown time.Duration
	// SocketDir is where plugins create their Unix sockets; "" is the
	// system temp dir. Use a directory private to the host's user.
	SocketDir string
	// CloseTimeout bounds the best-effort DestroyInstance/CloseSession
	// calls of Close when its context has no deadline. Default 5 s.
	CloseTimeout time.Duration
	// ReconcileConcurrency bounds parallel re-creations after a restart
	// (session logins are network calls). Default 8.
	ReconcileConcurrency int
	// OnEvent, when set, receives lifecycle events. It is called from the
	// supervising goroutines, possibly concurrently, and must not block.
	OnEvent func(Event)
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&o.CallTimeout, 10*time.Second)
	def(&o.BacktestTimeout, 30*time.Minute)
	def(&o.StartTimeout, 30*time.Second)
	def(&o.HealthInterval, 10*time.Second)
	def(&o.PingTimeout, 2*time.Second)
	defInt(&o.PingFailures, 2)
	defInt(&o.TimeoutsBeforeRestart, 3)
	def(&o.MarketDataTimeout, 30*time.Second)
	defInt(&o.MarketDataConcurrency, 4)
	def(&o.BackoffBase, 100*time.Millisecond)
	def(&o.BackoffCap, 30*time.Second)
	def(&o.StableAfter, time.Minute)
	defInt(&o.MaxRestarts, 5)
	def(&o.RestartWindow, 10*time.Minute)
	def(&o.CloseTimeout, 5*time.Second)
	defInt(&o.ReconcileConcurrency, 8)
	if o.Env == nil {
		o.Env = func(catalog.Entry) map[string]string { return nil }
	}
	return o
}
