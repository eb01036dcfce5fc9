package accounts_test

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
)

// The second-factor flow end to end with the paper broker's 2FA mode:
// second_factor_required, then the repeat with the code connects the same
// account, and the code is never stored.
func TestSecondFactorFlow(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st, envOpts{twoFA: true})
		alice := addUser(t, st, "alice@example.com")
		creds := paperCreds("alice-paper", "pw-alice")

		_, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: creds})
		require.ErrorIs(t, err, broker.ErrSecondFactorRequired)
		sf, ok := secondFactor(err)
		require.True(t, ok, "a *SecondFactorError: %v", err)
		require.Positive(t, sf.AccountID)
		got, err := e.m.Get(ctx, alice, sf.AccountID)
		require.NoError(t, err)
		assert.Equal(t, accounts.StatusSecondFactorRequired, got.Status)
		assert.Equal(t, "awaiting_code", got.StatusReason)
		assert.Equal(t, "alice-paper", got.Login)
		_, _, err = e.m.Session(ctx, alice, sf.AccountID)
		assert.ErrorIs(t, err, broker.ErrSessionNotFound)

		// Asking again without a code keeps the same pending account.
		_, err = e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: creds})
		sf2, ok := secondFactor(err)
		require.True(t, ok, "%v", err)
		assert.Equal(t, sf.AccountID, sf2.AccountID)

		withCode := paperCreds("alice-paper", "pw-alice")
		withCode["code"] = secondFactorCode
		a, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: withCode})
		require.NoError(t, err)
		assert.Equal(t, sf.AccountID, a.ID, "the repeat continues on the pending account")
		assert.Equal(t, accounts.StatusConnected, a.Status)
		assert.True(t, a.BalanceKnown)
		row, _ := storedRow(t, st, a.ID)
		stored, err := openStored(t, e.keys, row, a.ID)
		require.NoError(t, err)
		assert.Equal(t, paperCreds("alice-paper", "pw-alice"), stored, "the one-time code is not stored")
		list, err := e.m.List(ctx, alice)
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, accounts.StatusConnected, list[0].Status)

		// A repeat may carry the code alone.
		bob := addUser(t, st, "bob@example.com")
		_, err = e.m.Connect(ctx, bob, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("bob-paper", "pw-bob")})
		sf, ok = secondFactor(err)
		require.True(t, ok, "%v", err)
		b, err := e.m.Connect(ctx, bob, accounts.ConnectRequest{Broker: "paper", Credentials: map[string]string{"code": secondFactorCode}})
		require.NoError(t, err)
		assert.Equal(t, sf.AccountID, b.ID)
		assert.Equal(t, "bob-paper", b.Login)

		// A wrong code fails the pending account, which is not left behind.
		carol := addUser(t, st, "carol@example.com")
		_, err = e.m.Connect(ctx, carol, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("carol-paper", "pw-carol")})
		sf, ok = secondFactor(err)
		require.True(t, ok, "%v", err)
		wrong := paperCreds("carol-paper", "pw-carol")
		wrong["code"] = "000001"
		_, err = e.m.Connect(ctx, carol, accounts.ConnectRequest{Broker: "paper", Credentials: wrong})
		require.ErrorIs(t, err, broker.ErrAuthFailed)
		_, ok = storedRow(t, st, sf.AccountID)
		assert.False(t, ok, "the failed pending account is deleted")
	})
}

// The plugin manager re-opens every account session after the plugin
// process dies, from the credentials in the database.
func TestSessionsReopenAfterPluginCrash(t *testing.T) {
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

		pid := e.paperPID()
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
		eventually(t, "the plugin restarts", func() error {
			for _, s := range e.plugins.Status() {
				if s.Kind == plugin.KindBroker && s.PID != pid && s.State == pluginmgr.StateRunning {
					return nil
				}
			}
			return fmt.Errorf("status %+v", e.plugins.Status())
		})
		for _, acc := range []struct{ user, id int64 }{{alice, a.ID}, {bob, b.ID}} {
			sess, _, err := e.m.Session(ctx, acc.user, acc.id)
			require.NoError(t, err)
			eventually(t, "the session is re-opened", func() error {
				_, err := sess.Balance(ctx)
				return err
			})
		}
		list, err := e.m.List(ctx, alice)
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, accounts.StatusConnected, list[0].Status)
		assert.True(t, list[0].BalanceKnown)
	})
}

// After a host restart ResumeAll re-opens every connected account (and
// only those), and a disconnected account stays closed.
func TestResumeAllAfterHostRestart(t *testing.T) {
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
		gone, err := e.m.Connect(ctx, bob, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("bob-old", "pw-bob-old")})
		require.NoError(t, err)
		require.NoError(t, e.m.Disconnect(ctx, bob, gone.ID))

		e.restart(nil)
		// Before ResumeAll the new plugin process has no sessions.
		got, err := e.m.Get(ctx, alice, a.ID)
		require.NoError(t, err)
		assert.Equal(t, accounts.StatusError, got.Status, "the live check sees no session yet")

		resumed, failed, err := e.m.ResumeAll(ctx, accounts.ResumeOptions{})
		require.NoError(t, err)
		assert.Equal(t, 2, resumed)
		assert.Zero(t, failed)
		for _, acc := range []struct{ user, id int64 }{{alice, a.ID}, {bob, b.ID}} {
			got, err := e.m.Get(ctx, acc.user, acc.id)
			require.NoError(t, err)
			assert.Equal(t, accounts.StatusConnected, got.Status)
			assert.True(t, got.BalanceKnown)
		}
		got, err = e.m.Get(ctx, bob, gone.ID)
		require.NoError(t, err)
		assert.Equal(t, accounts.StatusDisconnected, got.Status)
	})
}

