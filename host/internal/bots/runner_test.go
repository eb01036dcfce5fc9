package bots_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
)

// TestStartStopAndOrders runs a bot on the paper market at 60× speed: it
// places an order with its BotID on a signal, records the last signal,
// cannot be updated while running, and stops.
func TestStartStopAndOrders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		e.run()
		ctx := ctxT(t)
		alice, acct := e.user("alice", "pro")
		sp := eager(acct)
		sp.Limits = bots.Limits{MaxOpenTrades: 3, CooldownLosses: 2, CooldownCandles: 4}
		b, err := e.svc.Create(ctx, alice, sp)
		require.NoError(t, err)

		b, err = e.svc.Start(ctx, alice, b.ID)
		require.NoError(t, err)
		assert.Equal(t, bots.StatusRunning, b.Status)
		again, err := e.svc.Start(ctx, alice, b.ID)
		require.NoError(t, err, "starting a running bot is a no-op")
		assert.Equal(t, bots.StatusRunning, again.Status)

		_, err = e.svc.Update(ctx, alice, b.ID, rsiSpec(acct))
		require.ErrorIs(t, err, bots.ErrConflict)

		e.events.waitN(t, 2, "orders", ordered(b.ID))
		orders := e.trader.ordersOf(b.ID)
		require.NotEmpty(t, orders)
		o := orders[0]
		assert.Equal(t, alice, o.UserID)
		assert.Equal(t, acct, o.AccountID)
		assert.Equal(t, b.ID, o.BotID)
		assert.Equal(t, "paper", o.Broker)
		assert.Equal(t, "EURUSD-OTC", o.Symbol)
		assert.Equal(t, market.Call, o.Direction)
		assert.True(t, o.Amount.Equal(decimal.NewFromInt(10)))
		assert.Equal(t, time.Minute, o.Expiration)
		assert.Equal(t, 3, o.Limits.MaxOpenTrades)
		assert.Equal(t, 4*time.Minute, o.Cooldown)
		assert.Contains(t, o.Reason, "rsi")

		// The key is tracked for the candle service's next start.
		tracked, err := st.TrackedSymbols(ctx, "paper")
		require.NoError(t, err)
		require.Len(t, tracked, 1)
		assert.Equal(t, store.SourceBot, tracked[0].Source)

		// The last signal reaches the database (batched).
		require.Eventually(t, func() bool {
			got, err := e.svc.Get(ctx, alice, b.ID)
			return err == nil && got.LastSignal == "call" && !got.LastSignalAt.IsZero()
		}, hangGuard, 20*time.Millisecond)

		b, err = e.svc.Stop(ctx, alice, b.ID)
		require.NoError(t, err)
		assert.Equal(t, bots.StatusStopped, b.Status)
		n := len(e.trader.ordersOf(b.ID))
		// A stopped bot places nothing more: a second, running bot on the
		// same key shows candles are still closing.
		other, err := e.svc.Create(ctx, alice, eager(acct))
		require.NoError(t, err)
		_, err = e.svc.Start(ctx, alice, other.ID)
		require.NoError(t, err)
		e.events.waitN(t, 2, "orders of the other bot", ordered(other.ID))
		assert.Len(t, e.trader.ordersOf(b.ID), n)

		// Deleting a running bot stops it.
		require.NoError(t, e.svc.Delete(ctx, alice, other.ID))
		_, err = e.svc.Get(ctx, alice, other.ID)
		require.ErrorIs(t, err, bots.ErrNotFound)
	})
}

// TestRiskRefusalKeepsRunning: an order refused by a risk limit is
// recorded as the bot's last error and the bot keeps running.
func TestRiskRefusalKeepsRunning(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), envOpts{})
	e.run()
	ctx := ctxT(t)
	alice, acct := e.user("alice", "pro")
	e.trader.setPlaceErr(fmt.Errorf("%w: max open trades 1 reached", bots.ErrRiskLimit))
	b, err := e.svc.Create(ctx, alice, eager(acct))
	require.NoError(t, err)
	_, err = e.svc.Start(ctx, alice, b.ID)
	require.NoError(t, err)
	e.events.waitN(t, 3, "refused orders", ordered(b.ID))
	require.Eventually(t, func() bool {
		got, err := e.svc.Get(ctx, alice, b.ID)
		return err == nil && got.Status == bots.StatusRunning && got.LastError != "" && got.LastSignal == "call"
	}, hangGuard, 20*time.Millisecond)
	got, err := e.svc.Get(ctx, alice, b.ID)
	require.NoError(t, err)
	assert.Contains(t, got.LastError, "max open trades")
}

