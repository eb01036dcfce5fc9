package skeleton_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/stretchr/testify/require"

	skeleton "github.com/stc-trading/stc/examples/broker-skeleton"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/broker/brokertest"
	"github.com/stc-trading/stc/sdk/plugin"
)

// The plugin binary is built once per test run, with the race detector
// when the tests have it (which also reuses their compiled packages).
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func pluginBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "stcskel") //nolint:usetesting // shared by every test of the run
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "stc-broker-"+skeleton.Name)
		args := []string{"build", "-o", buildOnce.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		if out, err := exec.Command("go", append(args, "./cmd/stc-broker-"+skeleton.Name)...).CombinedOutput(); err != nil {
			buildOnce.err = fmt.Errorf("build plugin: %w: %s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// launch starts the plugin binary as the host does (gRPC, AutoMTLS, no
// inherited environment, a short socket directory) with env as its whole
// environment, and returns the host's client for it.
func launch(t *testing.T, env ...string) *plugin.BrokerClient {
	t.Helper()
	sock, err := os.MkdirTemp("", "stcskel") //nolint:usetesting // t.TempDir paths are too long for Unix sockets
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(sock) })
	cmd := exec.Command(pluginBinary(t))
	cmd.Env = append(env, "TMPDIR="+sock, "STC_PLUGIN_LOG_LEVEL=warn")
	c := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  plugin.Handshake(),
		VersionedPlugins: plugin.HostPluginSets(plugin.KindBroker),
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		UnixSocketConfig: &goplugin.UnixSocketConfig{TempDir: sock},
		Logger:           hclog.NewNullLogger(),
	})
	t.Cleanup(c.Kill)
	rpc, err := c.Client()
	require.NoError(t, err)
	raw, err := rpc.Dispense(plugin.DispenseName(plugin.KindBroker))
	require.NoError(t, err)
	bc, ok := raw.(*plugin.BrokerClient)
	require.True(t, ok, "dispensed %T", raw)
	return bc
}

// The built plugin, launched as the host launches it, passes the broker
// kit: the kit's calls cross the process boundary to sessions that live
// in the plugin process.
func TestConformanceThroughPluginProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the plugin binary")
	}
	v := startVenue(t)
	bc := launch(t, skeleton.EnvVenueURL+"="+v.URL())
	var n atomic.Int64
	remote := func() broker.Broker { return bc.Session(fmt.Sprintf("proc-%d", n.Add(1))) }
	brokertest.Conformance(t, remote, options(v))
}

// Without a venue the plugin still starts and describes itself, as
// `make run` needs of every installed plugin; logging in and market data
// fail with broker.ErrUnavailable, naming the missing setting.
func TestPluginStartsWithoutVenue(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the plugin binary")
	}
	ctx := context.Background()
	bc := launch(t)
	info, err := bc.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, plugin.KindBroker, info.Kind)
	require.Equal(t, skeleton.Name, info.Name)
	_, err = bc.Session("s1").Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: creds("alice")})
	require.ErrorIs(t, err, broker.ErrUnavailable)
	require.True(t, strings.Contains(err.Error(), skeleton.EnvVenueURL), err.Error())
	_, err = bc.Session("").Instruments(ctx)
	require.ErrorIs(t, err, broker.ErrUnavailable)
}
