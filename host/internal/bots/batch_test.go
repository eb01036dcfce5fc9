package bots_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// batchTrader is a recTrader that also takes batches, and counts them.
type batchTrader struct {
	*recTrader
	mu      sync.Mutex
	batches int
	largest int
}

func (b *batchTrader) PlaceBatch(ctx context.Context, reqs []bots.OrderRequest) []error {
	b.mu.Lock()
	b.batches++
	b.largest = max(b.largest, len(reqs))
	b.mu.Unlock()
	out := make([]error, len(reqs))
	for i, r := range reqs {
		out[i] = b.Place(ctx, r)
	}
	return out
}

// With a BatchTrader the runner places signals through PlaceBatch, and an
// error for one order of a batch is that bot's alone: a bot whose account
// is gone pauses while the other users' bots on the same candles keep
// trading.
func TestBatchTraderErrorsArePerBot(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		bt := &batchTrader{}
		e := newEnv(t, st, envOpts{trader: bt})
		bt.recTrader = e.trader
		e.newService()
		e.run()
		ctx := ctxT(t)
		alice, aliceAcct := e.user("alice", "pro")
		bob, bobAcct := e.user("bob", "pro")
		var ids []int64
		for _, u := range []struct{ user, acct int64 }{{alice, aliceAcct}, {alice, aliceAcct}, {bob, bobAcct}} {
			b, err := e.svc.Create(ctx, u.user, eager(u.acct))
			require.NoError(t, err)
			_, err = e.svc.Start(ctx, u.user, b.ID)
			require.NoError(t, err)
			ids = append(ids, b.ID)
		}
		for _, id := range ids {
			e.events.waitN(t, 1, "an order", ordered(id))
		}

		require.NoError(t, e.acc.Disconnect(ctx, bob, bobAcct))
		got := e.waitStatus(bob, ids[2], bots.StatusPaused)
		assert.Equal(t, bots.ReasonAccountNotConnected, got.StatusReason)
		n := len(e.trader.ordersOf(ids[0]))
		e.events.waitN(t, n+2, "alice's orders go on", ordered(ids[0]))
		for _, id := range ids[:2] {
			b, err := e.svc.Get(ctx, alice, id)
			require.NoError(t, err)
			assert.Equal(t, bots.StatusRunning, b.Status)
		}
		bt.mu.Lock()
		defer bt.mu.Unlock()
		assert.Positive(t, bt.batches, "orders went through PlaceBatch")
		assert.LessOrEqual(t, bt.largest, 1000)
	})
}
