package accounts_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/broker"
)

// The whole life of an account: connect (practice by default), list and
// get with the live balance, trade through the session, disconnect, and
// reconnect onto the same account.
func TestConnectListGetDisconnect(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st, envOpts{})
		alice := addUser(t, st, "alice@example.com")

		a, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("alice-paper", "pw-alice-1")})
		require.NoError(t, err)
		assert.Positive(t, a.ID)
		assert.Equal(t, alice, a.UserID)
		assert.Equal(t, "paper", a.Broker)
		assert.Equal(t, broker.Practice, a.Mode, "practice is the default")
		assert.Equal(t, "alice-paper", a.Login)
		assert.Equal(t, accounts.StatusConnected, a.Status)
		assert.True(t, a.BalanceKnown)
		assert.True(t, a.Balance.Equal(decimal.NewFromInt(10_000)), "balance %s", a.Balance)
		assert.Equal(t, "USD", a.Currency)
		assert.False(t, a.CreatedAt.IsZero())

		row, ok := storedRow(t, st, a.ID)
		require.True(t, ok)
		assert.Equal(t, "connected", row.Status)
		assert.True(t, strings.HasPrefix(row.Credentials.String, "v1.k1."), "sealed with the active key")
		assert.Equal(t, "k1", row.KeyID.String)
		assert.NotContains(t, row.Credentials.String, "pw-alice-1")
		creds, err := openStored(t, e.keys, row, a.ID)
		require.NoError(t, err)
		assert.Equal(t, paperCreds("alice-paper", "pw-alice-1"), creds)

		list, err := e.m.List(ctx, alice)
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, accounts.StatusConnected, list[0].Status)
		assert.True(t, list[0].BalanceKnown)
		assert.Equal(t, "USD", list[0].Currency)

		got, err := e.m.Get(ctx, alice, a.ID)
		require.NoError(t, err)
		assert.Equal(t, a.ID, got.ID)
		assert.True(t, got.BalanceKnown)

		sess, sa, err := e.m.Session(ctx, alice, a.ID)
		require.NoError(t, err)
		assert.Equal(t, a.ID, sa.ID)
		bal, err := sess.Balance(ctx)
		require.NoError(t, err)
		assert.True(t, bal.Amount.Equal(decimal.NewFromInt(10_000)))
		require.NoError(t, sess.Close(ctx), "a trader's Close does not end the account's session")
		_, err = sess.Balance(ctx)
		require.NoError(t, err)

		require.NoError(t, e.m.Disconnect(ctx, alice, a.ID))
		row, _ = storedRow(t, st, a.ID)
		assert.Equal(t, "disconnected", row.Status)
		assert.False(t, row.Credentials.Valid, "credentials are erased")
		assert.False(t, row.KeyID.Valid)
		_, _, err = e.m.Session(ctx, alice, a.ID)
		assert.ErrorIs(t, err, broker.ErrSessionNotFound)
		_, err = sess.Balance(ctx)
		assert.Error(t, err, "the plugin session is closed")
		got, err = e.m.Get(ctx, alice, a.ID)
		require.NoError(t, err)
		assert.Equal(t, accounts.StatusDisconnected, got.Status)
		assert.False(t, got.BalanceKnown)
		require.NoError(t, e.m.Disconnect(ctx, alice, a.ID), "disconnecting again succeeds")

		// Connecting the same login again reuses the account.
		b, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Mode: broker.Practice, Credentials: paperCreds("alice-paper", "pw-alice-1")})
		require.NoError(t, err)
		assert.Equal(t, a.ID, b.ID)
		assert.Equal(t, accounts.StatusConnected, b.Status)

		// A second login is a second account; DisconnectBroker ends both.
		c, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("alice-two", "pw-alice-2")})
		require.NoError(t, err)
		assert.NotEqual(t, a.ID, c.ID)
		n, err := e.m.DisconnectBroker(ctx, alice, "paper")
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		list, err = e.m.List(ctx, alice)
		require.NoError(t, err)
		require.Len(t, list, 2)
		for _, a := range list {
			assert.Equal(t, accounts.StatusDisconnected, a.Status)
		}
	})
}

