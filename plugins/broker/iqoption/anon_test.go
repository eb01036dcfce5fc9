package iqoption_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/plugins/broker/iqoption/iqfake"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// openAs opens a practice session of another fake user.
func openAs(t *testing.T, fk *iqfake.Server, a interface{ Factory() broker.Factory }, id string) broker.Broker {
	t.Helper()
	fk.AddUser(iqfake.User{Identifier: id, Password: "pw"})
	s := a.Factory()()
	_, err := s.Open(context.Background(), broker.OpenRequest{Mode: broker.Practice, Credentials: map[string]string{"identifier": id, "password": "pw"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// The never-opened session answers market data through any logged-in
// session of the process, and nothing else.
func TestAnonymousMarketDataNeedsAConnectedAccount(t *testing.T) {
	fk, uid := startFake(t, iqfake.Config{Seed: 3})
	a := adapter(t, fk)
	anon := a.Factory()()
	t.Cleanup(func() { _ = anon.Close(context.Background()) })
	assert.True(t, anon.Metadata().Capabilities.AnonymousMarketData)
	ctx := context.Background()

	_, err := anon.Instruments(ctx)
	require.ErrorIs(t, err, broker.ErrUnavailable)
	assert.Contains(t, err.Error(), "no IQ Option account is connected yet")
	_, err = anon.Candles(ctx, broker.CandlesRequest{Symbol: "EURUSD-OTC", Timeframe: market.M1})
	require.ErrorIs(t, err, broker.ErrUnavailable)
	_, err = anon.SubscribeCandles(ctx, broker.SubscribeRequest{Symbol: "EURUSD-OTC", Timeframe: market.M1})
	require.ErrorIs(t, err, broker.ErrUnavailable)

	user := open(t, a)
	list, err := anon.Instruments(ctx)
	require.NoError(t, err)
	mine, err := user.Instruments(ctx)
	require.NoError(t, err)
	assert.Equal(t, mine, list)

	now := fk.Now().Unix()
	page, err := anon.Candles(ctx, broker.CandlesRequest{Symbol: "EURUSD-OTC", Timeframe: market.M1, From: now - 100*60, To: now})
	require.NoError(t, err)
	assert.Len(t, page.Candles, 100)
	_, err = anon.Candles(ctx, broker.CandlesRequest{Symbol: "NOPE", Timeframe: market.M1})
	require.ErrorIs(t, err, broker.ErrUnknownInstrument, "a live lender's answer stands")

	// Account operations stay refused on the anonymous session.
	_, err = anon.Balance(ctx)
	require.Error(t, err)
	_, err = anon.PlaceOrder(ctx, order("anon", "EURUSD-OTC", time.Minute, "1"))
	require.Error(t, err)
	_, err = anon.GetOrder(ctx, "anon")
	require.Error(t, err)
	assert.Empty(t, fk.Positions(uid))

	require.NoError(t, user.Close(ctx))
	_, err = anon.Instruments(ctx)
	require.ErrorIs(t, err, broker.ErrUnavailable, "the only account left")
}

// An anonymous candle stream borrows one connection; when that session
// closes mid-stream it moves to another, filling the gap from history, so
// every candle is delivered closed once and in order. When the last
// session ends, the stream ends with ErrUnavailable.
func TestAnonymousCandleStreamSurvivesItsLenderClosing(t *testing.T) {
	fk, _ := startFake(t, iqfake.Config{Seed: 5})
	a := adapter(t, fk)
	first := open(t, a)
	second := openAs(t, fk, a, "second@example.com")
	anon := a.Factory()()
	t.Cleanup(func() { _ = anon.Close(context.Background()) })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	subs := fk.Stats().Subscribes
	ch1, err := anon.SubscribeCandles(ctx, broker.SubscribeRequest{Symbol: "EURUSD-OTC", Timeframe: market.M1})
	require.NoError(t, err)
	ch2, err := anon.SubscribeCandles(ctx, broker.SubscribeRequest{Symbol: "EURUSD-OTC", Timeframe: market.M1})
	require.NoError(t, err)
	assert.Equal(t, subs+1, fk.Stats().Subscribes, "one upstream subscription serves both streams")
	start := fk.Now().Unix()

	var closed1, closed2 []int64
	collect := func(ch <-chan broker.CandleEvent, into *[]int64, want int) {
		t.Helper()
		for len(*into) < want {
			select {
			case ev, ok := <-ch:
				require.True(t, ok, "stream ended early")
				require.NoError(t, ev.Err)
				if ev.Closed {
					*into = append(*into, ev.Candle.Time)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("closed candles so far: %v", *into)
			}
		}
	}
	advance := func(d time.Duration) {
		for range int(d / (10 * time.Second)) {
			fk.Advance(10 * time.Second)
			barrier(t, second)
		}
	}
	advance(2 * time.Minute) // 12:00 and 12:01 close
	collect(ch1, &closed1, 2)
	collect(ch2, &closed2, 2)

	require.NoError(t, first.Close(context.Background())) // the lender (oldest session) goes away
	advance(3 * time.Minute)                              // 12:02..12:04 close while the stream moves
	collect(ch1, &closed1, 5)
	collect(ch2, &closed2, 5)
	want := []int64{start, start + 60, start + 120, start + 180, start + 240}
	assert.Equal(t, want, closed1)
	assert.Equal(t, want, closed2)

	page, err := second.Candles(context.Background(), broker.CandlesRequest{Symbol: "EURUSD-OTC", Timeframe: market.M1, From: start, To: start + 300})
	require.NoError(t, err)
	require.Len(t, page.Candles, 5)

	require.NoError(t, second.Close(context.Background())) // no account left
	for _, ch := range []<-chan broker.CandleEvent{ch1, ch2} {
		var last error
	drain:
		for {
			select {
			case ev, ok := <-ch:
				if !ok {
					break drain
				}
				if ev.Err != nil {
					last = ev.Err
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the stream did not end after the last account closed")
			}
		}
		require.ErrorIs(t, last, broker.ErrUnavailable)
		assert.Contains(t, last.Error(), "no IQ Option account is connected yet")
	}
}

// Closing the anonymous session ends its relays.
func TestClosingTheAnonymousSessionEndsItsStreams(t *testing.T) {
	fk, _ := startFake(t, iqfake.Config{Seed: 7})
	a := adapter(t, fk)
	open(t, a)
	anon := a.Factory()()
	ch, err := anon.SubscribeCandles(context.Background(), broker.SubscribeRequest{Symbol: "EURUSD-OTC", Timeframe: market.M1})
	require.NoError(t, err)
	require.NoError(t, anon.Close(context.Background()))
	for range ch { //nolint:revive // drain until closed
	}
	_, err = anon.Instruments(context.Background())
	require.ErrorIs(t, err, broker.ErrSessionNotFound)
}