// TestPauseOnDisconnect: a bot whose account disconnects pauses with a
// reason at its next order; Start refuses until the account is back, then
// resumes it.
func TestPauseOnDisconnect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		e.run()
		ctx := ctxT(t)
		alice, acct := e.user("alice", "pro")
		b, err := e.svc.Create(ctx, alice, eager(acct))
		require.NoError(t, err)
		_, err = e.svc.Start(ctx, alice, b.ID)
		require.NoError(t, err)
		e.events.waitN(t, 1, "an order", ordered(b.ID))

		require.NoError(t, e.acc.Disconnect(ctx, alice, acct))
		got := e.waitStatus(alice, b.ID, bots.StatusPaused)
		assert.Equal(t, bots.ReasonAccountNotConnected, got.StatusReason)
		assert.NotEmpty(t, got.LastError)

		_, err = e.svc.Start(ctx, alice, b.ID)
		require.ErrorIs(t, err, bots.ErrAccountNotConnected)

		// Reconnecting the same login revives the account; Start resumes.
		_, err = e.acc.Connect(ctx, alice, accountsConnect("alice"))
		require.NoError(t, err)
		before := e.events.count(ordered(b.ID))
		got, err = e.svc.Start(ctx, alice, b.ID)
		require.NoError(t, err)
		assert.Equal(t, bots.StatusRunning, got.Status)
		assert.Empty(t, got.StatusReason)
		e.events.waitN(t, before+1, "an order after resume", ordered(b.ID))

		// PauseAccount pauses at once, without waiting for a signal.
		n, err := e.svc.PauseAccount(ctx, alice, acct)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		got, err = e.svc.Get(ctx, alice, b.ID)
		require.NoError(t, err)
		assert.Equal(t, bots.StatusPaused, got.Status)
	})
}

// TestPauseOnLapsedSubscription: when a pro subscription is canceled the
// free plan's one bot keeps running and the others pause with a reason.
func TestPauseOnLapsedSubscription(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		e.run()
		ctx := ctxT(t)
		alice, acct := e.user("alice", "pro")
		first, err := e.svc.Create(ctx, alice, eager(acct))
		require.NoError(t, err)
		second, err := e.svc.Create(ctx, alice, eager(acct))
		require.NoError(t, err)
		for _, b := range []bots.Bot{first, second} {
			_, err = e.svc.Start(ctx, alice, b.ID)
			require.NoError(t, err)
		}
		e.events.waitN(t, 1, "an order of the second bot", ordered(second.ID))

		_, err = e.bill.Grant(ctx, alice, billing.Grant{PlanID: "pro", Status: billing.StatusCanceled})
		require.NoError(t, err)
		got := e.waitStatus(alice, second.ID, bots.StatusPaused)
		assert.Equal(t, bots.ReasonNotEntitled, got.StatusReason)
		assert.Contains(t, got.LastError, "plan allows 1")

		// The first bot (the plan's one) keeps trading.
		before := e.events.count(ordered(first.ID))
		e.events.waitN(t, before+2, "orders of the first bot", ordered(first.ID))
		got, err = e.svc.Get(ctx, alice, first.ID)
		require.NoError(t, err)
		assert.Equal(t, bots.StatusRunning, got.Status)

		_, err = e.svc.Start(ctx, alice, second.ID)
		require.ErrorIs(t, err, bots.ErrNotEntitled)
		// Renewing lets it start again.
		_, err = e.bill.Grant(ctx, alice, billing.Grant{PlanID: "pro"})
		require.NoError(t, err)
		_, err = e.svc.Start(ctx, alice, second.ID)
		require.NoError(t, err)
	})
}

