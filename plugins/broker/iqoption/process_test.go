package iqoption_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/stc-trading/stc/plugins/broker/iqoption/iqfake"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/broker/brokertest"
	"github.com/stc-trading/stc/sdk/plugin"
)

// The plugin binary is built once per test run, with the race detector
// when the tests have it.
var buildOnce struct {
	sync.Once
	dir, path string
	err       error
}

func pluginBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "stciq") //nolint:usetesting // shared by every test of the run, built once
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.dir = dir
		buildOnce.path = filepath.Join(dir, "stc-broker-iqoption")
		args := []string{"build", "-o", buildOnce.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, "./cmd/stc-broker-iqoption")...).CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("build plugin: %w: %s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// launch starts the plugin binary the way the host does (gRPC, AutoMTLS,
// explicit environment, short socket dir) and returns its client and pid.
func launch(t testing.TB, env map[string]string) (*plugin.BrokerClient, int) {
	t.Helper()
	sock, err := os.MkdirTemp("", "stciq") //nolint:usetesting // t.TempDir paths are too long for Unix sockets
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(sock) })
	cmd := exec.Command(pluginBinary(t))
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	cmd.Env = append(cmd.Env, "TMPDIR="+sock, "STC_PLUGIN_LOG_LEVEL=warn")
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
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rpc.Dispense(plugin.DispenseName(plugin.KindBroker))
	if err != nil {
		t.Fatal(err)
	}
	bc, ok := raw.(*plugin.BrokerClient)
	if !ok {
		t.Fatalf("dispensed %T", raw)
	}
	return bc, c.ReattachConfig().Pid
}

// remoteFactory hands out sessions of the plugin process, one session id
// per value.
func remoteFactory(bc *plugin.BrokerClient) broker.Factory {
	var n atomic.Int64
	return func() broker.Broker { return bc.Session(fmt.Sprintf("proc-%d", n.Add(1))) }
}

// The real plugin binary, launched as the host launches it, passes the
// broker kit against the fake: the kit's own gRPC shim talks to sessions
// that live in the plugin process.
func TestConformanceThroughPluginProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the plugin binary")
	}
	fk, _ := startFake(t, iqfake.Config{Scale: 30, Seed: 5})
	bc, _ := launch(t, fk.Env())
	brokertest.Conformance(t, remoteFactory(bc), conformanceOptions(fk))
}
