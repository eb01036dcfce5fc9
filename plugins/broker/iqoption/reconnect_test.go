package iqoption_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/plugins/broker/iqoption"
	"github.com/stc-trading/stc/plugins/broker/iqoption/iqfake"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

func fastBackoff(c *iqoption.Config) {
	c.BackoffInitial, c.BackoffMax = 5*time.Millisecond, 50*time.Millisecond
}

// The socket drops after the server opened the option and before its
// answer: PlaceOrder reports the outcome unknown, the order is never sent
// again, reconciliation after the reconnect finds its position, and its
// result is delivered once.
func TestDropMidTradeNeverResends(t *testing.T) {
	fk, uid, s := manual(t, fastBackoff)
	ctx := context.Background()
	results, err := s.OrderResults(ctx)
	require.NoError(t, err)
	fk.SetFaults(iqfake.Faults{DropBeforeAnswer: true, ForceResult: "win"})
	auths := fk.Stats().Authentications

	req := order("lost", "EURUSD-OTC", time.Minute, "10")
	o, err := s.PlaceOrder(ctx, req)
	require.ErrorIs(t, err, broker.ErrUnavailable)
	assert.Equal(t, broker.Pending, o.State)

	if retry, err := s.PlaceOrder(ctx, req); err != nil {
		require.ErrorIs(t, err, broker.ErrUnavailable, "a retry reports the same unknown outcome")
	} else {
		assert.Equal(t, broker.Open, retry.State, "or, once the reconnect reconciled it, the order found")
	}
	waitFor(t, "reconnect", func() bool { return fk.Stats().Authentications > auths })
	waitFor(t, "reconciliation", func() bool {
		got, err := s.GetOrder(ctx, "lost")
		return err == nil && got.State == broker.Open
	})
	got, err := s.PlaceOrder(ctx, req)
	require.NoError(t, err)
	ps := fk.Positions(uid)
	require.Len(t, ps, 1, "the order was sent exactly once")
	assert.Equal(t, strconv.FormatInt(ps[0].OptionID, 10), got.BrokerOrderID)

	fk.Advance(2 * time.Minute)
	final := next(t, results)
	assert.Equal(t, broker.Won, final.State)
	assert.Equal(t, "lost", final.ClientOrderID)
	assertQuiet(t, s, results)
	assert.Len(t, fk.Positions(uid), 1)
}

// The trade settles while the socket is down: the result comes back
// through the position history after the reconnect, recorded once even
// though later reconnects reconcile again.
func TestResultRecoveredAfterDisconnect(t *testing.T) {
	fk, _, s := manual(t, fastBackoff)
	fk.SetFaults(iqfake.Faults{ForceResult: "loose"})
	o, results := placeOne(t, s, "offline")

	fk.UpdateFaults(func(f *iqfake.Faults) { f.RefuseWS = true })
	fk.DropConnections()
	waitFor(t, "disconnect", func() bool { return fk.Connections() == 0 })
	fk.Advance(2 * time.Minute) // settles; the push goes nowhere
	auths := fk.Stats().Authentications
	fk.UpdateFaults(func(f *iqfake.Faults) { f.RefuseWS = false })

	got := next(t, results)
	assert.Equal(t, broker.Lost, got.State)
	assert.Equal(t, "-10", got.Profit.String())
	assert.Equal(t, o.BrokerOrderID, got.BrokerOrderID)
	assert.Greater(t, fk.Stats().Authentications, auths)

	auths = fk.Stats().Authentications
	fk.DropConnections()
	waitFor(t, "second reconnect", func() bool { return fk.Stats().Authentications > auths })
	assertQuiet(t, s, results)
	again, err := s.GetOrder(context.Background(), "offline")
	require.NoError(t, err)
	assert.Equal(t, got, again)
}

