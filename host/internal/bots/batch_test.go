package bots_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// pauseTrader holds its first two batches until the test releases them
// and fails every order of the second as its account not connected.
type pauseTrader struct {
	*batchTrader
	calls          atomic.Int32
	holding        chan int32
	first, second  chan struct{}
	releaseOnClean sync.Once
}

func (p *pauseTrader) PlaceBatch(ctx context.Context, reqs []bots.OrderRequest) []error {
	n := p.calls.Add(1)
	if n > 2 {
		return p.batchTrader.PlaceBatch(ctx, reqs)
	}
	p.holding <- n
	release := p.first
	if n == 2 {
		release = p.second
	}
	select {
	case <-release:
	case <-ctx.Done():
	}
	if n == 1 {
		return p.batchTrader.PlaceBatch(ctx, reqs)
	}
	out := make([]error, len(reqs))
	for i := range out {
		out[i] = fmt.Errorf("%w: session closed", bots.ErrAccountNotConnected)
	}
	return out
}

// PauseAccount pauses an account's bots under their locks and then waits
// for their orders in flight; the batch in flight, failing because the
// account is gone, pauses the same bots. Neither waits for the other for
// good: the worker leaves every bot's gate before it pauses any.
func TestPauseAccountDuringItsBotsBatch(t *testing.T) {
	pt := &pauseTrader{batchTrader: &batchTrader{}, holding: make(chan int32, 2),
		first: make(chan struct{}), second: make(chan struct{})}
	e := newEnv(t, storetest.OpenSQLite(t), envOpts{trader: pt, botOpts: bots.Options{OrderWorkers: 1}})
	pt.recTrader = e.trader
	e.newService()
	e.run()
	t.Cleanup(func() {
		pt.releaseOnClean.Do(func() {
			for _, c := range []chan struct{}{pt.first, pt.second} {
				select {
				case <-c:
				default:
					close(c)
				}
			}
		})
	})
	ctx := ctxT(t)
	alice, acct := e.user("alice", "pro")
	var ids []int64
	for range 2 {
		b, err := e.svc.Create(ctx, alice, eager(acct))
		require.NoError(t, err)
		_, err = e.svc.Start(ctx, alice, b.ID)
		require.NoError(t, err)
		ids = append(ids, b.ID)
	}
	evaluated := func(ev bots.Event) bool { return ev.Kind == bots.EventEvaluated && ev.BotID == ids[0] }
	wait := func(what string) int32 {
		t.Helper()
		select {
		case n := <-pt.holding:
			return n
		case <-time.After(hangGuard):
			t.Fatalf("no %s", what)
			return 0
		}
	}

	// While the first batch is held, two more candles close: the one
	// before the last has queued both bots' signals, which the worker
	// then places as one batch.
	wait("first batch")
	e.events.waitN(t, e.events.count(evaluated)+2, "two more candles", evaluated)
	close(pt.first)
	wait("second batch")

	done := make(chan error, 1)
	go func() {
		n, err := e.svc.PauseAccount(ctx, alice, acct)
		if err == nil && n != 2 {
			err = fmt.Errorf("paused %d bots, want 2", n)
		}
		done <- err
	}()
	for _, id := range ids {
		e.waitStatus(alice, id, bots.StatusPaused)
	}
	// PauseAccount now waits for the batch, which fails and pauses.
	close(pt.second)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(hangGuard):
		t.Fatal("PauseAccount and the order worker wait for each other")
	}
	e.events.waitN(t, 2, "the failed orders", func(ev bots.Event) bool {
		return ev.Kind == bots.EventOrdered && errors.Is(ev.Err, bots.ErrAccountNotConnected)
	})
}
