package accounts_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/host/internal/trading"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// tradeAnything is the trading service's entitlement policy in these
// tests: every trade is allowed.
type tradeAnything struct{}

func (tradeAnything) CheckTrade(context.Context, int64, string, broker.Mode) error { return nil }

// disconnects records the calls of a disconnect hook.
type disconnects struct {
	mu    sync.Mutex
	calls [][2]int64 // user, account
}

func (d *disconnects) hook(_ context.Context, userID, accountID int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, [2]int64{userID, accountID})
	return nil
}

func (d *disconnects) seen() [][2]int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([][2]int64(nil), d.calls...)
}

// An account with a trade the broker has still to resolve cannot be
// disconnected, alone or with the rest of its broker's accounts (409
// account_busy in the API): the trade would have no session to settle
// through. Disconnecting an account without one succeeds and tells the
// services that hold state for it (trading's remembered checks, bots) at
// once. The trade counter is the real trading service on the real store.
func TestDisconnectRefusedWhileTradesAreOpen(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st, envOpts{})
		trader := trading.NewService(st, e.m, tradeAnything{}, trading.Options{}, nil)
		var hooked disconnects
		e.m.SetDependents(accounts.Dependents{OpenTrades: trader, OnDisconnect: []accounts.DisconnectHook{hooked.hook}})
		alice := addUser(t, st, "alice@example.com")
		bob := addUser(t, st, "bob@example.com")
		busy, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("alice-one", "pw-alice-1")})
		require.NoError(t, err)
		idle, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("alice-two", "pw-alice-2")})
		require.NoError(t, err)

		// Nothing settles it: the trading service's Run is not running,
		// so the trade stays open for the whole test.
		tr, err := trader.Place(ctx, trading.PlaceRequest{
			UserID: alice, AccountID: busy.ID, Broker: "paper", Symbol: "EURUSD-OTC", Direction: market.Call,
			Amount: decimal.NewFromInt(10), Expiration: time.Minute,
		})
		require.NoError(t, err)
		require.Equal(t, trading.StatusOpen, tr.Status)

		err = e.m.Disconnect(ctx, alice, busy.ID)
		require.ErrorIs(t, err, accounts.ErrBusy)
		assert.Contains(t, err.Error(), "1 trade(s) on this account are still open")
		n, err := e.m.DisconnectBroker(ctx, alice, "paper")
		require.ErrorIs(t, err, accounts.ErrBusy)
		assert.Zero(t, n)
		for _, id := range []int64{busy.ID, idle.ID} {
			got, err := e.m.Get(ctx, alice, id)
			require.NoError(t, err)
			assert.Equal(t, accounts.StatusConnected, got.Status, "a refused disconnect disconnects nothing (account %d)", id)
		}
		// Another user learns nothing about the account, its trades
		// included.
		require.ErrorIs(t, e.m.Disconnect(ctx, bob, busy.ID), accounts.ErrNotFound)
		assert.Empty(t, hooked.seen(), "no hook runs for a refused disconnect")

		require.NoError(t, e.m.Disconnect(ctx, alice, idle.ID))
		got, err := e.m.Get(ctx, alice, idle.ID)
		require.NoError(t, err)
		assert.Equal(t, accounts.StatusDisconnected, got.Status)
		assert.Equal(t, [][2]int64{{alice, idle.ID}}, hooked.seen(), "the hooks learn of the disconnect before it returns")
		_, _, err = e.m.Session(ctx, alice, busy.ID)
		require.NoError(t, err, "the busy account keeps its session")
	})
}

// DisconnectBroker runs the hooks for every account of the broker, and a
// hook's failure reaches the caller while the accounts stay disconnected.
func TestDisconnectBrokerRunsHooks(t *testing.T) {
	t.Parallel()
	st := storetest.OpenSQLite(t)
	ctx := ctxT(t)
	e := newEnv(t, st, envOpts{})
	trader := trading.NewService(st, e.m, tradeAnything{}, trading.Options{}, nil)
	var hooked disconnects
	e.m.SetDependents(accounts.Dependents{OpenTrades: trader, OnDisconnect: []accounts.DisconnectHook{
		hooked.hook,
		func(context.Context, int64, int64) error { return context.DeadlineExceeded },
	}})
	alice := addUser(t, st, "alice@example.com")
	one, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("alice-one", "pw-alice-1")})
	require.NoError(t, err)
	two, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("alice-two", "pw-alice-2")})
	require.NoError(t, err)

	n, err := e.m.DisconnectBroker(ctx, alice, "paper")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 2, n)
	assert.ElementsMatch(t, [][2]int64{{alice, one.ID}, {alice, two.ID}}, hooked.seen())
	list, err := e.m.List(ctx, alice)
	require.NoError(t, err)
	for _, a := range list {
		assert.Equal(t, accounts.StatusDisconnected, a.Status)
	}
}
