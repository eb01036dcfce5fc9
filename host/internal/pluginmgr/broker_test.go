package pluginmgr

import (
	"context"
	"errors"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
)

func TestBrokerSessionProxy(t *testing.T) {
	m, rec := newManager(t, Options{})
	ctx := ctxT(t)
	b, err := m.Broker(ctx, "mock")
	require.NoError(t, err)
	info, err := b.Info(ctx)
	require.NoError(t, err)
	assert.True(t, info.Multiplexing)

	_, err = b.OpenSession(ctx, "bad", func(context.Context) (broker.OpenRequest, error) {
		return broker.OpenRequest{Mode: broker.Practice, Credentials: map[string]string{"user": "x", "password": "wrong"}}, nil
	})
	require.ErrorIs(t, err, broker.ErrAuthFailed)
	assert.Equal(t, 0, statusOf(t, m, plugin.KindBroker, "mock", "").Instances, "a failed open is not re-opened later")

	_, err = b.OpenSession(ctx, "acct", mockCreds("bob"))
	require.NoError(t, err)
	s := b.Session("acct")
	assert.Equal(t, "mock", s.Metadata().Name)
	assert.True(t, s.Metadata().Capabilities.CandleStream)
	ins, err := s.Instruments(ctx)
	require.NoError(t, err)
	require.Len(t, ins, 2, "EURUSD, and the mock's STATS entry for tests")
	assert.Equal(t, "EURUSD", ins[0].Symbol)
	page, err := s.Candles(ctx, broker.CandlesRequest{Symbol: "EURUSD", Timeframe: market.M1, From: 600})
	require.NoError(t, err)
	assert.Len(t, page.Candles, 2)
	req := broker.OrderRequest{ClientOrderID: "o-1", Symbol: "EURUSD", Side: market.Call, Amount: decimal.NewFromInt(5), Expiry: 60e9}
	o, err := s.PlaceOrder(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, broker.Open, o.State)
	got, err := s.GetOrder(ctx, "o-1")
	require.NoError(t, err)
	assert.Equal(t, o.BrokerOrderID, got.BrokerOrderID)
	_, err = s.GetOrder(ctx, "o-2")
	assert.ErrorIs(t, err, broker.ErrOrderNotFound)

	// Anonymous market data goes to the shared process.
	_, err = b.Session("").Instruments(ctx)
	require.NoError(t, err)

	// A session whose credentials are gone by the time of the restart.
	var flakyCalls atomic.Int32
	_, err = b.OpenSession(ctx, "revoked", func(ctx context.Context) (broker.OpenRequest, error) {
		if flakyCalls.Add(1) > 1 {
			return broker.OpenRequest{}, errors.New("credentials revoked")
		}
		return mockCreds("carol")(ctx)
	})
	require.NoError(t, err)

	// A stream ends with ErrPluginExited when the process dies.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := s.SubscribeCandles(sctx, broker.SubscribeRequest{Symbol: "EURUSD", Timeframe: market.M1})
	require.NoError(t, err)
	first := <-events
	require.NoError(t, first.Err)
	orders, err := s.OrderResults(sctx)
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(statusOf(t, m, plugin.KindBroker, "mock", "").PID, syscall.SIGKILL))
	var last broker.CandleEvent
	for ev := range events {
		last = ev
	}
	assert.ErrorIs(t, last.Err, ErrPluginExited)
	for range orders { // closes when the process dies
	}
	rec.waitFor(t, "restarted", isEvent(EventRestarted, "mock"))
	failed := rec.waitFor(t, "recreate failed", isEvent(EventInstanceRecreateFailed, "mock"))
	assert.Equal(t, "revoked", failed.Instance)
	assert.ErrorContains(t, failed.Err, "credentials revoked")
	_, err = s.Balance(ctx)
	require.NoError(t, err, "one failed re-open does not stop the others")
	_, err = b.Session("revoked").Balance(ctx)
	assert.ErrorIs(t, err, broker.ErrSessionNotFound)
	require.NoError(t, b.CloseSession(ctx, "revoked"))

	require.NoError(t, s.Close(ctx))
	require.NoError(t, s.Close(ctx), "closing twice is fine")
	assert.Equal(t, 0, statusOf(t, m, plugin.KindBroker, "mock", "").Instances)
	_, err = s.Balance(ctx)
	assert.ErrorIs(t, err, broker.ErrSessionNotFound)
}

func TestPerSessionBroker(t *testing.T) {
	m, _ := newManager(t, Options{Env: EnvByKey(map[string]map[string]string{"broker/mock": {"STC_TEST_PER_SESSION": "1"}})})
	ctx := ctxT(t)
	b, err := m.Broker(ctx, "mock")
	require.NoError(t, err)
	assert.True(t, b.Session("").Metadata().PerSession)
	_, err = b.OpenSession(ctx, "a", mockCreds("a"))
	require.NoError(t, err)
	_, err = b.OpenSession(ctx, "b", mockCreds("b"))
	require.NoError(t, err)

	shared := statusOf(t, m, plugin.KindBroker, "mock", "")
	pa := statusOf(t, m, plugin.KindBroker, "mock", "a")
	pb := statusOf(t, m, plugin.KindBroker, "mock", "b")
	assert.Len(t, map[int]bool{shared.PID: true, pa.PID: true, pb.PID: true}, 3, "one process per session")
	assert.Equal(t, 1, pa.Instances)
	for _, id := range []string{"a", "b"} {
		_, err := b.Session(id).Balance(ctx)
		require.NoError(t, err, id)
	}
	_, err = b.Session("nobody").Balance(ctx)
	assert.ErrorIs(t, err, broker.ErrSessionNotFound)

	// A failed open of a new session does not leave a process behind.
	_, err = b.OpenSession(ctx, "c", func(context.Context) (broker.OpenRequest, error) {
		return broker.OpenRequest{Mode: broker.Practice, Credentials: map[string]string{"user": "c", "password": "nope"}}, nil
	})
	require.ErrorIs(t, err, broker.ErrAuthFailed)
	assert.Len(t, m.Status(), 3)

	require.NoError(t, b.CloseSession(ctx, "a"))
	waitGone(t, pa.PID)
	assert.Len(t, m.Status(), 2, "the session's process stops with its session")
	_, err = b.Session("b").Balance(ctx)
	require.NoError(t, err)
}
