package paper

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

func order(id, symbol string, side market.Side, amount string, expiry time.Duration) broker.OrderRequest {
	return broker.OrderRequest{ClientOrderID: id, Symbol: symbol, Side: side, Amount: dec(amount), Expiry: expiry}
}

func TestPlaceOrderValidation(t *testing.T) {
	clk := newFakeClock(wednesdayNoon())
	m := newMarket(t, t.TempDir(), clk)
	s := login(t, m, "grace", "pw-grace")
	ok := order("ok", "EURUSD", market.Call, "10", time.Minute)
	with := func(f func(*broker.OrderRequest)) broker.OrderRequest { r := ok; f(&r); return r }
	saturday := time.Date(2024, 3, 9, 12, 0, 0, 0, time.UTC)
	fridayLate := time.Date(2024, 3, 8, 20, 59, 0, 0, time.UTC)
	tests := []struct {
		name string
		at   time.Time
		req  broker.OrderRequest
		want error
	}{
		{"unknown symbol", wednesdayNoon(), with(func(r *broker.OrderRequest) { r.Symbol = "XAUUSD" }), broker.ErrUnknownInstrument},
		{"empty client id", wednesdayNoon(), with(func(r *broker.OrderRequest) { r.ClientOrderID = "" }), broker.ErrInvalidOrder},
		{"client id too long", wednesdayNoon(), with(func(r *broker.OrderRequest) { r.ClientOrderID = fmt.Sprintf("%065d", 1) }), broker.ErrInvalidOrder},
		{"invalid side", wednesdayNoon(), with(func(r *broker.OrderRequest) { r.Side = 0 }), broker.ErrInvalidOrder},
		{"below min stake", wednesdayNoon(), with(func(r *broker.OrderRequest) { r.Amount = dec("0.99") }), broker.ErrInvalidOrder},
		{"above max stake", wednesdayNoon(), with(func(r *broker.OrderRequest) { r.Amount = dec("20000.01") }), broker.ErrInvalidOrder},
		{"three decimals", wednesdayNoon(), with(func(r *broker.OrderRequest) { r.Amount = dec("1.005") }), broker.ErrInvalidOrder},
		{"expiry not offered", wednesdayNoon(), with(func(r *broker.OrderRequest) { r.Expiry = 30 * time.Second }), broker.ErrInvalidOrder},
		{"expiry 10m not offered", wednesdayNoon(), with(func(r *broker.OrderRequest) { r.Expiry = 10 * time.Minute }), broker.ErrInvalidOrder},
		{"stop loss", wednesdayNoon(), with(func(r *broker.OrderRequest) { r.StopLoss = dec("1.2") }), broker.ErrInvalidOrder},
		{"insufficient funds", wednesdayNoon(), with(func(r *broker.OrderRequest) { r.Amount = dec("10000.01") }), broker.ErrInsufficientFunds},
		{"weekend", saturday, ok, broker.ErrMarketClosed},
		{"expiry after the close", fridayLate, with(func(r *broker.OrderRequest) { r.Expiry = 2 * time.Minute }), broker.ErrMarketClosed},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Set(tt.at)
			_, err := s.PlaceOrder(ctx, tt.req)
			require.ErrorIs(t, err, tt.want)
		})
	}
	n, err := m.OrderCount("grace")
	require.NoError(t, err)
	assert.Zero(t, n, "rejected orders are not stored")
	_, err = s.GetOrder(ctx, "ok")
	require.ErrorIs(t, err, broker.ErrOrderNotFound)

	// The same clock (now Friday 20:59) still takes a 60s OTC order and a
	// 60s regular one that expires exactly before the close.
	_, err = s.PlaceOrder(ctx, order("otc", "EURUSD-OTC", market.Put, "1", time.Minute))
	require.NoError(t, err)
	_, err = s.PlaceOrder(ctx, order("last", "EURUSD", market.Put, "1", time.Minute))
	require.ErrorIs(t, err, broker.ErrMarketClosed, "expires at 21:00:00, the first closed second")
}

