package iqoption

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/plugins/broker/iqoption/iqfake"
	"github.com/stc-trading/stc/sdk/broker"
)

// Sessions of one user group share one parsed catalogue, and a
// commission-changed push updates it for all of them.
func TestSessionsOfAGroupShareTheCatalogue(t *testing.T) {
	fk, err := iqfake.Start(iqfake.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = fk.Close() })
	a, err := New(Config{AuthURL: fk.AuthURL(), WSURL: fk.WSURL()})
	require.NoError(t, err)
	var sessions []*session
	for _, u := range []string{"a@example.com", "b@example.com"} {
		fk.AddUser(iqfake.User{Identifier: u, Password: "pw"})
		s, _ := a.Factory()().(*session)
		_, err := s.Open(context.Background(), broker.OpenRequest{Mode: broker.Practice, Credentials: map[string]string{"identifier": u, "password": "pw"}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close(context.Background()) })
		sessions = append(sessions, s)
	}
	sessions[0].mu.Lock()
	c0 := sessions[0].cat
	sessions[0].mu.Unlock()
	sessions[1].mu.Lock()
	c1 := sessions[1].cat
	sessions[1].mu.Unlock()
	assert.Same(t, c0, c1)

	fk.SetCommission(76, 30)
	for _, s := range sessions {
		_, err := s.Balance(context.Background()) // the push precedes this answer on the socket
		require.NoError(t, err)
	}
	list, err := sessions[1].Instruments(context.Background())
	require.NoError(t, err)
	for _, in := range list {
		if in.Symbol == "EURUSD-OTC" {
			assert.InDelta(t, 70, in.PayoutPercent, 1e-9)
		}
	}
}
