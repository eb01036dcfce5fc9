package paper

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

func placeBatch(t *testing.T, s broker.Broker, reqs ...broker.OrderRequest) []broker.OrderResult {
	t.Helper()
	bp, ok := s.(broker.BatchPlacer)
	require.True(t, ok, "paper sessions take batches")
	res, err := bp.PlaceOrders(context.Background(), reqs)
	require.NoError(t, err)
	require.Len(t, res, len(reqs))
	return res
}

func logRecords(t *testing.T, m *Market, user string) []record {
	t.Helper()
	a, ok := m.account(user)
	require.True(t, ok)
	recs, err := readLog(a.file)
	require.NoError(t, err)
	return recs
}

func TestPlaceOrdersBatch(t *testing.T) {
	dir := t.TempDir()
	clk := newFakeClock(wednesdayNoon())
	ctx := context.Background()
	m1, err := New(Config{DataDir: dir, Seed: 42, Now: clk.Now})
	require.NoError(t, err)
	s := login(t, m1, "bea", "pw-bea")
	_, err = s.PlaceOrder(ctx, order("old", "EURUSD", market.Put, "1", time.Minute))
	require.NoError(t, err)

	res := placeBatch(t, s,
		order("b1", "EURUSD", market.Call, "10", time.Minute),
		order("b2", "GBPJPY", market.Put, "20", 5*time.Minute),
		order("bad", "EURUSD", market.Call, "0.5", time.Minute),
		order("sym", "XAUUSD", market.Call, "10", time.Minute),
		order("b1", "GBPJPY", market.Put, "99", time.Minute),
		order("old", "GBPJPY", market.Call, "50", time.Minute),
		order("", "EURUSD", market.Call, "10", time.Minute),
	)
	require.NoError(t, res[0].Err)
	require.NoError(t, res[1].Err)
	assert.Equal(t, broker.Open, res[0].Order.State)
	assert.Equal(t, "GBPJPY", res[1].Order.Symbol)
	assert.NotEqual(t, res[0].Order.BrokerOrderID, res[1].Order.BrokerOrderID)
	assert.ErrorIs(t, res[2].Err, broker.ErrInvalidOrder)
	assert.ErrorIs(t, res[3].Err, broker.ErrUnknownInstrument)
	require.NoError(t, res[4].Err)
	assert.Equal(t, res[0].Order, res[4].Order, "a repeated id gets the first order of the batch")
	require.NoError(t, res[5].Err)
	assert.Equal(t, "EURUSD", res[5].Order.Symbol, "an id the account holds gets its stored order")
	assert.ErrorIs(t, res[6].Err, broker.ErrInvalidOrder)
	bal, err := s.Balance(ctx)
	require.NoError(t, err)
	assert.Equal(t, "9969.00", bal.Amount.StringFixed(2), "debited 1 + 10 + 20")
	assert.Len(t, logRecords(t, m1, "bea"), 4, "open, old, b1, b2")

	again := placeBatch(t, s, order("b2", "EURUSD", market.Call, "1", time.Minute), order("b1", "EURUSD", market.Call, "1", time.Minute))
	assert.Equal(t, res[1].Order, again[0].Order)
	assert.Equal(t, res[0].Order, again[1].Order)
	bal, err = s.Balance(ctx)
	require.NoError(t, err)
	assert.Equal(t, "9969.00", bal.Amount.StringFixed(2), "a repeated batch debits nothing")
	require.NoError(t, m1.Close())

	m2 := newMarket(t, dir, clk)
	s2 := login(t, m2, "bea", "pw-bea")
	bal, err = s2.Balance(ctx)
	require.NoError(t, err)
	assert.Equal(t, "9969.00", bal.Amount.StringFixed(2), "the batch survives a restart")
	got, err := s2.GetOrder(ctx, "b2")
	require.NoError(t, err)
	assert.Equal(t, res[1].Order, got)
	n, err := m2.OrderCount("bea")
	require.NoError(t, err)
	assert.Equal(t, 3, n)

	// The batch settles like single orders.
	clk.Advance(6 * time.Minute)
	m2.settleDue()
	for _, id := range []string{"b1", "b2"} {
		o, err := s2.GetOrder(ctx, id)
		require.NoError(t, err)
		assert.True(t, o.State.Final(), "%s is %v", id, o.State)
	}
}

