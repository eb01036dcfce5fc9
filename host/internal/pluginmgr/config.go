package pluginmgr

import (
	"context"
	"crypto/sha256"
	"errors"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/sdk/plugin"
)

// launchSpec is everything one launch depends on.
type launchSpec struct {
	Entry        catalog.Entry
	Env          map[string]string // the plugin's whole environment
	SocketDir    string            // where the plugin puts its Unix socket; "" = system temp
	StartTimeout time.Duration
	Logger       hclog.Logger // base logger; clientConfig names it
}

// socketDirEnv is go-plugin's variable for the plugin's socket directory.
// go-plugin's UnixSocketConfig.TempDir only reaches RunnerFunc plugins, so
// the manager passes the directory itself.
const socketDirEnv = "PLUGIN_UNIX_SOCKET_DIR"

// clientConfig builds the go-plugin configuration for one launch. It is
// pure so that the security-relevant settings are unit-tested.
func clientConfig(s launchSpec) *goplugin.ClientConfig {
	// exec.Command, not CommandContext: one process serves many callers, and
	// no caller's context may kill it; the Manager owns its lifetime.
	cmd := exec.Command(s.Entry.Path)
	cmd.Env = envList(s.Env, s.SocketDir)
	setProcAttr(cmd)
	log := s.Logger
	if log == nil {
		log = hclog.NewNullLogger() // go-plugin's default is a Trace logger on stderr
	}
	return &goplugin.ClientConfig{
		HandshakeConfig:  plugin.Handshake(),
		VersionedPlugins: hostPluginSets(s.Entry.Kind),
		Cmd:              cmd,
		// Checked by go-plugin on the file right before exec.
		SecureConfig:     &goplugin.SecureConfig{Checksum: s.Entry.SHA256, Hash: sha256.New()},
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC}, // go-plugin's default is net/rpc only
		AutoMTLS:         true,                                       // only this host can talk to the plugin
		SkipHostEnv:      true,                                       // keep DATABASE_URL, keys and tokens out of plugins
		Managed:          false,                                      // the Manager kills its own clients; no CleanupClients
		StartTimeout:     s.StartTimeout,
		Logger:           log.Named("plugin." + s.Entry.Kind.String() + "." + s.Entry.Name),
		// Stderr stays nil: go-plugin already re-emits stderr through Logger.
	}
}

// envList renders the allow-listed environment, sorted for reproducible
// tests and logs. Invalid names are dropped rather than passed half-way.
func envList(env map[string]string, socketDir string) []string {
	out := make([]string, 0, len(env)+1)
	for k, v := range env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.Contains(v, "\x00") {
			continue
		}
		out = append(out, k+"="+v)
	}
	if _, set := env[socketDirEnv]; socketDir != "" && !set {
		out = append(out, socketDirEnv+"="+socketDir)
	}
	sort.Strings(out)
	return out
}

// hostPluginSets wraps the SDK's host-side plugins so that the context
// go-plugin cancels when the process exits reaches the manager: the SDK's
// GRPCClient ignores it, and go-plugin has no other exit notification
// short of polling Exited().
func hostPluginSets(k plugin.Kind) map[int]goplugin.PluginSet {
	sets := plugin.HostPluginSets(k)
	for v, set := range sets {
		wrapped := make(goplugin.PluginSet, len(set))
		for name, p := range set {
			if gp, ok := p.(goplugin.GRPCPlugin); ok {
				wrapped[name] = &exitAware{inner: gp}
			} else {
				wrapped[name] = p
			}
		}
		sets[v] = wrapped
	}
	return sets
}

// exitAware is a host-side-only go-plugin plugin around an SDK plugin.
type exitAware struct {
	goplugin.NetRPCUnsupportedPlugin
	inner goplugin.GRPCPlugin
}

// dispensed is what exitAware dispenses: the SDK's typed client and the
// context that ends when the plugin process exits.
type dispensed struct {
	client any
	exited context.Context
}

var errHostOnly = errors.New("pluginmgr: exitAware is host-side only")

// GRPCServer refuses: exitAware only ever runs in the host.
func (p *exitAware) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error { return errHostOnly }

// GRPCClient dispenses the SDK client together with the exit context.
func (p *exitAware) GRPCClient(ctx context.Context, b *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	v, err := p.inner.GRPCClient(ctx, b, c)
	if err != nil {
		return nil, err
	}
	return dispensed{client: v, exited: ctx}, nil
}
