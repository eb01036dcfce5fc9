package pluginmgr

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/strategy"
)

func TestKillRestartsAndRecreates(t *testing.T) {
	m, rec := newManager(t, Options{})
	ctx := ctxT(t)
	h, err := m.Strategy(ctx, "echo")
	require.NoError(t, err)
	cfg := plugin.InstanceConfig{Symbol: "EURUSD", Timeframe: market.M1, Params: map[string]string{"period": "4"}}
	_, err = h.CreateInstance(ctx, "bot-1", cfg)
	require.NoError(t, err)
	marker := filepath.Join(t.TempDir(), "hanging")
	_, err = h.CreateInstance(ctx, "stuck", plugin.InstanceConfig{Symbol: "EURUSD", Timeframe: market.M1, Params: map[string]string{"mode": "hang", "marker": marker}})
	require.NoError(t, err)

	b, err := m.Broker(ctx, "mock")
	require.NoError(t, err)
	var reopens atomic.Int32
	reopen := func(ctx context.Context) (broker.OpenRequest, error) {
		reopens.Add(1)
		return mockCreds("alice")(ctx)
	}
	acct, err := b.OpenSession(ctx, "acct-1", reopen)
	require.NoError(t, err)
	assert.Equal(t, "mock-alice", acct.AccountRef)

	// A call in flight when the process dies returns ErrPluginExited.
	inflight := make(chan error, 1)
	go func() {
		_, err := h.OnCandle(ctx, "stuck", candles(5))
		inflight <- err
	}()
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		select {
		case err := <-inflight:
			t.Fatalf("hanging call returned early: %v", err)
		case <-ctx.Done():
			t.Fatal("hanging call never reached the plugin")
		case <-time.After(5 * time.Millisecond):
		}
	}

	old := statusOf(t, m, plugin.KindStrategy, "echo", "")
	killed := time.Now()
	require.NoError(t, syscall.Kill(old.PID, syscall.SIGKILL))
	exited := rec.waitFor(t, "exited", isEvent(EventExited, "echo"))
	t.Logf("exit of pid %d detected %s after SIGKILL: %v", old.PID, exited.Time.Sub(killed), exited.Err)
	assert.Equal(t, old.PID, exited.PID)
	assert.ErrorIs(t, exited.Err, ErrPluginExited)
	assert.ErrorIs(t, <-inflight, ErrPluginExited)
	// A call made while the plugin restarts waits for the new process.
	_, err = h.OnCandle(ctx, "bot-1", candles(10))
	require.NoError(t, err)

	restarted := rec.waitFor(t, "restarted", isEvent(EventRestarted, "echo"))
	t.Logf("strategy running again %s after SIGKILL with pid %d", restarted.Time.Sub(killed), restarted.PID)
	assert.NotEqual(t, old.PID, restarted.PID)
	sig, err := h.OnCandle(ctx, "bot-1", candles(10))
	require.NoError(t, err, "the instance was re-created by the manager, not by the test")
	assert.Equal(t, "up, window 4", sig.Reason, "re-created with its own configuration")
	st := statusOf(t, m, plugin.KindStrategy, "echo", "")
	assert.Equal(t, StateRunning, st.State)
	assert.Equal(t, 1, st.Restarts)
	assert.Equal(t, restarted.PID, st.PID)

	// The broker: its session is re-opened through the reopen func.
	bold := statusOf(t, m, plugin.KindBroker, "mock", "")
	require.NoError(t, syscall.Kill(bold.PID, syscall.SIGKILL))
	brestart := rec.waitFor(t, "broker restarted", isEvent(EventRestarted, "mock"))
	assert.NotEqual(t, bold.PID, brestart.PID)
	assert.Equal(t, int32(2), reopens.Load(), "open once, re-open once after the restart")
	bal, err := b.Session("acct-1").Balance(ctx)
	require.NoError(t, err)
	assert.Equal(t, "USD", bal.Currency)
	for _, e := range rec.all() {
		assert.NotEqual(t, EventInstanceRecreateFailed, e.Type, "%v", e)
	}
}

func TestHangingCallsTriggerRestart(t *testing.T) {
	m, rec := newManager(t, Options{CallTimeout: 300 * time.Millisecond, TimeoutsBeforeRestart: 2})
	ctx := ctxT(t)
	h, err := m.Strategy(ctx, "echo")
	require.NoError(t, err)
	pid := statusOf(t, m, plugin.KindStrategy, "echo", "").PID
	base := plugin.InstanceConfig{Symbol: "EURUSD", Timeframe: market.M1}
	_, err = h.CreateInstance(ctx, "ok", base)
	require.NoError(t, err)
	hang := base
	hang.Params = map[string]string{"mode": "hang"}
	_, err = h.CreateInstance(ctx, "stuck", hang)
	require.NoError(t, err)

	// No deadline on ctx: the manager's default applies.
	_, err = h.OnCandle(context.Background(), "stuck", candles(5))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, ErrPluginExited)
	assert.Equal(t, pid, statusOf(t, m, plugin.KindStrategy, "echo", "").PID, "one timeout is not enough to restart")

	_, err = h.OnCandle(context.Background(), "stuck", candles(5))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	exited := rec.waitFor(t, "exited", isEvent(EventExited, "echo"))
	assert.Contains(t, exited.Err.Error(), "2 calls in a row timed out")
	restarted := rec.waitFor(t, "restarted", isEvent(EventRestarted, "echo"))
	assert.NotEqual(t, pid, restarted.PID)

	sig, err := h.OnCandle(ctx, "ok", candles(5))
	require.NoError(t, err)
	assert.Equal(t, strategy.ActionCall, sig.Action)
}

func TestCrashLoopBreaker(t *testing.T) {
	m, rec := newManager(t, Options{
		Env:         EnvByKey(map[string]map[string]string{"strategy/echo": {"STC_TEST_EXIT_AT_START": "1"}}),
		MaxRestarts: 3, BackoffBase: 5 * time.Millisecond, BackoffCap: 20 * time.Millisecond,
	})
	_, err := m.Strategy(ctxT(t), "echo")
	require.ErrorIs(t, err, ErrPluginUnavailable)
	t.Logf("error: %v", err)
	failed := rec.waitFor(t, "failed", isEvent(EventFailed, "echo"))
	assert.Equal(t, 3, failed.Restarts)
	st := statusOf(t, m, plugin.KindStrategy, "echo", "")
	assert.Equal(t, StateFailed, st.State)
	assert.Equal(t, 3, st.Restarts)
	assert.Contains(t, st.LastError, "exited before the go-plugin handshake")

	// While Failed, calls fail fast instead of waiting out their deadline.
	_, err = m.Strategy(context.Background(), "echo")
	require.ErrorIs(t, err, ErrPluginUnavailable)

	// An operator reset grants a new budget, which this plugin spends again.
	require.NoError(t, m.Reset(plugin.KindStrategy, "echo"))
	require.Eventually(t, func() bool {
		st := statusOf(t, m, plugin.KindStrategy, "echo", "")
		return st.State == StateFailed && st.Restarts == 6
	}, hangGuard, 5*time.Millisecond)
}
