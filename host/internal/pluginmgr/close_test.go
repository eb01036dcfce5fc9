package pluginmgr

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
)

func TestCloseLeavesNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx := ctxT(t)
	sockDir := t.TempDir()
	m, err := New(entries(t, bins.pluginDir), testLogger(t), withTestEnv(Options{
		SocketDir: sockDir,
		Env:       EnvByKey(map[string]map[string]string{"broker/mock": {"STC_TEST_PER_SESSION": "1"}}),
	}))
	require.NoError(t, err)
	h, err := m.Strategy(ctx, "echo")
	require.NoError(t, err)
	_, err = h.CreateInstance(ctx, "bot", plugin.InstanceConfig{Symbol: "EURUSD", Timeframe: market.M1})
	require.NoError(t, err)
	b, err := m.Broker(ctx, "mock")
	require.NoError(t, err)
	_, err = b.OpenSession(ctx, "acct", mockCreds("x"))
	require.NoError(t, err)
	events, err := b.Session("acct").SubscribeCandles(ctx, subscribeEURUSD())
	require.NoError(t, err)
	<-events

	sockets, err := filepath.Glob(filepath.Join(sockDir, "stc-plugins-*", "plugin*"))
	require.NoError(t, err)
	assert.Len(t, sockets, 3, "plugins put their sockets in the manager's private directory")

	var pids []int
	for _, st := range m.Status() {
		require.Equal(t, StateRunning, st.State)
		pids = append(pids, st.PID)
	}
	require.Len(t, pids, 3)

	require.NoError(t, m.Close(context.Background()))
	for _, pid := range pids {
		assert.True(t, processGone(pid), "plugin %d survived Close", pid)
	}
	for range events { // the stream ended with its process
	}
	left, err := filepath.Glob(filepath.Join(sockDir, "*"))
	require.NoError(t, err)
	assert.Empty(t, left, "Close removes the socket directory")
	_, err = h.OnCandle(ctx, "bot", candles(3))
	assert.ErrorIs(t, err, ErrClosed)
	_, err = m.Strategy(ctx, "echo")
	assert.ErrorIs(t, err, ErrClosed)
	require.NoError(t, m.Close(ctx), "Close is idempotent")
}