// A broker that wants a second factor again at resume leaves the account
// waiting for the user, not in a retry loop.
func TestResumeNeedsSecondFactorAgain(t *testing.T) {
	t.Parallel()
	st := storetest.OpenSQLite(t)
	ctx := ctxT(t)
	e := newEnv(t, st, envOpts{twoFA: true})
	alice := addUser(t, st, "alice@example.com")
	creds := paperCreds("alice-paper", "pw-alice")
	creds["code"] = secondFactorCode
	a, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: creds})
	require.NoError(t, err)

	e.restart(nil)
	resumed, failed, err := e.m.ResumeAll(ctx, accounts.ResumeOptions{})
	require.NoError(t, err)
	assert.Zero(t, resumed)
	assert.Equal(t, 1, failed)
	got, err := e.m.Get(ctx, alice, a.ID)
	require.NoError(t, err)
	assert.Equal(t, accounts.StatusSecondFactorRequired, got.Status)
	assert.Equal(t, "second_factor_required", got.StatusReason)
	_, _, err = e.m.Session(ctx, alice, a.ID)
	assert.True(t, errors.Is(err, broker.ErrSessionNotFound), "%v", err)

	// A wrong code does not lose the account, which was connected before.
	_, err = e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: map[string]string{"code": "999999"}})
	require.ErrorIs(t, err, broker.ErrAuthFailed)
	got, err = e.m.Get(ctx, alice, a.ID)
	require.NoError(t, err)
	assert.Equal(t, accounts.StatusSecondFactorRequired, got.Status)

	// The user answers with the code alone and is connected again.
	a2, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: map[string]string{"code": secondFactorCode}})
	require.NoError(t, err)
	assert.Equal(t, a.ID, a2.ID)
}

// A broker that wants a second factor again when its plugin restarts: the
// plugin manager cannot re-open the session and says so with an event;
// ReopenFailed, fed that event, shows the account as
// second_factor_required (not a live "error" with no way out), and the
// user answers with the code alone and is connected again.
func TestPluginRestartNeedsSecondFactorAgain(t *testing.T) {
	t.Parallel()
	st := storetest.OpenSQLite(t)
	ctx := ctxT(t)
	failed := make(chan pluginmgr.Event, 8)
	e := newEnv(t, st, envOpts{twoFA: true, onEvent: func(ev pluginmgr.Event) {
		if ev.Type == pluginmgr.EventInstanceRecreateFailed {
			select {
			case failed <- ev:
			default:
			}
		}
	}})
	alice := addUser(t, st, "alice@example.com")
	creds := paperCreds("alice-paper", "pw-alice")
	creds["code"] = secondFactorCode
	a, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: creds})
	require.NoError(t, err)

	// Not a second-factor failure, or not an account's session: nothing.
	changed, err := e.m.ReopenFailed(ctx, accounts.SessionID(a.ID), broker.ErrUnavailable)
	require.NoError(t, err)
	assert.False(t, changed)
	changed, err = e.m.ReopenFailed(ctx, "md-feed", broker.ErrSecondFactorRequired)
	require.NoError(t, err)
	assert.False(t, changed)

	require.NoError(t, syscall.Kill(e.paperPID(), syscall.SIGKILL))
	var ev pluginmgr.Event
	select {
	case ev = <-failed:
	case <-ctx.Done():
		t.Fatal("no re-create failure event after the plugin restart")
	}
	require.Equal(t, accounts.SessionID(a.ID), ev.Instance)
	require.ErrorIs(t, ev.Err, broker.ErrSecondFactorRequired, "the reason crosses the plugin boundary")
	changed, err = e.m.ReopenFailed(ctx, ev.Instance, ev.Err)
	require.NoError(t, err)
	assert.True(t, changed)
	got, err := e.m.Get(ctx, alice, a.ID)
	require.NoError(t, err)
	assert.Equal(t, accounts.StatusSecondFactorRequired, got.Status)
	assert.Equal(t, "second_factor_required", got.StatusReason)
	_, _, err = e.m.Session(ctx, alice, a.ID)
	require.ErrorIs(t, err, broker.ErrSessionNotFound, "no trading on it meanwhile")
	changed, err = e.m.ReopenFailed(ctx, ev.Instance, ev.Err)
	require.NoError(t, err)
	assert.False(t, changed, "recorded once")

	a2, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: map[string]string{"code": secondFactorCode}})
	require.NoError(t, err)
	assert.Equal(t, a.ID, a2.ID)
	sess, _, err := e.m.Session(ctx, alice, a.ID)
	require.NoError(t, err)
	_, err = sess.Balance(ctx)
	require.NoError(t, err)
}
