package iqoption_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/plugins/broker/iqoption/iqfake"
	"github.com/stc-trading/stc/sdk/broker"
)

func TestSecondFactorFlow(t *testing.T) {
	fk, _ := startFake(t, iqfake.Config{})
	fk.AddUser(iqfake.User{Identifier: "2fa@example.com", Password: "pw", TwoFactorCode: "424242"})
	a := adapter(t, fk)
	ctx := context.Background()
	c := map[string]string{"identifier": "2fa@example.com", "password": "pw"}

	_, err := a.Factory()().Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: c})
	require.ErrorIs(t, err, broker.ErrSecondFactorRequired)
	assert.Equal(t, 1, fk.Stats().SMSSent)

	c["code"] = "000000"
	_, err = a.Factory()().Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: c})
	require.ErrorIs(t, err, broker.ErrAuthFailed, "a wrong code is an auth failure")

	c["code"] = "424242"
	s := a.Factory()()
	acct, err := s.Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: c})
	require.NoError(t, err, "the right code completes the pending challenge")
	t.Cleanup(func() { _ = s.Close(ctx) })
	assert.Equal(t, 1, fk.Stats().SMSSent, "retrying the code does not send another SMS")
	assert.ElementsMatch(t, []string{"ssid", "identifier"}, keys(acct.ResumeCredentials), "the host keeps the ssid, not the password")
	assert.Equal(t, "2fa@example.com", acct.ResumeCredentials["identifier"])

	// A code without a pending challenge starts a new one.
	_, err = a.Factory()().Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: c})
	require.ErrorIs(t, err, broker.ErrSecondFactorRequired)
	assert.Equal(t, 2, fk.Stats().SMSSent)
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestLoginLimitIsRateLimitedWithRetryAfter(t *testing.T) {
	fk, _ := startFake(t, iqfake.Config{})
	fk.SetFaults(iqfake.Faults{LoginLimitTTL: 1894})
	_, err := adapter(t, fk).Factory()().Open(context.Background(), broker.OpenRequest{Mode: broker.Practice, Credentials: creds()})
	require.ErrorIs(t, err, broker.ErrRateLimited)
	d, ok := broker.RetryAfter(err)
	require.True(t, ok)
	assert.Equal(t, 1894*time.Second, d)
}

func TestInvalidCredentials(t *testing.T) {
	fk, _ := startFake(t, iqfake.Config{})
	a := adapter(t, fk)
	for _, c := range []map[string]string{
		{"identifier": testUser, "password": "wrong"},
		{"identifier": "nobody@example.com", "password": "x"},
		{"identifier": testUser},
		{"ssid": "0123456789abcdef0123456789abcdef"},
		{"user": "x"},
	} {
		_, err := a.Factory()().Open(context.Background(), broker.OpenRequest{Mode: broker.Practice, Credentials: c})
		assert.ErrorIs(t, err, broker.ErrAuthFailed, "%v", c)
	}
}

func TestResumeWithSSIDSkipsTheLogin(t *testing.T) {
	fk, _ := startFake(t, iqfake.Config{})
	a := adapter(t, fk)
	ctx := context.Background()
	s1 := a.Factory()()
	acct, err := s1.Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: creds()})
	require.NoError(t, err)
	require.NoError(t, s1.Close(ctx))
	logins := fk.Stats().Logins

	s2 := a.Factory()()
	again, err := s2.Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: acct.ResumeCredentials})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s2.Close(ctx) })
	assert.Equal(t, logins, fk.Stats().Logins, "no HTTP login with an ssid")
	assert.Equal(t, acct.AccountRef, again.AccountRef)
}

func TestRealModeTradesTheRealBalance(t *testing.T) {
	fk, _ := startFake(t, iqfake.Config{})
	uid := fk.AddUser(iqfake.User{Identifier: "real@example.com", Password: "pw", Real: 250})
	a := adapter(t, fk)
	ctx := context.Background()
	s := a.Factory()()
	acct, err := s.Open(ctx, broker.OpenRequest{Mode: broker.Real, Credentials: map[string]string{"identifier": "real@example.com", "password": "pw"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(ctx) })
	assert.Equal(t, "250", acct.Balance.String())
	bal, err := s.Balance(ctx)
	require.NoError(t, err)
	assert.Equal(t, broker.Real, bal.Mode)

	_, err = s.PlaceOrder(ctx, order("real-1", "EURUSD-OTC", time.Minute, "10"))
	require.NoError(t, err)
	practice, real := fk.Balances(uid)
	assert.InDelta(t, 10000, practice, 1e-9)
	assert.InDelta(t, 240, real, 1e-9, "the order went to the real balance (type 1)")
	_, err = s.Open(ctx, broker.OpenRequest{Mode: broker.Practice, Credentials: map[string]string{"identifier": "real@example.com", "password": "pw"}})
	assert.ErrorIs(t, err, broker.ErrUnsupported, "a session keeps its mode")
}
