package pluginmgr

import (
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
)

func mockOrder(id, symbol string) broker.OrderRequest {
	return broker.OrderRequest{ClientOrderID: id, Symbol: symbol, Side: market.Call, Amount: decimal.NewFromInt(5), Expiry: time.Minute}
}

func TestBrokerPlaceOrders(t *testing.T) {
	m, _ := newManager(t, Options{})
	ctx := ctxT(t)
	b, err := m.Broker(ctx, "mock")
	require.NoError(t, err)
	_, err = b.OpenSession(ctx, "acct", mockCreds("bob"))
	require.NoError(t, err)
	bp, ok := b.Session("acct").(broker.BatchPlacer)
	require.True(t, ok, "the session proxy takes batches")

	res, err := bp.PlaceOrders(ctx, []broker.OrderRequest{mockOrder("o-1", "EURUSD"), mockOrder("o-2", "CLOSED"), mockOrder("o-1", "EURUSD")})
	require.NoError(t, err)
	require.Len(t, res, 3)
	require.NoError(t, res[0].Err)
	assert.Equal(t, broker.Open, res[0].Order.State)
	assert.ErrorIs(t, res[1].Err, broker.ErrMarketClosed)
	require.NoError(t, res[2].Err)
	assert.Equal(t, res[0].Order.BrokerOrderID, res[2].Order.BrokerOrderID)
	got, err := b.Session("acct").GetOrder(ctx, "o-1")
	require.NoError(t, err)
	assert.Equal(t, res[0].Order.BrokerOrderID, got.BrokerOrderID)

	_, err = broker.PlaceOrders(ctx, b.Session("nobody"), []broker.OrderRequest{mockOrder("o-3", "EURUSD")})
	assert.ErrorIs(t, err, broker.ErrSessionNotFound)
}

// A batch in flight when the process dies fails as a whole with
// ErrPluginExited, and nothing re-sends it to the new process.
func TestBrokerPlaceOrdersKilledMidBatch(t *testing.T) {
	m, rec := newManager(t, Options{})
	ctx := ctxT(t)
	b, err := m.Broker(ctx, "mock")
	require.NoError(t, err)
	_, err = b.OpenSession(ctx, "acct", mockCreds("bob"))
	require.NoError(t, err)
	s := b.Session("acct")
	bp, ok := s.(broker.BatchPlacer)
	require.True(t, ok)

	type answer struct {
		res []broker.OrderResult
		err error
	}
	inflight := make(chan answer, 1)
	go func() {
		res, err := bp.PlaceOrders(ctx, []broker.OrderRequest{mockOrder("o-1", "EURUSD"), mockOrder("o-hang", "HANG")})
		inflight <- answer{res, err}
	}()
	// o-1 is in the book while o-hang holds the call open.
	for {
		if _, err := s.GetOrder(ctx, "o-1"); err == nil {
			break
		}
		select {
		case a := <-inflight:
			t.Fatalf("the batch returned before the kill: %+v", a)
		case <-ctx.Done():
			t.Fatal("the batch never reached the plugin")
		case <-time.After(5 * time.Millisecond):
		}
	}
	old := statusOf(t, m, plugin.KindBroker, "mock", "")
	require.NoError(t, syscall.Kill(old.PID, syscall.SIGKILL))
	a := <-inflight
	assert.ErrorIs(t, a.err, ErrPluginExited)
	assert.Nil(t, a.res, "no per-order results from a call that died")

	restarted := rec.waitFor(t, "restarted", isEvent(EventRestarted, "mock"))
	assert.NotEqual(t, old.PID, restarted.PID)
	// The new process re-opened the session but never saw the batch: the
	// mock keeps orders in memory, so a re-sent batch would show here.
	for _, id := range []string{"o-1", "o-hang"} {
		_, err = s.GetOrder(ctx, id)
		assert.ErrorIs(t, err, broker.ErrOrderNotFound, id)
	}
}