// Another user's account does not exist for every method.
func TestOtherUsersAccountIsNotFound(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st, envOpts{})
		alice := addUser(t, st, "alice@example.com")
		bob := addUser(t, st, "bob@example.com")
		a, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("alice-paper", "pw-alice")})
		require.NoError(t, err)

		_, err = e.m.Get(ctx, bob, a.ID)
		assert.ErrorIs(t, err, accounts.ErrNotFound)
		_, _, err = e.m.Session(ctx, bob, a.ID)
		assert.ErrorIs(t, err, accounts.ErrNotFound)
		assert.ErrorIs(t, e.m.Disconnect(ctx, bob, a.ID), accounts.ErrNotFound)
		list, err := e.m.List(ctx, bob)
		require.NoError(t, err)
		assert.Empty(t, list)
		n, err := e.m.DisconnectBroker(ctx, bob, "paper")
		require.NoError(t, err)
		assert.Zero(t, n)
		for _, id := range []int64{0, -1, a.ID + 1000} {
			_, err = e.m.Get(ctx, alice, id)
			assert.ErrorIs(t, err, accounts.ErrNotFound, "id %d", id)
		}

		// Bob connecting the same paper login gets his own account; it
		// does not take over alice's.
		b, err := e.m.Connect(ctx, bob, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("alice-paper", "pw-alice")})
		require.NoError(t, err)
		assert.NotEqual(t, a.ID, b.ID)
		require.NoError(t, e.m.Disconnect(ctx, bob, b.ID))

		got, err := e.m.Get(ctx, alice, a.ID)
		require.NoError(t, err)
		assert.Equal(t, accounts.StatusConnected, got.Status, "alice's account is untouched")
		assert.True(t, got.BalanceKnown)
	})
}

// Practice is the default; real money needs the request to say so and
// the plan to allow it; the plan must include the broker; requests are
// validated before anything is stored or sent.
func TestModesEntitlementAndValidation(t *testing.T) {
	t.Parallel()
	st := storetest.OpenSQLite(t)
	ctx := ctxT(t)
	e := newEnv(t, st, envOpts{})
	alice := addUser(t, st, "alice@example.com")
	creds := paperCreds("alice-paper", "pw-alice")

	_, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Mode: broker.Real, Credentials: creds})
	assert.ErrorIs(t, err, accounts.ErrNotEntitled, "real money needs an entitlement")

	noPaper := newEnv(t, st, envOpts{policy: policy{brokers: map[string]bool{"iqoption": true}}})
	_, err = noPaper.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: creds})
	assert.ErrorIs(t, err, accounts.ErrNotEntitled, "the plan must include the broker")

	realPlan := newEnv(t, st, envOpts{policy: policy{brokers: map[string]bool{"paper": true}, real: true}})
	_, err = realPlan.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Mode: broker.Real, Credentials: creds})
	assert.ErrorIs(t, err, broker.ErrUnsupported, "paper has no real accounts")
	assert.Zero(t, countRows(t, st), "nothing stored for refused requests")

	long := strings.Repeat("x", 1025)
	many := map[string]string{}
	for i := range 17 {
		many[strings.Repeat("k", i+1)] = "v"
	}
	cases := []struct {
		name string
		req  accounts.ConnectRequest
		want error
	}{
		{"no broker", accounts.ConnectRequest{Credentials: creds}, accounts.ErrInvalidRequest},
		{"unknown broker", accounts.ConnectRequest{Broker: "nosuch", Credentials: creds}, accounts.ErrUnknownBroker},
		{"bad broker name", accounts.ConnectRequest{Broker: "../paper", Credentials: creds}, accounts.ErrUnknownBroker},
		{"invalid mode", accounts.ConnectRequest{Broker: "paper", Mode: 7, Credentials: creds}, accounts.ErrInvalidRequest},
		{"no credentials", accounts.ConnectRequest{Broker: "paper"}, accounts.ErrInvalidRequest},
		{"too many", accounts.ConnectRequest{Broker: "paper", Credentials: many}, accounts.ErrInvalidRequest},
		{"long value", accounts.ConnectRequest{Broker: "paper", Credentials: map[string]string{"username": "alice", "password": long}}, accounts.ErrInvalidRequest},
		{"long key", accounts.ConnectRequest{Broker: "paper", Credentials: map[string]string{strings.Repeat("k", 65): "v"}}, accounts.ErrInvalidRequest},
		{"control char", accounts.ConnectRequest{Broker: "paper", Credentials: map[string]string{"username": "alice", "password": "a\nb"}}, accounts.ErrInvalidRequest},
		{"invalid utf8", accounts.ConnectRequest{Broker: "paper", Credentials: map[string]string{"username": "alice", "password": "\xff\xfe"}}, accounts.ErrInvalidRequest},
		{"undeclared field", accounts.ConnectRequest{Broker: "paper", Credentials: map[string]string{"username": "alice", "password": "pw", "api_key": "x"}}, accounts.ErrInvalidRequest},
		{"missing password", accounts.ConnectRequest{Broker: "paper", Credentials: map[string]string{"username": "alice"}}, accounts.ErrInvalidRequest},
		{"empty password", accounts.ConnectRequest{Broker: "paper", Credentials: map[string]string{"username": "alice", "password": ""}}, accounts.ErrInvalidRequest},
		{"code alone without a pending account", accounts.ConnectRequest{Broker: "paper", Credentials: map[string]string{"code": "1"}}, accounts.ErrInvalidRequest},
	}
	for _, tc := range cases {
		_, err := e.m.Connect(ctx, alice, tc.req)
		assert.ErrorIs(t, err, tc.want, tc.name)
	}
	_, err = e.m.Connect(ctx, 0, accounts.ConnectRequest{Broker: "paper", Credentials: creds})
	assert.ErrorIs(t, err, accounts.ErrInvalidRequest, "no user")
	assert.Zero(t, countRows(t, st), "nothing stored for invalid requests")
}