// TestResumeAfterRestart: running bots run again under a new service on
// the same database (a host restart), paused and stopped ones do not.
func TestResumeAfterRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		stop := e.run()
		ctx := ctxT(t)
		alice, acct := e.user("alice", "pro")
		running, err := e.svc.Create(ctx, alice, eager(acct))
		require.NoError(t, err)
		stopped, err := e.svc.Create(ctx, alice, eager(acct))
		require.NoError(t, err)
		_, err = e.svc.Start(ctx, alice, running.ID)
		require.NoError(t, err)
		e.events.waitN(t, 1, "an order", ordered(running.ID))
		stop()

		e.newService()
		before := e.events.count(ordered(running.ID))
		e.run()
		e.events.waitN(t, before+2, "orders after the restart", ordered(running.ID))
		got, err := e.svc.Get(ctx, alice, running.ID)
		require.NoError(t, err)
		assert.Equal(t, bots.StatusRunning, got.Status)
		assert.Empty(t, e.trader.ordersOf(stopped.ID))
	})
}

// TestStrategyPluginRestart: killing the strategy plugin under running
// bots costs at most a candle; the manager re-creates the instances and
// the bots go on trading.
func TestStrategyPluginRestart(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), envOpts{})
	e.run()
	ctx := ctxT(t)
	alice, acct := e.user("alice", "pro")
	var ids []int64
	for i := range 3 {
		sp := eager(acct)
		sp.Params["period"] = fmt.Sprint(10 + i) // three groups
		b, err := e.svc.Create(ctx, alice, sp)
		require.NoError(t, err)
		_, err = e.svc.Start(ctx, alice, b.ID)
		require.NoError(t, err)
		ids = append(ids, b.ID)
	}
	for _, id := range ids {
		e.events.waitN(t, 1, "an order", ordered(id))
	}
	pid := 0
	for _, s := range e.pm.Status() {
		if s.Kind == plugin.KindStrategy && s.Name == "rsi" && s.State == pluginmgr.StateRunning {
			pid = s.PID
		}
	}
	require.NotZero(t, pid)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	for _, id := range ids {
		before := e.events.count(ordered(id))
		e.events.waitN(t, before+2, "orders after the plugin restart", ordered(id))
	}
	for _, id := range ids {
		got, err := e.svc.Get(ctx, alice, id)
		require.NoError(t, err)
		assert.Equal(t, bots.StatusRunning, got.Status)
	}
}

// TestProgressionStakes: the runner stakes what the progression says for
// the bot's settled trades.
func TestProgressionStakes(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), envOpts{})
	e.run()
	ctx := ctxT(t)
	alice, acct := e.user("alice", "pro")
	sp := eager(acct)
	sp.Progression = bots.Progression{Kind: bots.ProgressionMartingale, Multiplier: decimal.NewFromInt(2), MaxSteps: 3, MaxStake: decimal.NewFromInt(1000)}
	b, err := e.svc.Create(ctx, alice, sp)
	require.NoError(t, err)
	loss := bots.SettledTrade{Status: bots.OutcomeLost, Amount: decimal.NewFromInt(10), Profit: decimal.NewFromInt(-10)}
	e.trader.setSettled(b.ID, []bots.SettledTrade{loss, loss})
	_, err = e.svc.Start(ctx, alice, b.ID)
	require.NoError(t, err)
	evs := e.events.waitN(t, 1, "an order", ordered(b.ID))
	assert.Equal(t, "40", evs[0].Stake.String(), "10 × 2² after two losses")
	assert.Equal(t, "40", e.trader.ordersOf(b.ID)[0].Amount.String())
}

func accountsConnect(name string) accountsRequest {
	return accountsRequest{Broker: "paper", Credentials: map[string]string{"username": name, "password": "pw-" + name}}
}

// The accounts of running bots, for the host to re-open first at start.
func TestRunningAccounts(t *testing.T) {
	st := storetest.OpenSQLite(t)
	e := newEnv(t, st, envOpts{})
	e.run()
	ctx := ctxT(t)
	alice, aliceAcct := e.user("alice", "pro")
	bob, bobAcct := e.user("bob", "")
	_, idle := e.user("carol", "")
	for _, u := range []struct{ user, acct int64 }{{alice, aliceAcct}, {alice, aliceAcct}, {bob, bobAcct}} {
		b, err := e.svc.Create(ctx, u.user, rsiSpec(u.acct))
		require.NoError(t, err)
		_, err = e.svc.Start(ctx, u.user, b.ID)
		require.NoError(t, err)
	}
	ids, err := e.svc.RunningAccounts(ctx)
	require.NoError(t, err)
	assert.Equal(t, []int64{aliceAcct, bobAcct}, ids)
	assert.NotContains(t, ids, idle)
}
