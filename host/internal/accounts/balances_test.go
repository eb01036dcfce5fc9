package accounts_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// watcher runs m.WatchBalances for the users in watched until the test
// ends; rounds receives a value each time a round asks who is watched.
type watcher struct {
	rounds chan struct{}
	stop   func()
}

func startWatcher(t *testing.T, m *accounts.Manager, interval time.Duration, watched ...int64) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(ctxT(t))
	w := &watcher{rounds: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() {
		done <- m.WatchBalances(ctx, func() []int64 {
			select {
			case w.rounds <- struct{}{}:
			default:
			}
			return slices.Clone(watched)
		}, interval)
	}()
	stopped := false
	w.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		require.NoError(t, <-done)
	}
	t.Cleanup(w.stop)
	return w
}

// waitRounds returns once n more rounds have asked who is watched, so at
// least n-1 complete rounds have run in between (a round ends before the
// next one asks).
func (w *watcher) waitRounds(t *testing.T, n int) {
	t.Helper()
	ctx := ctxT(t)
	for range n {
		select {
		case <-w.rounds:
		case <-ctx.Done():
			t.Fatal("the balance watcher runs no rounds")
		}
	}
}

func order(id string, side market.Side, stake int64, expiry time.Duration) broker.OrderRequest {
	return broker.OrderRequest{ClientOrderID: id, Symbol: "EURUSD-OTC", Side: side, Amount: decimal.NewFromInt(stake), Expiry: expiry}
}

// eventuallyStates waits until account id's events are want.
func eventuallyStates(t *testing.T, e *env, userID, id int64, want []string, nudge func()) {
	t.Helper()
	eventually(t, "the account events", func() error {
		if nudge != nil {
			nudge()
		}
		if got := states(t, e, userID, id); !slices.Equal(got, want) {
			return fmt.Errorf("events %q, want %q", got, want)
		}
		return nil
	})
}

// A trade placed moves the balance; BalanceChanged makes the watcher
// record it at once (its rounds are an hour apart here), once however
// many nudges come, and only for users who watch a stream.
func TestBalanceChangedRecordsTheNewBalance(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st, envOpts{})
		alice := addUser(t, st, "alice@example.com")
		bob := addUser(t, st, "bob@example.com")
		a, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("alice-paper", "pw-alice")})
		require.NoError(t, err)
		b, err := e.m.Connect(ctx, bob, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("bob-paper", "pw-bob")})
		require.NoError(t, err)
		startWatcher(t, e.m, time.Hour, alice)

		aSess, _, err := e.m.Session(ctx, alice, a.ID)
		require.NoError(t, err)
		bSess, _, err := e.m.Session(ctx, bob, b.ID)
		require.NoError(t, err)
		// Five-minute trades: none settles while the test runs.
		_, err = aSess.PlaceOrder(ctx, order("a1", market.Call, 10, 5*time.Minute))
		require.NoError(t, err)
		eventuallyStates(t, e, alice, a.ID, []string{"connecting", connected10k, "connected 9990.00 USD"},
			func() { e.m.BalanceChanged(alice, a.ID) })
		requireLastIsGet(t, e, alice, a.ID)

		// The watcher runs now (it recorded alice's change): bob, who
		// watches no stream, is nudged before alice's next change.
		_, err = bSess.PlaceOrder(ctx, order("b1", market.Put, 25, 5*time.Minute))
		require.NoError(t, err)
		e.m.BalanceChanged(bob, b.ID)
		_, err = aSess.PlaceOrder(ctx, order("a2", market.Put, 15, 5*time.Minute))
		require.NoError(t, err)
		eventuallyStates(t, e, alice, a.ID, []string{"connecting", connected10k, "connected 9990.00 USD", "connected 9975.00 USD"},
			func() { e.m.BalanceChanged(alice, a.ID) })
		// bob's nudge came first, so the watcher has dealt with it by now.
		assert.Equal(t, []string{"connecting", connected10k}, states(t, e, bob, b.ID))
	})
}

// Without nudges the watcher's rounds find the change; rounds that find
// the balance a connect already recorded add nothing. Another host, which
// has recorded no balance of the account, records it once.
func TestWatchBalancesRounds(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st, envOpts{})
		alice := addUser(t, st, "alice@example.com")
		a, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("alice-paper", "pw-alice")})
		require.NoError(t, err)
		w := startWatcher(t, e.m, 5*time.Millisecond, alice)
		w.waitRounds(t, 3)
		require.Equal(t, []string{"connecting", connected10k}, states(t, e, alice, a.ID))

		sess, _, err := e.m.Session(ctx, alice, a.ID)
		require.NoError(t, err)
		_, err = sess.PlaceOrder(ctx, order("a1", market.Call, 40, 5*time.Minute))
		require.NoError(t, err)
		want := []string{"connecting", connected10k, "connected 9960.00 USD"}
		eventuallyStates(t, e, alice, a.ID, want, nil)
		w.waitRounds(t, 3)
		require.Equal(t, want, states(t, e, alice, a.ID))
		w.stop()

		// A second manager on the same store and plugins, as another host.
		other := accounts.NewManager(st, e.keys, e.plugins, practicePlan(), nil)
		other.SetEvents(e.ev)
		w2 := startWatcher(t, other, 5*time.Millisecond, alice)
		want = append(want, "connected 9960.00 USD")
		eventuallyStates(t, e, alice, a.ID, want, nil)
		w2.waitRounds(t, 3)
		assert.Equal(t, want, states(t, e, alice, a.ID))

		require.ErrorIs(t, other.WatchBalances(ctx, func() []int64 { return nil }, time.Hour), accounts.ErrWatching)
	})
}

// Trades that settle at the broker change the balance again; a nudge
// after the settlement records it, so the account's last event holds the
// balance the broker has now.
func TestBalanceAfterSettlement(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		// 600 market seconds a second: one-minute trades settle in 0.1 s.
		e := newEnv(t, st, envOpts{timeScale: "600"})
		alice := addUser(t, st, "alice@example.com")
		a, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("alice-paper", "pw-alice")})
		require.NoError(t, err)
		startWatcher(t, e.m, time.Hour, alice)
		sess, _, err := e.m.Session(ctx, alice, a.ID)
		require.NoError(t, err)

		// A CALL and a PUT on the same price: whatever the market does,
		// the balance after both settle is above the balance after placing
		// them (one wins, or both draw and return their stakes).
		res, err := broker.PlaceOrders(ctx, sess, []broker.OrderRequest{
			order("call", market.Call, 10, time.Minute), order("put", market.Put, 10, time.Minute),
		})
		require.NoError(t, err)
		for _, r := range res {
			require.NoError(t, r.Err)
		}
		e.m.BalanceChanged(alice, a.ID)
		for _, id := range []string{"call", "put"} {
			eventually(t, "the trade settles", func() error {
				o, err := sess.GetOrder(ctx, id)
				if err != nil {
					return err
				}
				if !o.State.Final() {
					return fmt.Errorf("order %s is %s", id, o.State)
				}
				return nil
			})
		}
		live, err := sess.Balance(ctx)
		require.NoError(t, err)
		require.True(t, live.Amount.GreaterThan(decimal.NewFromInt(10_000-20)), "balance %s", live.Amount)
		want := "connected " + live.Amount.StringFixed(2) + " USD"
		eventually(t, "the settled balance is recorded", func() error {
			e.m.BalanceChanged(alice, a.ID)
			got := states(t, e, alice, a.ID)
			if got[len(got)-1] != want {
				return fmt.Errorf("events %q, want the last %q", got, want)
			}
			return nil
		})
		requireLastIsGet(t, e, alice, a.ID)
	})
}
