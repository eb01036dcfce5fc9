package accounts_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/events"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/broker"
)

var _ accounts.EventLog = (*events.Log)(nil)

// accountView is what the tests' renderer keeps of an account event: the
// fields the API's account object is made of that the tests compare.
type accountView struct {
	ID       int64   `json:"id"`
	Status   string  `json:"status"`
	Reason   string  `json:"reason,omitempty"`
	Balance  *string `json:"balance,omitempty"`
	Currency string  `json:"currency,omitempty"`
	Removed  bool    `json:"removed,omitempty"`
}

func viewOf(a accounts.Account) accountView {
	v := accountView{ID: a.ID, Status: string(a.Status), Reason: a.StatusReason, Removed: a.Removed}
	if a.BalanceKnown {
		b := a.Balance.StringFixed(2)
		v.Balance, v.Currency = &b, a.Currency
	}
	return v
}

// String is the state in one word or a few: "connected 10000.00 USD",
// "second_factor_required/awaiting_code", "disconnected/auth_failed removed".
func (v accountView) String() string {
	s := v.Status
	if v.Reason != "" {
		s += "/" + v.Reason
	}
	if v.Balance != nil {
		s += " " + *v.Balance + " " + v.Currency
	}
	if v.Removed {
		s += " removed"
	}
	return s
}

// renderAccount is the event log's renderer in these tests.
func renderAccount(obj any) (events.Rendered, error) {
	a, ok := obj.(accounts.Account)
	if !ok {
		return events.Rendered{}, fmt.Errorf("not an account: %T", obj)
	}
	b, err := json.Marshal(map[string]accountView{"account": viewOf(a)})
	return events.Rendered{Kind: events.KindAccount, Payload: b}, err
}

// accountEvents returns userID's events, oldest first; all must be
// account events.
func accountEvents(t *testing.T, e *env, userID int64) []accountView {
	t.Helper()
	evs, err := e.ev.After(ctxT(t), userID, 0, 1000)
	require.NoError(t, err)
	out := make([]accountView, len(evs))
	for i, ev := range evs {
		require.Equal(t, events.KindAccount, ev.Kind)
		var p struct {
			Account accountView `json:"account"`
		}
		require.NoError(t, json.Unmarshal(ev.Payload, &p))
		out[i] = p.Account
	}
	return out
}

// states returns the states account id went through, as its events say.
func states(t *testing.T, e *env, userID, id int64) []string {
	t.Helper()
	var out []string
	for _, v := range accountEvents(t, e, userID) {
		if v.ID == id {
			out = append(out, v.String())
		}
	}
	return out
}

// requireLastIsGet checks that account id's last event is what Get
// returns now: a client that applies the events holds what the API says.
func requireLastIsGet(t *testing.T, e *env, userID, id int64) {
	t.Helper()
	var last *accountView
	for _, v := range accountEvents(t, e, userID) {
		if v.ID == id {
			last = &v
		}
	}
	require.NotNil(t, last, "account %d has no event", id)
	got, err := e.m.Get(ctxT(t), userID, id)
	require.NoError(t, err)
	require.Equal(t, viewOf(got).String(), last.String())
}

const connected10k = "connected 10000.00 USD"

// A second-factor connect records every state the account goes through,
// in the transactions that make them: on SQLite, whose one writer
// connection a write beside the open transaction would hang, the code is
// accepted and the account ends connected.
func TestEventsSecondFactorConnect(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st, envOpts{twoFA: true})
		alice := addUser(t, st, "alice@example.com")
		creds := paperCreds("alice-paper", "pw-alice")

		_, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: creds})
		sf, ok := secondFactor(err)
		require.True(t, ok, "%v", err)
		assert.Equal(t, []string{"connecting", "second_factor_required/awaiting_code"}, states(t, e, alice, sf.AccountID))
		requireLastIsGet(t, e, alice, sf.AccountID)

		withCode := paperCreds("alice-paper", "pw-alice")
		withCode["code"] = secondFactorCode
		a, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: withCode})
		require.NoError(t, err)
		require.Equal(t, sf.AccountID, a.ID)
		require.Equal(t, accounts.StatusConnected, a.Status)
		assert.Equal(t, []string{"connecting", "second_factor_required/awaiting_code", "connecting", connected10k},
			states(t, e, alice, a.ID))
		assert.Equal(t, connected10k, viewOf(a).String(), "Connect returns what its last event says")
		requireLastIsGet(t, e, alice, a.ID)

		// The repeat with the code alone goes from waiting to connected.
		bob := addUser(t, st, "bob@example.com")
		_, err = e.m.Connect(ctx, bob, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("bob-paper", "pw-bob")})
		sf, ok = secondFactor(err)
		require.True(t, ok, "%v", err)
		b, err := e.m.Connect(ctx, bob, accounts.ConnectRequest{Broker: "paper", Credentials: map[string]string{"code": secondFactorCode}})
		require.NoError(t, err)
		require.Equal(t, sf.AccountID, b.ID)
		assert.Equal(t, []string{"connecting", "second_factor_required/awaiting_code", connected10k}, states(t, e, bob, b.ID))
		requireLastIsGet(t, e, bob, b.ID)

		// A wrong code deletes the pending account: its last event says so.
		carol := addUser(t, st, "carol@example.com")
		_, err = e.m.Connect(ctx, carol, accounts.ConnectRequest{Broker: "paper", Credentials: paperCreds("carol-paper", "pw-carol")})
		sf, ok = secondFactor(err)
		require.True(t, ok, "%v", err)
		wrong := paperCreds("carol-paper", "pw-carol")
		wrong["code"] = "000001"
		_, err = e.m.Connect(ctx, carol, accounts.ConnectRequest{Broker: "paper", Credentials: wrong})
		require.ErrorIs(t, err, broker.ErrAuthFailed)
		assert.Equal(t, []string{"connecting", "second_factor_required/awaiting_code", "connecting", "disconnected/auth_failed removed"},
			states(t, e, carol, sf.AccountID))

		require.NoError(t, e.m.Disconnect(ctx, alice, a.ID))
		require.NoError(t, e.m.Disconnect(ctx, alice, a.ID), "a second disconnect changes nothing")
		assert.Equal(t, []string{"connecting", "second_factor_required/awaiting_code", "connecting", connected10k, "disconnected"},
			states(t, e, alice, a.ID))
		requireLastIsGet(t, e, alice, a.ID)

		// Each user's log holds their own accounts only.
		for user, id := range map[int64]int64{alice: a.ID, bob: b.ID, carol: sf.AccountID} {
			for _, v := range accountEvents(t, e, user) {
				assert.Equal(t, id, v.ID, "user %d sees account %d", user, v.ID)
			}
		}
	})
}

