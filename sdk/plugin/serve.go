package plugin

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/strategy"
)

// maxMessageBytes bounds one gRPC message. Live windows are tens of KB and
// backtest chunks are ~50 KB per 1,000 candles; batches of many bots are the
// largest messages, and the host splits them well below this.
const maxMessageBytes = 64 << 20

// ServeOption changes how a plugin is served.
type ServeOption func(*serveConfig)

type serveConfig struct {
	logger   hclog.Logger
	watchdog time.Duration
	settings []Setting
}

// WithLogger replaces the default JSON-on-stderr logger (tests).
func WithLogger(l hclog.Logger) ServeOption { return func(c *serveConfig) { c.logger = l } }

// WithParentWatchdog sets how often the plugin checks that the host is
// still alive; zero disables the check. The default is 500 ms.
func WithParentWatchdog(every time.Duration) ServeOption {
	return func(c *serveConfig) { c.watchdog = every }
}

func newServeConfig(name string, opts []ServeOption) serveConfig {
	level := hclog.LevelFromString(os.Getenv(LogLevelEnv))
	if level == hclog.NoLevel {
		level = hclog.Info
	}
	c := serveConfig{
		logger: hclog.New(&hclog.LoggerOptions{
			Name:       name,
			Level:      level,
			Output:     os.Stderr,
			JSONFormat: true,
		}),
		watchdog: 500 * time.Millisecond,
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// ServeStrategy serves a strategy plugin. It blocks until the host stops
// the plugin, then returns; main should simply return after it. Invalid
// settings declared with WithSettings end the process at once with a
// message on stderr.
func ServeStrategy(f strategy.Factory, opts ...ServeOption) {
	meta := f().Metadata()
	c := newServeConfig("strategy."+meta.Name, opts)
	serve(c, goplugin.PluginSet{strategyPluginName: &StrategyPlugin{Factory: f, Logger: c.logger, Settings: c.settings}})
}

// ServeBroker serves a broker adapter plugin. It blocks until the host
// stops the plugin, then returns. Invalid settings declared with
// WithSettings end the process at once with a message on stderr.
func ServeBroker(f broker.Factory, opts ...ServeOption) {
	meta := f().Metadata()
	c := newServeConfig("broker."+meta.Name, opts)
	serve(c, goplugin.PluginSet{brokerPluginName: &BrokerPlugin{Factory: f, Logger: c.logger, Settings: c.settings}})
}

func serve(c serveConfig, set goplugin.PluginSet) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if c.watchdog > 0 {
		go watchParent(ctx, c.logger, c.watchdog)
	}
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  Handshake(),
		VersionedPlugins: map[int]goplugin.PluginSet{ProtocolVersion: set},
		Logger:           c.logger,
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts,
				grpc.MaxRecvMsgSize(maxMessageBytes),
				grpc.MaxSendMsgSize(maxMessageBytes),
				grpc.ChainUnaryInterceptor(unaryRecover(c.logger)),
				grpc.ChainStreamInterceptor(streamRecover(c.logger)),
			)
			return grpc.NewServer(opts...)
		},
	})
}

// watchParent exits the process when its parent changes, i.e. when the
// host died without stopping it (SIGKILL, OOM). Without it the plugin
// would keep running under init forever (go-plugin #210). The host also
// sets Pdeathsig on Linux; this is the portable fallback.
func watchParent(ctx context.Context, log hclog.Logger, every time.Duration) {
	parent := os.Getppid()
	if parent <= 1 || !isLaunchedByHost() {
		return // started by hand or already orphaned at start: nothing to watch
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if os.Getppid() != parent {
				log.Warn("host process is gone; exiting", "old_parent_pid", parent)
				os.Exit(3)
			}
		}
	}
}

// isLaunchedByHost reports whether go-plugin's handshake variables are
// present, i.e. a host started this process.
func isLaunchedByHost() bool {
	h := Handshake()
	return strings.TrimSpace(os.Getenv(h.MagicCookieKey)) == h.MagicCookieValue
}