func TestPlaceOrdersCannotOverdraw(t *testing.T) {
	clk := newFakeClock(wednesdayNoon())
	m := newMarket(t, t.TempDir(), clk)
	s := login(t, m, "cyd", "pw-cyd")
	res := placeBatch(t, s,
		order("a", "EURUSD", market.Call, "4000", time.Minute),
		order("b", "EURUSD", market.Call, "4000", time.Minute),
		order("c", "EURUSD", market.Call, "4000", time.Minute),
		order("d", "EURUSD", market.Call, "2000", time.Minute),
	)
	require.NoError(t, res[0].Err)
	require.NoError(t, res[1].Err)
	assert.ErrorIs(t, res[2].Err, broker.ErrInsufficientFunds)
	require.NoError(t, res[3].Err, "the balance left after a, b takes d")
	bal, err := s.Balance(context.Background())
	require.NoError(t, err)
	assert.True(t, bal.Amount.IsZero(), "balance %s", bal.Amount)
}

func TestPlaceOrdersFailedPersistAppliesNothing(t *testing.T) {
	dir := t.TempDir()
	clk := newFakeClock(wednesdayNoon())
	ctx := context.Background()
	m1, err := New(Config{DataDir: dir, Seed: 42, Now: clk.Now})
	require.NoError(t, err)
	s := login(t, m1, "dov", "pw-dov")
	_, err = s.PlaceOrder(ctx, order("kept", "EURUSD", market.Put, "5", time.Minute))
	require.NoError(t, err)

	a, ok := m1.account("dov")
	require.True(t, ok)
	a.mu.Lock()
	file := a.file
	a.file = filepath.Join(dir, "missing", "log") // every append fails
	a.mu.Unlock()
	batch := []broker.OrderRequest{
		order("n1", "EURUSD", market.Call, "10", time.Minute),
		order("kept", "GBPJPY", market.Call, "10", time.Minute),
		order("bad", "NOPE", market.Call, "10", time.Minute),
		order("n2", "EURUSD", market.Put, "10", time.Minute),
	}
	res := placeBatch(t, s, batch...)
	assert.ErrorIs(t, res[0].Err, broker.ErrUnavailable)
	require.NoError(t, res[1].Err, "a stored order needs no append")
	assert.Equal(t, "EURUSD", res[1].Order.Symbol)
	assert.ErrorIs(t, res[2].Err, broker.ErrUnknownInstrument)
	assert.ErrorIs(t, res[3].Err, broker.ErrUnavailable)
	_, err = s.PlaceOrder(ctx, order("n3", "EURUSD", market.Put, "10", time.Minute))
	assert.ErrorIs(t, err, broker.ErrUnavailable, "a single order takes the same path")
	bal, err := s.Balance(ctx)
	require.NoError(t, err)
	assert.Equal(t, "9995.00", bal.Amount.StringFixed(2), "nothing debited")
	for _, id := range []string{"n1", "n2", "n3"} {
		_, err = s.GetOrder(ctx, id)
		assert.ErrorIs(t, err, broker.ErrOrderNotFound, id)
	}
	m1.book.mu.Lock()
	assert.Len(t, m1.book.h, 1, "only kept is in the settlement book")
	m1.book.mu.Unlock()

	a.mu.Lock()
	a.file = file
	a.mu.Unlock()
	res = placeBatch(t, s, batch...)
	require.NoError(t, res[0].Err, "the retry succeeds once the disk is back")
	require.NoError(t, res[3].Err)
	require.NoError(t, m1.Close())

	m2 := newMarket(t, dir, clk)
	s2 := login(t, m2, "dov", "pw-dov")
	n, err := m2.OrderCount("dov")
	require.NoError(t, err)
	assert.Equal(t, 3, n, "kept, n1, n2: each once")
	bal, err = s2.Balance(ctx)
	require.NoError(t, err)
	assert.Equal(t, "9975.00", bal.Amount.StringFixed(2))
}