// No timeSync for TimeSyncTimeout: the watchdog drops the socket, the
// client reconnects and re-sends its subscriptions, so the candle stream
// resumes on the new socket.
func TestWatchdogReconnectsAndResubscribes(t *testing.T) {
	fk, _ := startFake(t, iqfake.Config{Scale: 1, TickEvery: 20 * time.Millisecond})
	s := open(t, adapter(t, fk, fastBackoff, func(c *iqoption.Config) {
		c.TimeSyncTimeout, c.WatchdogInterval = 300*time.Millisecond, 20*time.Millisecond
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.SubscribeCandles(ctx, broker.SubscribeRequest{Symbol: "EURUSD-OTC", Timeframe: market.M1})
	require.NoError(t, err)
	<-ch
	subs, auths := fk.Stats().Subscribes, fk.Stats().Authentications

	fk.SetFaults(iqfake.Faults{NoTimeSync: true})
	waitFor(t, "watchdog reconnect", func() bool { return fk.Stats().Authentications > auths })
	fk.SetFaults(iqfake.Faults{})
	waitFor(t, "re-subscription", func() bool { return fk.Stats().Subscribes > subs })
	for len(ch) > 0 {
		<-ch
	}
	select {
	case ev := <-ch:
		assert.NoError(t, ev.Err)
	case <-time.After(30 * time.Second):
		t.Fatal("the stream did not resume after the reconnect")
	}
}

func TestHeartbeatIsAnswered(t *testing.T) {
	fk, _, s := manual(t, func(c *iqoption.Config) { c.HeartbeatReply = true })
	fk.Advance(2 * time.Second)
	barrier(t, s)
	waitFor(t, "heartbeat reply", func() bool { return fk.Stats().Heartbeats > 0 })
}

// Five rejected re-authentications end the session with ErrAuthFailed.
func TestRepeatedAuthRejectionEndsTheSession(t *testing.T) {
	fk, _, s := manual(t, fastBackoff)
	fk.SetFaults(iqfake.Faults{RejectAuth: true})
	fk.DropConnections()
	waitFor(t, "terminal auth failure", func() bool {
		_, err := s.Balance(context.Background())
		return err != nil && assert.ObjectsAreEqual(broker.Reason(err), "AUTH_FAILED")
	})
}

// The socket drops before the server opened anything: the order stays
// pending (never resent) until a minute after its expiry, then GetOrder
// declares it never placed.
func TestUnknownOrderWithoutPositionIsRejectedAfterExpiry(t *testing.T) {
	fk, uid, s := manual(t, fastBackoff)
	ctx := context.Background()
	fk.SetFaults(iqfake.Faults{DropBeforeOpen: true})
	auths := fk.Stats().Authentications
	_, err := s.PlaceOrder(ctx, order("ghost", "EURUSD-OTC", time.Minute, "10"))
	require.ErrorIs(t, err, broker.ErrUnavailable)
	waitFor(t, "reconnect", func() bool { return fk.Stats().Authentications > auths })
	got, err := s.GetOrder(ctx, "ghost")
	require.NoError(t, err)
	assert.Equal(t, broker.Pending, got.State, "before expiry the outcome stays unknown")

	fk.Advance(3 * time.Minute)
	barrier(t, s)
	got, err = s.GetOrder(ctx, "ghost")
	require.NoError(t, err)
	assert.Equal(t, broker.Rejected, got.State)
	assert.Contains(t, got.RejectReason, "never placed")
	assert.Empty(t, fk.Positions(uid))
}

// The answer never comes on a live socket (timeout): the position pushed
// meanwhile identifies the order, which is then tracked to its result
// without any resend.
func TestTimedOutAnswerIsClaimedFromItsPosition(t *testing.T) {
	fk, uid, s := manual(t, func(c *iqoption.Config) { c.RequestTimeout = 300 * time.Millisecond })
	ctx := context.Background()
	results, err := s.OrderResults(ctx)
	require.NoError(t, err)
	fk.SetFaults(iqfake.Faults{SwallowAnswer: true, ForceResult: "win"})
	_, err = s.PlaceOrder(ctx, order("slow", "EURUSD-OTC", time.Minute, "10"))
	if err != nil { // the position may have arrived before the timeout: then it is claimed at once
		require.ErrorIs(t, err, broker.ErrUnavailable)
	}
	got, err := s.GetOrder(ctx, "slow")
	require.NoError(t, err)
	assert.Equal(t, broker.Open, got.State)
	ps := fk.Positions(uid)
	require.Len(t, ps, 1)
	assert.Equal(t, strconv.FormatInt(ps[0].OptionID, 10), got.BrokerOrderID)
	fk.Advance(2 * time.Minute)
	final := next(t, results)
	assert.Equal(t, broker.Won, final.State)
	assertQuiet(t, s, results)
	assert.Len(t, fk.Positions(uid), 1)
}

// A swallowed answer under a caller's deadline shorter than the request
// timeout ends the wait just before that deadline, so the caller gets the
// adapter's answer (the order claimed by its position push, or
// ErrUnavailable) rather than its own timeout, which the host counts
// against the whole plugin process. The order is never resent.
func TestLostAnswerReportedBeforeTheCallersDeadline(t *testing.T) {
	fk, uid, s := manual(t, func(c *iqoption.Config) { c.RequestTimeout = time.Minute })
	fk.SetFaults(iqfake.Faults{SwallowAnswer: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	o, err := s.PlaceOrder(ctx, order("swallowed", "EURUSD-OTC", time.Minute, "3"))
	require.NoError(t, ctx.Err(), "answered before the caller's deadline (a tenth of it early)")
	if err != nil {
		require.ErrorIs(t, err, broker.ErrUnavailable)
	} else {
		assert.Equal(t, broker.Open, o.State, "claimed by its position push")
	}
	assert.Len(t, fk.Positions(uid), 1)
}