// A failed login leaves no new account behind, and does not damage a
// reused one.
func TestFailedConnect(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st, envOpts{})
		alice := addUser(t, st, "alice@example.com")
		bob := addUser(t, st, "bob@example.com")
		a, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("shared-paper", "right-password")})
		require.NoError(t, err)

		// Bob guesses the password of the paper account alice created.
		_, err = e.m.Connect(ctx, bob, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("shared-paper", "wrong-password")})
		require.ErrorIs(t, err, broker.ErrAuthFailed)
		assert.NotContains(t, err.Error(), "wrong-password")
		assert.Equal(t, 1, countRows(t, st), "the failed account row is deleted")

		// Alice re-connecting with a wrong password keeps her session and
		// her stored credentials.
		_, err = e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("shared-paper", "typo-password")})
		require.ErrorIs(t, err, broker.ErrAuthFailed)
		row, ok := storedRow(t, st, a.ID)
		require.True(t, ok)
		assert.Equal(t, "connected", row.Status)
		creds, err := openStored(t, e.keys, row, a.ID)
		require.NoError(t, err)
		assert.Equal(t, "right-password", creds["password"])
		got, err := e.m.Get(ctx, alice, a.ID)
		require.NoError(t, err)
		assert.Equal(t, accounts.StatusConnected, got.Status)
		assert.True(t, got.BalanceKnown)

		// A disconnected account that fails to reconnect stays
		// disconnected, without credentials.
		require.NoError(t, e.m.Disconnect(ctx, alice, a.ID))
		_, err = e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("shared-paper", "typo-password")})
		require.ErrorIs(t, err, broker.ErrAuthFailed)
		row, _ = storedRow(t, st, a.ID)
		assert.Equal(t, "disconnected", row.Status)
		assert.False(t, row.Credentials.Valid)
	})
}

// secondFactor is errors.As for *accounts.SecondFactorError.
func secondFactor(err error) (*accounts.SecondFactorError, bool) {
	var sf *accounts.SecondFactorError
	ok := errors.As(err, &sf)
	return sf, ok
}

// Concurrent connects of one login by one user end as one account, and
// concurrent connects by different users do not wait for each other's
// rows.
func TestConcurrentConnectsOfOneLogin(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st, envOpts{})
		alice := addUser(t, st, "alice@example.com")
		bob := addUser(t, st, "bob@example.com")
		// Create the paper account once, so concurrent first logins do
		// not race on its password.
		first, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("shared", "pw-shared")})
		require.NoError(t, err)
		require.NoError(t, e.m.Disconnect(ctx, alice, first.ID))

		const n = 4
		ids := make(chan int64, 2*n)
		var wg sync.WaitGroup
		for _, user := range []int64{alice, bob} {
			for range n {
				wg.Go(func() {
					a, err := e.m.Connect(ctx, user, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("shared", "pw-shared")})
					if assert.NoError(t, err) {
						ids <- a.ID
					}
				})
			}
		}
		wg.Wait()
		close(ids)
		distinct := map[int64]bool{}
		for id := range ids {
			distinct[id] = true
		}
		assert.Len(t, distinct, 2, "one account per user")
		assert.True(t, distinct[first.ID], "alice's reconnects reuse her account")
		assert.Equal(t, 2, countRows(t, st))
	})
}
