package pluginmgr

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/schema"
	"github.com/stc-trading/stc/sdk/strategy"
)

func TestStrategyCalls(t *testing.T) {
	m, rec := newManager(t, Options{})
	ctx := ctxT(t)
	h, err := m.Strategy(ctx, "echo")
	require.NoError(t, err)
	rec.waitFor(t, "started", isEvent(EventStarted, "echo"))

	info, err := h.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, "1.0.0", info.Version)
	assert.True(t, info.Multiplexing)

	inst, err := h.CreateInstance(ctx, "bot-1", plugin.InstanceConfig{Symbol: "EURUSD", Timeframe: market.M1, Params: map[string]string{"period": "4"}})
	require.NoError(t, err)
	assert.Equal(t, 4, inst.Warmup)
	_, err = h.CreateInstance(ctx, "bot-2", plugin.InstanceConfig{Symbol: "EURUSD", Timeframe: market.M1})
	require.NoError(t, err)
	_, err = h.CreateInstance(ctx, "bad", plugin.InstanceConfig{Symbol: "EURUSD", Timeframe: market.M1, Params: map[string]string{"period": "0"}})
	require.ErrorIs(t, err, schema.ErrInvalid, "plugin errors keep their SDK sentinel through the manager")

	sig, err := h.OnCandle(ctx, "bot-1", candles(10))
	require.NoError(t, err)
	assert.Equal(t, strategy.ActionCall, sig.Action)
	assert.Equal(t, "up, window 4", sig.Reason, "the plugin applied the instance's warm-up")

	res, err := h.BatchOnCandle(ctx, []plugin.BatchItem{
		{InstanceID: "bot-1", Window: candles(5)},
		{InstanceID: "bot-2", Window: candles(5)},
		{InstanceID: "nope", Window: candles(5)},
	})
	require.NoError(t, err)
	require.Len(t, res, 3)
	assert.NoError(t, res[0].Err)
	assert.NoError(t, res[1].Err)
	assert.ErrorIs(t, res[2].Err, strategy.ErrUnknownInstance)

	series := candles(2500)
	bt, err := h.Backtest(ctx, plugin.InstanceConfig{Symbol: "EURUSD", Timeframe: market.M1}, series, 0)
	require.NoError(t, err)
	assert.Equal(t, 3, bt.Warmup)
	assert.Len(t, bt.Signals, len(series))

	require.NoError(t, h.DestroyInstance(ctx, "bot-2"))
	_, err = h.OnCandle(ctx, "bot-2", candles(5))
	assert.ErrorIs(t, err, strategy.ErrUnknownInstance)
	assert.Equal(t, 1, statusOf(t, m, plugin.KindStrategy, "echo", "").Instances)

	_, err = m.Strategy(ctx, "nope")
	assert.ErrorIs(t, err, ErrUnknownPlugin)
}

func TestPanicKeepsServing(t *testing.T) {
	m, _ := newManager(t, Options{})
	ctx := ctxT(t)
	h, err := m.Strategy(ctx, "echo")
	require.NoError(t, err)
	pid := statusOf(t, m, plugin.KindStrategy, "echo", "").PID
	cfg := plugin.InstanceConfig{Symbol: "EURUSD", Timeframe: market.M1}
	_, err = h.CreateInstance(ctx, "ok", cfg)
	require.NoError(t, err)
	cfg.Params = map[string]string{"mode": "panic"}
	_, err = h.CreateInstance(ctx, "boom", cfg)
	require.NoError(t, err)

	_, err = h.OnCandle(ctx, "boom", candles(5))
	require.Error(t, err)
	assert.ErrorIs(t, err, plugin.ErrPluginPanic)
	assert.NotErrorIs(t, err, ErrPluginExited)

	sig, err := h.OnCandle(ctx, "ok", candles(5))
	require.NoError(t, err, "the process keeps serving the other instances")
	assert.Equal(t, strategy.ActionCall, sig.Action)
	st := statusOf(t, m, plugin.KindStrategy, "echo", "")
	assert.Equal(t, pid, st.PID)
	assert.Equal(t, 0, st.Restarts)
	assert.Equal(t, StateRunning, st.State)
}

func TestFingerprint(t *testing.T) {
	m, _ := newManager(t, Options{})
	ctx := ctxT(t)
	for _, e := range entries(t, bins.pluginDir) {
		if e.Name == "stdout" {
			continue
		}
		p, err := catalog.Register(ctx, m, e)
		require.NoError(t, err, e.Key())
		assert.Equal(t, "1.0.0", p.Info.Version)
		assert.NotEmpty(t, p.Info.Fields, e.Key())
	}
	// A binary whose file name lies about what it is.
	e := entries(t, bins.pluginDir)[0]
	e.Name = "other"
	_, err := m.Fingerprint(ctx, e)
	assert.ErrorIs(t, err, catalog.ErrFingerprintMismatch)
	assert.Empty(t, m.Status(), "fingerprinting supervises nothing")
}

func TestStdoutPluginIsRefused(t *testing.T) {
	m, rec := newManager(t, Options{})
	_, err := m.Strategy(ctxT(t), "stdout")
	require.ErrorIs(t, err, ErrPluginStdout)
	msg := err.Error()
	t.Logf("error: %v", err)
	assert.Contains(t, msg, `"hello from init"`)
	assert.Contains(t, msg, "must never write to stdout")
	assert.Contains(t, msg, "stderr")
	var se *StdoutError
	require.True(t, errors.As(err, &se))
	st := statusOf(t, m, plugin.KindStrategy, "stdout", "")
	assert.Equal(t, StateFailed, st.State)
	assert.Equal(t, 0, st.Restarts, "a plugin that prints to stdout is not retried")
	assert.True(t, strings.Contains(st.LastError, "hello from init"))
	rec.waitFor(t, "failed", isEvent(EventFailed, "stdout"))
}