// ResumeAll records each account's outcome: connected with its balance,
// or the error that keeps it from trading; a disconnect records
// "disconnected" once.
func TestEventsResumeAndDisconnect(t *testing.T) {
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

		e.restart(nil)
		_, _, err = e.m.ResumeAll(ctx, accounts.ResumeOptions{})
		require.NoError(t, err)
		assert.Equal(t, []string{"connecting", connected10k, connected10k}, states(t, e, alice, a.ID))
		requireLastIsGet(t, e, alice, a.ID)

		require.NoError(t, e.m.Disconnect(ctx, bob, b.ID))
		assert.Equal(t, []string{"connecting", connected10k, connected10k, "disconnected"}, states(t, e, bob, b.ID))
		requireLastIsGet(t, e, bob, b.ID)

		// A host whose keys no longer open the credentials: the resume
		// fails and says why.
		e.restart(newKeyring(t, "other"))
		_, failed, err := e.m.ResumeAll(ctx, accounts.ResumeOptions{})
		require.NoError(t, err)
		require.Equal(t, 1, failed)
		assert.Equal(t, []string{"connecting", connected10k, connected10k, "error/credentials_unreadable"}, states(t, e, alice, a.ID))
		requireLastIsGet(t, e, alice, a.ID)
		assert.Len(t, states(t, e, bob, b.ID), 4, "a disconnected account is not resumed")
	})
}

// A broker that wants the second factor again (at resume, or when its
// plugin restarts) records second_factor_required; a wrong code changes
// nothing users see, and the right one records connected.
func TestEventsSecondFactorAgain(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st, envOpts{twoFA: true})
		alice := addUser(t, st, "alice@example.com")
		creds := paperCreds("alice-paper", "pw-alice")
		creds["code"] = secondFactorCode
		a, err := e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: creds})
		require.NoError(t, err)
		want := []string{"connecting", connected10k}
		require.Equal(t, want, states(t, e, alice, a.ID))

		e.restart(nil)
		_, _, err = e.m.ResumeAll(ctx, accounts.ResumeOptions{})
		require.NoError(t, err)
		want = append(want, "second_factor_required/second_factor_required")
		assert.Equal(t, want, states(t, e, alice, a.ID))
		requireLastIsGet(t, e, alice, a.ID)

		_, err = e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: map[string]string{"code": "999999"}})
		require.ErrorIs(t, err, broker.ErrAuthFailed)
		assert.Equal(t, want, states(t, e, alice, a.ID), "a failed code leaves the account as it was")

		_, err = e.m.Connect(ctx, alice, accounts.ConnectRequest{Broker: "paper", Credentials: map[string]string{"code": secondFactorCode}})
		require.NoError(t, err)
		want = append(want, connected10k)
		assert.Equal(t, want, states(t, e, alice, a.ID))
		requireLastIsGet(t, e, alice, a.ID)

		// The plugin manager could not re-open the session: the same.
		changed, err := e.m.ReopenFailed(ctx, accounts.SessionID(a.ID), broker.ErrSecondFactorRequired)
		require.NoError(t, err)
		require.True(t, changed)
		want = append(want, "second_factor_required/second_factor_required")
		assert.Equal(t, want, states(t, e, alice, a.ID))
		requireLastIsGet(t, e, alice, a.ID)
	})
}
