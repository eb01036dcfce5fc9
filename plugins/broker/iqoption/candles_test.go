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

func TestCandlesArePagedBy1000(t *testing.T) {
	fk, _, s := manual(t)
	now := fk.Now().Unix()
	from := now - 2500*60
	page, err := s.Candles(context.Background(), broker.CandlesRequest{Symbol: "EURUSD-OTC", Timeframe: market.M1, From: from, To: now, PageSize: 5000})
	require.NoError(t, err)
	assert.Len(t, page.Candles, 2500)
	assert.Empty(t, page.NextPageToken)
	assert.Equal(t, 3, fk.Stats().CandleRequests)
	assert.Equal(t, 1000, fk.Stats().MaxCandleCount)
	for i, c := range page.Candles {
		require.NoError(t, c.Validate(market.M1))
		assert.Equal(t, from+int64(i)*60, c.Time)
	}

	page, err = s.Candles(context.Background(), broker.CandlesRequest{Symbol: "EURUSD-OTC", Timeframe: market.H1, From: now - 30*86400})
	require.NoError(t, err)
	assert.Len(t, page.Candles, 720, "To zero means now (server time)")
}

// Forming updates are not closed; each candle is delivered closed exactly
// once, equal to the history.
func TestCandleStreamClosesEachCandleOnce(t *testing.T) {
	fk, _, s := manual(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.SubscribeCandles(ctx, broker.SubscribeRequest{Symbol: "EURUSD-OTC", Timeframe: market.M1})
	require.NoError(t, err)
	start := fk.Now().Unix()
	closed := map[int64]market.Candle{}
	forming := 0
	take := func(ev broker.CandleEvent) {
		require.NoError(t, ev.Err)
		if !ev.Closed {
			forming++
			return
		}
		_, dup := closed[ev.Candle.Time]
		require.False(t, dup, "candle %d closed twice", ev.Candle.Time)
		closed[ev.Candle.Time] = ev.Candle
	}
	for i := 0; i < 130; i++ {
		fk.Advance(time.Second)
		barrier(t, s)
		for drained := false; !drained; {
			select {
			case ev := <-ch:
				take(ev)
			default:
				drained = true
			}
		}
	}
	for len(closed) < 2 { // closes are never dropped: wait for the stream goroutine
		select {
		case ev := <-ch:
			take(ev)
		case <-time.After(30 * time.Second):
			t.Fatalf("closed candles: %d", len(closed))
		}
	}
	assert.Positive(t, forming)
	require.Len(t, closed, 2, "12:00 and 12:01 closed, 12:02 is forming")
	page, err := s.Candles(context.Background(), broker.CandlesRequest{Symbol: "EURUSD-OTC", Timeframe: market.M1, From: start, To: start + 120})
	require.NoError(t, err)
	require.Len(t, page.Candles, 2)
	for _, c := range page.Candles {
		assert.Equal(t, c, closed[c.Time])
	}
}

// Candles that close while the socket is down are fetched from history
// after the reconnect and delivered closed, in order, once.
func TestCandleStreamCatchesUpAfterReconnect(t *testing.T) {
	fk, _, s := manual(t, fastBackoff)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.SubscribeCandles(ctx, broker.SubscribeRequest{Symbol: "EURUSD-OTC", Timeframe: market.M1})
	require.NoError(t, err)
	start := fk.Now().Unix()
	fk.Advance(time.Second)
	<-ch // a forming update: the stream is live

	fk.UpdateFaults(func(f *iqfake.Faults) { f.RefuseWS = true })
	fk.DropConnections()
	waitFor(t, "disconnect", func() bool { return fk.Connections() == 0 })
	fk.Advance(4 * time.Minute) // 12:00, 12:01, 12:02 and 12:03 close unheard
	auths := fk.Stats().Authentications
	fk.UpdateFaults(func(f *iqfake.Faults) { f.RefuseWS = false })
	waitFor(t, "reconnect", func() bool { return fk.Stats().Authentications > auths })

	var closed []int64
	for len(closed) < 4 {
		select {
		case ev := <-ch:
			require.NoError(t, ev.Err)
			if ev.Closed {
				closed = append(closed, ev.Candle.Time)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("closed candles after the reconnect: %v", closed)
		}
	}
	assert.Equal(t, []int64{start, start + 60, start + 120, start + 180}, closed)
}
