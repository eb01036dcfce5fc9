package paper

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// guard bounds how long a test waits for a stream; it only turns a hang
// into a failure and is far above any expected latency.
const guard = 30 * time.Second

func next(t *testing.T, ch <-chan broker.CandleEvent) (broker.CandleEvent, bool) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		return ev, ok
	case <-time.After(guard):
		t.Fatal("stream stalled")
		return broker.CandleEvent{}, false
	}
}

// TestStreamHighScaleDeliversEveryClosedCandle runs the market at one hour
// per wall second and jumps the clock in big steps: every closed 1m candle
// must still arrive once, in order, equal to the history.
func TestStreamHighScaleDeliversEveryClosedCandle(t *testing.T) {
	start := wednesdayNoon().Add(30 * time.Second)
	clk := newFakeClock(start)
	m := newMarket(t, t.TempDir(), clk, func(c *Config) { c.TimeScale = 3600 })
	s := m.Factory()()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.SubscribeCandles(ctx, broker.SubscribeRequest{Symbol: "EURUSD", Timeframe: market.M1})
	require.NoError(t, err)

	first, ok := next(t, ch)
	require.True(t, ok)
	require.False(t, first.Closed)
	require.Equal(t, wednesdayNoon().Unix(), first.Candle.Time, "the forming candle comes first")

	clk.Advance(1500 * time.Millisecond) // 90 market minutes at once
	clk.Advance(1500 * time.Millisecond) // and 90 more
	var closed market.Series
	lastForming := first.Candle.Time
	for len(closed) < 180 {
		ev, ok := next(t, ch)
		require.True(t, ok)
		require.NoError(t, ev.Err)
		require.NoError(t, ev.Candle.Validate(market.M1))
		if ev.Closed {
			closed = append(closed, ev.Candle)
			continue
		}
		require.GreaterOrEqual(t, ev.Candle.Time, lastForming)
		lastForming = ev.Candle.Time
	}
	want := series(t, m, "EURUSD", market.M1, wednesdayNoon().Unix(), wednesdayNoon().Add(3*time.Hour).Unix())
	require.Len(t, want, 180)
	assert.Equal(t, want, closed, "closed candles equal the history, once each, in order")

	cancel()
	for range ch { // drains and ends: the channel closes with ctx
	}
}

func TestStreamCoarseTimeframeClosesOnce(t *testing.T) {
	start := time.Date(2024, 3, 5, 23, 0, 0, 0, time.UTC)
	clk := newFakeClock(start)
	m := newMarket(t, t.TempDir(), clk, func(c *Config) { c.TimeScale = 3600 })
	ch, err := m.Factory()().SubscribeCandles(context.Background(), broker.SubscribeRequest{Symbol: "USDJPY-OTC", Timeframe: market.H4})
	require.NoError(t, err)
	clk.Advance(10 * time.Second) // ten market hours: two 4h candles close
	var closed market.Series
	for len(closed) < 2 {
		ev, ok := next(t, ch)
		require.True(t, ok)
		if ev.Closed {
			closed = append(closed, ev.Candle)
		}
	}
	day := time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC).Unix()
	assert.Equal(t, series(t, m, "USDJPY-OTC", market.H4, start.Add(-3*time.Hour).Unix(), day+4*3600), closed)
}

func TestStreamEndsWithSessionAndMarket(t *testing.T) {
	clk := newFakeClock(wednesdayNoon())
	m, err := New(Config{DataDir: t.TempDir(), Now: clk.Now})
	require.NoError(t, err)
	s := m.Factory()()
	ch1, err := s.SubscribeCandles(context.Background(), broker.SubscribeRequest{Symbol: "EURUSD", Timeframe: market.M1})
	require.NoError(t, err)
	require.NoError(t, s.Close(context.Background()))
	for range ch1 { // closes with the session
	}
	_, err = s.SubscribeCandles(context.Background(), broker.SubscribeRequest{Symbol: "EURUSD", Timeframe: market.M1})
	require.ErrorIs(t, err, broker.ErrSessionNotFound)

	ch2, err := m.Factory()().SubscribeCandles(context.Background(), broker.SubscribeRequest{Symbol: "EURUSD", Timeframe: market.M5})
	require.NoError(t, err)
	require.NoError(t, m.Close())
	for range ch2 { // closes with the market
	}
	_, err = m.Factory()().Instruments(context.Background())
	require.ErrorIs(t, err, broker.ErrUnavailable)
}

// TestStreamSlowConsumerDoesNotBlockMarket: a subscriber that never reads
// holds back only itself; the market keeps serving and settling.
func TestStreamSlowConsumerDoesNotBlockMarket(t *testing.T) {
	clk := newFakeClock(wednesdayNoon())
	m := newMarket(t, t.TempDir(), clk, func(c *Config) { c.TimeScale = 3600 })
	_, err := m.Factory()().SubscribeCandles(context.Background(), broker.SubscribeRequest{Symbol: "EURUSD-OTC", Timeframe: market.M1})
	require.NoError(t, err)
	clk.Advance(24 * time.Second) // 1440 closed candles, far beyond the buffer
	s := login(t, m, "patient", "pw-patient")
	o, err := s.PlaceOrder(context.Background(), broker.OrderRequest{ClientOrderID: "x", Symbol: "EURUSD-OTC", Side: market.Call, Amount: dec("5"), Expiry: time.Minute})
	require.NoError(t, err)
	clk.Advance(time.Second)
	m.settleDue()
	got, err := s.GetOrder(context.Background(), o.ClientOrderID)
	require.NoError(t, err)
	assert.True(t, got.State.Final())
}

// TestStreamWakeups: the poll interval follows market seconds at scale 1
// and is clamped to ten wake-ups per wall second at high scales.
func TestStreamWakeups(t *testing.T) {
	tests := []struct {
		scale    float64
		at       time.Duration // into the market second
		min, max time.Duration
	}{
		{1, 0, 900 * time.Millisecond, time.Second},
		{1, 950 * time.Millisecond, minWake, minWake},
		{60, 0, minWake, minWake},
		{3600, 500 * time.Millisecond, minWake, minWake},
		{0.5, 0, maxWake, maxWake},
	}
	for _, tt := range tests {
		st := &candleStream{m: &Market{clock: &clock{scale: tt.scale}}}
		got := st.wait(wednesdayNoon().Add(tt.at))
		assert.GreaterOrEqual(t, got, tt.min, "scale %v", tt.scale)
		assert.LessOrEqual(t, got, tt.max, "scale %v", tt.scale)
	}
}