func TestExpiryGrid(t *testing.T) {
	at := func(h, m, s int) int64 { return time.Date(2024, 3, 6, h, m, s, 0, time.UTC).Unix() }
	tests := []struct {
		placed, want int64
	}{
		{at(12, 0, 0), at(12, 15, 0)},
		{at(12, 7, 30), at(12, 15, 0)},
		{at(12, 10, 0), at(12, 15, 0)},  // exactly five minutes
		{at(12, 10, 1), at(12, 30, 0)},  // less than five minutes left: next quarter
		{at(23, 55, 0), at(24, 0, 0)},   // midnight
		{at(23, 55, 30), at(24, 15, 0)}, // across midnight
	}
	for _, tt := range tests {
		got, ok := expiryTime(tt.placed, 15*time.Minute)
		require.True(t, ok)
		assert.Equal(t, time.Unix(tt.want, 0).UTC(), time.Unix(got, 0).UTC(), "placed %s", time.Unix(tt.placed, 0).UTC())
	}
	got, ok := expiryTime(at(12, 0, 7), 3*time.Minute)
	require.True(t, ok)
	assert.Equal(t, at(12, 3, 7), got)
	_, ok = expiryTime(at(12, 0, 0), 90*time.Second)
	assert.False(t, ok)

	clk := newFakeClock(time.Date(2024, 3, 6, 12, 7, 30, 0, time.UTC))
	m := newMarket(t, t.TempDir(), clk)
	o, err := login(t, m, "heidi", "pw-heidi").PlaceOrder(context.Background(), order("q", "EURUSD", market.Call, "5", 15*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, time.Date(2024, 3, 6, 12, 15, 0, 0, time.UTC), o.ExpiresAt)
	assert.Equal(t, 15*time.Minute, o.Expiry, "the requested duration is kept")
}

func TestPlaceOrderIdempotent(t *testing.T) {
	dir := t.TempDir()
	clk := newFakeClock(wednesdayNoon())
	ctx := context.Background()
	m1, err := New(Config{DataDir: dir, Seed: 42, Now: clk.Now})
	require.NoError(t, err)
	s := login(t, m1, "ivan", "pw-ivan")

	// Concurrent retries of one id open one trade.
	var wg sync.WaitGroup
	got := make([]broker.Order, 8)
	for i := range got {
		wg.Go(func() {
			var err error
			got[i], err = s.PlaceOrder(ctx, order("dup", "GBPJPY", market.Call, "100", 5*time.Minute))
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	for _, o := range got {
		assert.Equal(t, got[0], o)
	}
	clk.Advance(10 * time.Second)
	again, err := s.PlaceOrder(ctx, order("dup", "EURUSD", market.Put, "7", time.Minute))
	require.NoError(t, err)
	assert.Equal(t, got[0], again, "a retry returns the first order whatever it says")
	bal, err := s.Balance(ctx)
	require.NoError(t, err)
	assert.Equal(t, "9900.00", bal.Amount.StringFixed(2), "debited once")
	require.NoError(t, m1.Close())

	m2 := newMarket(t, dir, clk)
	s2 := login(t, m2, "ivan", "pw-ivan")
	after, err := s2.PlaceOrder(ctx, order("dup", "GBPJPY", market.Call, "100", 5*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, got[0], after, "idempotent across restarts")
	n, err := m2.OrderCount("ivan")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	bal, err = s2.Balance(ctx)
	require.NoError(t, err)
	assert.Equal(t, "9900.00", bal.Amount.StringFixed(2))
}

// minuteWith finds the first minute ≥ from at which a 60s option on in
// would end with the wanted relation of close to entry (+1 up, -1 down,
// 0 equal).
func minuteWith(t *testing.T, in *instrument, from int64, rel int) int64 {
	t.Helper()
	for m := from - floorMod(from, 60) + 60; m < from+30*daySeconds; m += 60 {
		entry, closing := in.path.at(m), in.path.at(m+60)
		if (rel > 0 && closing > entry) || (rel < 0 && closing < entry) || (rel == 0 && closing == entry) {
			return m
		}
	}
	t.Fatalf("no minute with relation %d", rel)
	return 0
}

func TestSettlement(t *testing.T) {
	clk := newFakeClock(wednesdayNoon())
	m := newMarket(t, t.TempDir(), clk)
	s := login(t, m, "judy", "pw-judy")
	ctx := context.Background()
	const symbol = "EURGBP-OTC"
	in := m.bySymbol[symbol]
	payout := decimal.NewFromInt(int64(in.payout))
	stake := dec("10.55") // × payout% has fractions of a cent
	tests := []struct {
		name  string
		side  market.Side
		rel   int
		state broker.OrderState
	}{
		{"call up wins", market.Call, +1, broker.Won},
		{"call down loses", market.Call, -1, broker.Lost},
		{"put down wins", market.Put, -1, broker.Won},
		{"put up loses", market.Put, +1, broker.Lost},
		{"call equal draws", market.Call, 0, broker.Draw},
		{"put equal draws", market.Put, 0, broker.Draw},
	}
	balance := dec("10000")
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := minuteWith(t, in, clk.Now().Unix(), tt.rel)
			clk.Set(time.Unix(at, 0))
			o, err := s.PlaceOrder(ctx, broker.OrderRequest{ClientOrderID: fmt.Sprint("s", i), Symbol: symbol, Side: tt.side, Amount: stake, Expiry: time.Minute})
			require.NoError(t, err)
			require.Equal(t, broker.Open, o.State)
			balance = balance.Sub(stake)

			clk.Set(time.Unix(at+59, 0))
			m.settleDue()
			o, err = s.GetOrder(ctx, o.ClientOrderID)
			require.NoError(t, err)
			require.Equal(t, broker.Open, o.State, "not before the expiry second")

			clk.Set(time.Unix(at+60, 0))
			m.settleDue()
			o, err = s.GetOrder(ctx, o.ClientOrderID)
			require.NoError(t, err)
			require.Equal(t, tt.state, o.State)
			var wantProfit decimal.Decimal
			switch tt.state {
			case broker.Won:
				wantProfit = stake.Mul(payout).DivRound(decimal.NewFromInt(100), 2)
			case broker.Lost:
				wantProfit = stake.Neg()
			}
			assert.True(t, wantProfit.Equal(o.Profit), "profit %s, want %s", o.Profit, wantProfit)
			assert.Equal(t, time.Unix(at+60, 0).UTC(), o.ClosedAt)
			balance = balance.Add(stake).Add(wantProfit)
			bal, err := s.Balance(ctx)
			require.NoError(t, err)
			assert.Equal(t, balance.StringFixed(2), bal.Amount.StringFixed(2))

			// Entry and close are public prices: the opens of the placement
			// minute and of the next minute.
			c := series(t, m, symbol, market.M1, at, at+120)
			require.Len(t, c, 1, "only the placement minute has closed")
			assert.Equal(t, c[0].Open, o.OpenPrice)
			assert.Equal(t, in.priceOf(in.path.at(at+60)), o.ClosePrice)
		})
	}
	assert.Equal(t, "8.97", dec("10.55").Mul(dec("85")).DivRound(dec("100"), 2).String(), "half-up to cents")
}

// TestSettlementAfterDowntime: an order that expired while no process ran
// settles on the next start with the historical price.
func TestSettlementAfterDowntime(t *testing.T) {
	dir := t.TempDir()
	clk := newFakeClock(wednesdayNoon())
	ctx := context.Background()
	m1, err := New(Config{DataDir: dir, Seed: 42, Now: clk.Now})
	require.NoError(t, err)
	in := m1.bySymbol["USDCAD"]
	at := minuteWith(t, in, clk.Now().Unix(), -1)
	clk.Set(time.Unix(at, 0))
	s := login(t, m1, "ken", "pw-ken")
	placed, err := s.PlaceOrder(ctx, order("down", "USDCAD", market.Put, "20", 2*time.Minute))
	require.NoError(t, err)
	require.NoError(t, m1.Close())

	clk.Advance(3 * time.Hour)
	m2 := newMarket(t, dir, clk) // settles in New
	s2 := login(t, m2, "ken", "pw-ken")
	o, err := s2.GetOrder(ctx, "down")
	require.NoError(t, err)
	want := outcomeOf(in, placed)
	assert.Equal(t, want, o.State)
	assert.Equal(t, in.priceOf(in.path.at(at+120)), o.ClosePrice)
	assert.Equal(t, placed.ExpiresAt, o.ClosedAt)
	bal, err := s2.Balance(ctx)
	require.NoError(t, err)
	assert.Equal(t, dec("9980").Add(o.Amount).Add(o.Profit).StringFixed(2), bal.Amount.StringFixed(2))

	// And it stays settled once, across another restart.
	require.NoError(t, m2.Close())
	m3 := newMarket(t, dir, clk)
	o3, err := login(t, m3, "ken", "pw-ken").GetOrder(ctx, "down")
	require.NoError(t, err)
	assert.Equal(t, o, o3)
}

func outcomeOf(in *instrument, o broker.Order) broker.OrderState {
	st, _ := outcome(o.Side, o.OpenPrice, in.priceOf(in.path.at(o.ExpiresAt.Unix())), o.Amount, o.PayoutPercent)
	return st
}

// TestOrderResults: the settlement loop itself (no direct settleDue) pushes
// the final order to every subscriber of the account.
func TestOrderResults(t *testing.T) {
	clk := newFakeClock(wednesdayNoon())
	m := newMarket(t, t.TempDir(), clk)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s1 := login(t, m, "liz", "pw-liz")
	s2 := login(t, m, "liz", "pw-liz")
	other := login(t, m, "mallory", "pw-mallory")
	ch1, err := s1.OrderResults(ctx)
	require.NoError(t, err)
	ch2, err := s2.OrderResults(ctx)
	require.NoError(t, err)
	chOther, err := other.OrderResults(ctx)
	require.NoError(t, err)

	_, err = s1.PlaceOrder(ctx, order("r1", "AUDCAD-OTC", market.Call, "3", time.Minute))
	require.NoError(t, err)
	clk.Advance(time.Minute)
	for _, ch := range []<-chan broker.Order{ch1, ch2} {
		select {
		case o := <-ch:
			require.True(t, o.State.Final())
			stored, err := s2.GetOrder(ctx, "r1")
			require.NoError(t, err)
			assert.Equal(t, stored, o)
		case <-time.After(guard):
			t.Fatal("no settlement pushed")
		}
	}
	select {
	case o := <-chOther:
		t.Fatalf("another account's order leaked: %+v", o)
	default:
	}

	require.NoError(t, s1.Close(ctx))
	for range ch1 { // closed with its session
	}
	cancel()
	for range ch2 { // closed with ctx
	}
}

// TestFullSubscriberDoesNotBlockSettlement: a subscriber that never reads
// misses events beyond its buffer; settlement goes on.
func TestFullSubscriberDoesNotBlockSettlement(t *testing.T) {
	clk := newFakeClock(wednesdayNoon())
	m := newMarket(t, t.TempDir(), clk)
	s := login(t, m, "niaj", "pw-niaj")
	ctx := context.Background()
	ch, err := s.OrderResults(ctx)
	require.NoError(t, err)
	n := orderBuffer + 4
	for i := range n {
		_, err := s.PlaceOrder(ctx, order(fmt.Sprint("o", i), "EURCHF-OTC", market.Put, "1", time.Minute))
		require.NoError(t, err)
	}
	clk.Advance(time.Minute)
	m.settleDue()
	for i := range n {
		o, err := s.GetOrder(ctx, fmt.Sprint("o", i))
		require.NoError(t, err)
		require.True(t, o.State.Final())
	}
	assert.Len(t, ch, orderBuffer)
}
