package pluginmgr

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/sdk/plugin"
)

func TestClientConfig(t *testing.T) {
	t.Setenv("STC_TEST_CANARY", "canary-must-not-leak")
	sum := sha256.Sum256([]byte("binary"))
	e := catalog.Entry{Kind: plugin.KindBroker, Name: "paper", File: "stc-broker-paper", Path: "/opt/stc/plugins/stc-broker-paper", SHA256: sum[:]}
	env := map[string]string{"STC_PAPER_DATA_DIR": "/var/lib/stc/paper", "STC_PLUGIN_LOG_LEVEL": "debug", "BAD=NAME": "x", "": "y"}
	cfg := clientConfig(launchSpec{Entry: e, Env: env, StartTimeout: 7 * time.Second, Logger: hclog.New(&hclog.LoggerOptions{Name: "host"})})

	assert.Equal(t, []goplugin.Protocol{goplugin.ProtocolGRPC}, cfg.AllowedProtocols, "gRPC only; go-plugin's default is net/rpc")
	assert.True(t, cfg.AutoMTLS)
	assert.True(t, cfg.SkipHostEnv)
	assert.False(t, cfg.Managed, "the Manager kills its own clients")
	assert.Nil(t, cfg.Reattach)
	assert.Nil(t, cfg.Stderr, "go-plugin re-emits stderr through Logger already")
	assert.Equal(t, plugin.Handshake(), cfg.HandshakeConfig)
	assert.Equal(t, 7*time.Second, cfg.StartTimeout)
	assert.Equal(t, "host.plugin.broker.paper", cfg.Logger.Name())

	require.NotNil(t, cfg.SecureConfig)
	assert.Equal(t, sum[:], cfg.SecureConfig.Checksum)
	require.NotNil(t, cfg.SecureConfig.Hash)
	assert.Equal(t, sha256.Size, cfg.SecureConfig.Hash.Size())

	require.NotNil(t, cfg.Cmd)
	assert.Equal(t, e.Path, cfg.Cmd.Path)
	assert.Equal(t, []string{"STC_PAPER_DATA_DIR=/var/lib/stc/paper", "STC_PLUGIN_LOG_LEVEL=debug"}, cfg.Cmd.Env,
		"the environment is exactly the allow-list, nothing inherited")
	assert.Nil(t, cfg.Cmd.Cancel, "not CommandContext: no caller's context may kill a shared process")
	if runtime.GOOS == "linux" {
		require.NotNil(t, cfg.Cmd.SysProcAttr)
		assert.Equal(t, syscall.SIGKILL, cfg.Cmd.SysProcAttr.Pdeathsig)
	}

	require.Contains(t, cfg.VersionedPlugins, plugin.ProtocolVersion)
	set := cfg.VersionedPlugins[plugin.ProtocolVersion]
	require.Len(t, set, 1)
	wrapped, ok := set[plugin.DispenseName(plugin.KindBroker)].(*exitAware)
	require.True(t, ok, "%T", set[plugin.DispenseName(plugin.KindBroker)])
	assert.IsType(t, &plugin.BrokerPlugin{}, wrapped.inner)

	scfg := clientConfig(launchSpec{Entry: catalog.Entry{Kind: plugin.KindStrategy, Name: "rsi", Path: "/x", SHA256: sum[:]}})
	w, ok := scfg.VersionedPlugins[plugin.ProtocolVersion][plugin.DispenseName(plugin.KindStrategy)].(*exitAware)
	require.True(t, ok)
	assert.IsType(t, &plugin.StrategyPlugin{}, w.inner)
	assert.Empty(t, scfg.Cmd.Env)
	assert.NotNil(t, scfg.Cmd.Env, "a nil Env would make exec inherit the host's environment")
	assert.NotNil(t, scfg.Logger, "a nil Logger makes go-plugin log at Trace to stderr")
}

func TestClientConfigSocketDir(t *testing.T) {
	cfg := clientConfig(launchSpec{Entry: catalog.Entry{Kind: plugin.KindStrategy, Name: "rsi", Path: "/x"}, Env: map[string]string{"A": "1"}, SocketDir: "/run/stc/sock"})
	assert.Equal(t, []string{"A=1", "PLUGIN_UNIX_SOCKET_DIR=/run/stc/sock"}, cfg.Cmd.Env)
}

func TestStartErrorMessages(t *testing.T) {
	e := catalog.Entry{Kind: plugin.KindStrategy, Name: "x", File: "stc-strategy-x", Path: "/p/stc-strategy-x"}
	err := startError(e, time.Second, goplugin.ErrChecksumsDoNotMatch)
	assert.ErrorIs(t, err, ErrChecksumMismatch)
	assert.Contains(t, err.Error(), "changed since the manifest was written")
	assert.Contains(t, err.Error(), "make build")
	assert.True(t, permanent(err))

	err = startError(e, time.Second, errors.New(stdoutPrefix+"hello from init\nFailed to read any lines"))
	assert.ErrorIs(t, err, ErrPluginStdout)
	var se *StdoutError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "hello from init", se.Line)
	assert.True(t, permanent(err))

	err = startError(e, time.Second, errors.New(stdoutPrefix+"\nFailed to read any lines from plugin's stdout"))
	assert.NotErrorIs(t, err, ErrPluginStdout, "a plugin that printed nothing just died")
	assert.False(t, permanent(err))

	err = startError(e, 3*time.Second, errors.New("timeout while waiting for plugin to start"))
	assert.ErrorIs(t, err, ErrStartTimeout)
	assert.Contains(t, err.Error(), "3s")
	assert.False(t, permanent(err))

	assert.False(t, permanent(startError(e, time.Second, fmt.Errorf("plugin exited before we could connect"))))
}

func TestDesiredStateRollback(t *testing.T) {
	s := newSlot(&Manager{log: hclog.NewNullLogger()}, catalog.Entry{Kind: plugin.KindStrategy, Name: "x"}, "")
	params := map[string]string{"period": "3"}
	s.beginInstance("a", plugin.InstanceConfig{Params: params})
	params["period"] = "99" // the caller reusing its map must not change the record
	insts, _ := s.snapshot()
	assert.Equal(t, "3", insts["a"].Params["period"], "pending instances are re-created too")
	s.endInstance("a", true)

	s.beginInstance("a", plugin.InstanceConfig{Params: map[string]string{"period": "5"}})
	s.endInstance("a", false)
	insts, _ = s.snapshot()
	assert.Equal(t, "3", insts["a"].Params["period"], "a failed replacement restores the previous config")

	s.beginInstance("b", plugin.InstanceConfig{})
	s.endInstance("b", false)
	insts, _ = s.snapshot()
	assert.NotContains(t, insts, "b", "a failed creation leaves nothing behind")

	s.forgetInstance("a")
	insts, _ = s.snapshot()
	assert.Empty(t, insts)

	s.beginSession("u", mockCreds("u"))
	assert.Equal(t, 0, s.endSession("u", false))
}
