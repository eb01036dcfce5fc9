package bots_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/market"
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

// holdTrader is a batchTrader that holds the first batch with an order of
// userID until release is closed.
type holdTrader struct {
	*batchTrader
	userID  int64
	held    atomic.Bool
	release chan struct{}
}

func (h *holdTrader) PlaceBatch(ctx context.Context, reqs []bots.OrderRequest) []error {
	for _, r := range reqs {
		if r.UserID == h.userID {
			if h.held.CompareAndSwap(false, true) {
				select {
				case <-h.release:
				case <-ctx.Done():
				}
			}
			break
		}
	}
	return h.batchTrader.PlaceBatch(ctx, reqs)
}

// A worker held up by one user's slow broker call does not stall the
// others: once its queue is full, signals spill to the queue every worker
// drains. (A broker slow on every call can still hold every worker, each
// for at most the trader's own timeout.)
func TestSlowBatchDoesNotStallOtherUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ht := &holdTrader{batchTrader: &batchTrader{}, release: make(chan struct{})}
		e := newEnv(t, st, envOpts{trader: ht, botOpts: bots.Options{OrderWorkers: 2, OrderBatch: 1}})
		ht.recTrader = e.trader
		e.newService()
		e.run()
		t.Cleanup(func() {
			select {
			case <-ht.release:
			default:
				close(ht.release)
			}
		})
		ctx := ctxT(t)
		alice, aliceAcct := e.user("alice", "pro")
		e.user("carol", "pro")
		bob, bobAcct := e.user("bob", "pro")
		// Alice and bob on the same worker's queue (two workers): only the
		// spill-over can keep alice trading.
		require.Equal(t, alice%2, bob%2, "user ids %d and %d", alice, bob)
		ht.userID = bob
		start := func(user, acct int64) int64 {
			b, err := e.svc.Create(ctx, user, eager(acct))
			require.NoError(t, err)
			_, err = e.svc.Start(ctx, user, b.ID)
			require.NoError(t, err)
			return b.ID
		}
		bobBot := start(bob, bobAcct)
		aliceBot := start(alice, aliceAcct)
		e.events.waitN(t, 4, "alice's orders while bob's first is held", ordered(aliceBot))
		close(ht.release)
		e.events.waitN(t, 2, "bob's orders after the release", ordered(bobBot))
	})
}

// Bots of one strategy plugin share BatchOnCandle messages, whichever
// handle each holds (every bot asks the manager for its own), up to the
// byte limit; another plugin's bots go in messages of their own.
func TestBotsOfOnePluginShareMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite(t), envOpts{})
	ctx := ctxT(t)
	var handles []*pluginmgr.StrategyHandle
	for _, name := range []string{"rsi", "rsi", "macd", "rsi", "macd"} {
		h, err := e.pm.Strategy(ctx, name)
		require.NoError(t, err)
		handles = append(handles, h)
	}
	window := make(market.Series, 100)
	for i := range window {
		window[i] = market.Candle{Time: int64(i) * 60, Open: 1, High: 1, Low: 1, Close: 1}
	}
	warmups := []int{50, 100, 100, 10, 200}
	assert.Equal(t, [][]int{{0, 1, 3}, {2, 4}}, bots.ChunkInstances(handles, warmups, window, 1<<20))
	// With 7,000 bytes a message (48 a candle): bot 1's 100 candles do not
	// fit after bot 0's 50, so it opens a message that bot 3's 10 then
	// join; the second macd bot's 100 do not fit after the first's.
	assert.Equal(t, [][]int{{0}, {1, 3}, {2}, {4}}, bots.ChunkInstances(handles, warmups, window, 7000))
}
