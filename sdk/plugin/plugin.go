// Package plugin connects strategies and broker adapters to the STC host
// over hashicorp/go-plugin and gRPC. Authors call ServeStrategy or
// ServeBroker from a three-line main; the host uses the typed clients,
// which implement the same Go interfaces authors implement, so no gRPC or
// protobuf type leaks to either side.
//
// Rules for plugin authors:
//   - never write to stdout: it is go-plugin's handshake channel, and a
//     stray print makes the host refuse the plugin; log with Logger(ctx) or
//     to stderr;
//   - keep main cheap: no network I/O before Serve (log in inside Open);
//   - read operator settings with LoadSettings and declare them with
//     WithSettings, and keep data in DataDirEnv: the host passes a plugin
//     nothing else of its environment;
//   - don't start goroutines without recovering their panics: the SDK
//     recovers panics in RPC handlers only.
package plugin

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/stc-trading/stc/sdk/internal/convert"
)

// ProtocolVersion is the major version of the STC plugin protocol. It equals
// the v1 in the proto packages' names and go-plugin's negotiated version.
const ProtocolVersion = 1

// ProtocolMinor counts additive changes inside ProtocolVersion. Plugins
// report it in GetInfo. 1.1 added BrokerService.PlaceOrders (a host falls
// back on Unimplemented); 1.2 added the shared series of
// BatchOnCandleRequest, which the StrategyClient sends only to plugins
// reporting 2 or later; 1.3 added GetInfoResponse.settings, the operator
// settings a plugin declares (older plugins declare none and get only
// LogLevelEnv and DataDirEnv); 1.4 added GetInfoResponse.display_name
// (older plugins send none, and hosts show the name).
const ProtocolMinor = 4

// SDKVersion is the version of this SDK, reported in GetInfo.
const SDKVersion = "0.1.0"

// Plugin names inside a go-plugin plugin set.
const (
	strategyPluginName = "strategy"
	brokerPluginName   = "broker"
)

// Kind is a plugin's kind.
type Kind int

// Plugin kinds.
const (
	KindBroker Kind = iota + 1
	KindStrategy
)

// String returns "broker", "strategy" or "invalid(N)".
func (k Kind) String() string {
	switch k {
	case KindBroker:
		return "broker"
	case KindStrategy:
		return "strategy"
	}
	return fmt.Sprintf("invalid(%d)", int(k))
}

// Handshake is the go-plugin handshake shared by the host and every STC
// plugin. The cookie is not a secret: it only stops a user from running a
// plugin binary by hand and wondering why it prints nothing useful.
func Handshake() goplugin.HandshakeConfig {
	return goplugin.HandshakeConfig{
		ProtocolVersion:  ProtocolVersion,
		MagicCookieKey:   "STC_PLUGIN_MAGIC_COOKIE",
		MagicCookieValue: "6f0b3d1e2c9a4b58a7e1d2c3b4a59687",
	}
}

// HostPluginSets returns the versioned plugin sets the host offers when it
// launches a plugin of kind k. The plugin side serves the same names.
func HostPluginSets(k Kind) map[int]goplugin.PluginSet {
	switch k {
	case KindBroker:
		return map[int]goplugin.PluginSet{ProtocolVersion: {brokerPluginName: &BrokerPlugin{}}}
	case KindStrategy:
		return map[int]goplugin.PluginSet{ProtocolVersion: {strategyPluginName: &StrategyPlugin{}}}
	}
	return nil
}

// DispenseName is the plugin-set name to Dispense for kind k.
func DispenseName(k Kind) string {
	if k == KindBroker {
		return brokerPluginName
	}
	return strategyPluginName
}

// ErrPluginPanic matches (errors.Is) the error a host gets when plugin
// code panicked while serving the call. The plugin process survives; the
// instance may be in a bad state.
var ErrPluginPanic = convert.ErrPluginPanic

type loggerKey struct{}

// Logger returns the plugin's logger, carrying the instance or session id
// when ctx comes from an RPC. It logs hclog JSON to stderr, which the host
// re-emits under the plugin's name.
func Logger(ctx context.Context) hclog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(hclog.Logger); ok {
		return l
	}
	return hclog.Default()
}

func withLogger(ctx context.Context, l hclog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}
