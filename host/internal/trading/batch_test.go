package trading

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// A batch gives every request what Place would have given it: trades on
// the requester's own account with its bot id, broker refusals as
// rejected trades, and host refusals (invalid, foreign account, user and
// bot risk limits counted in request order) as errors with no trade; the
// broker holds exactly one order per placed trade, and all settle.
func TestPlaceBatch(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st)
		e.run()
		alice, aliceAcct := e.connect("alice@example.com")
		bob, bobAcct := e.connect("bob@example.com")
		require.NoError(t, e.svc.SetLimits(ctx, bob, Limits{MaxOpenTrades: 3}))

		bot := func(r PlaceRequest, id int64, l Limits) PlaceRequest {
			r.BotID, r.BotLimits = id, l
			return r
		}
		foreign := manual(bob, market.Call, "5")
		foreign.AccountID = aliceAcct
		foreign.Broker = ""
		unknownSymbol := manual(alice, market.Call, "5")
		unknownSymbol.Symbol = "NOPE-OTC"
		reqs := []PlaceRequest{
			0:  manual(alice, market.Call, "10"),
			1:  bot(manual(alice, market.Put, "11"), 7, Limits{MaxOpenTrades: 1}),
			2:  manual(bob, market.Call, "12"),
			3:  bot(manual(alice, market.Call, "13"), 7, Limits{MaxOpenTrades: 1}), // the bot's limit: its first counts
			4:  bot(manual(bob, market.Put, "14"), 9, Limits{}),
			5:  manual(alice, market.Call, "0"), // invalid
			6:  foreign,                         // bob on alice's account
			7:  manual(bob, market.Call, "15"),
			8:  manual(bob, market.Call, "16"), // bob's fourth: his limit of 3 open
			9:  unknownSymbol,
			10: manual(alice, market.Put, "20000"), // more than the paper balance: the broker refuses
		}
		keyed := manual(alice, market.Put, "9")
		keyed.IdempotencyKey, keyed.RequestHash = "batch-key", []byte("h1")
		reqs = append(reqs, keyed)
		res := e.svc.PlaceBatch(ctx, reqs)
		require.Len(t, res, len(reqs))

		// A request with an Idempotency-Key is placed once: the same key
		// in a later batch returns the same trade.
		require.NoError(t, res[11].Err)
		require.Equal(t, StatusOpen, res[11].Trade.Status)
		again := e.svc.PlaceBatch(ctx, []PlaceRequest{keyed})
		require.NoError(t, again[0].Err)
		assert.Equal(t, res[11].Trade.ID, again[0].Trade.ID)

		for _, i := range []int{0, 1, 2, 4, 7} {
			require.NoError(t, res[i].Err, "request %d", i)
			tr := res[i].Trade
			require.Equal(t, StatusOpen, tr.Status, "request %d: %s", i, tr.Error)
			assert.Equal(t, reqs[i].UserID, tr.UserID, "request %d", i)
			assert.Equal(t, reqs[i].BotID, tr.BotID, "request %d", i)
			assert.True(t, reqs[i].Amount.Equal(tr.Amount), "request %d", i)
			assert.Equal(t, reqs[i].Direction, tr.Direction, "request %d", i)
			want := aliceAcct
			if tr.UserID == bob {
				want = bobAcct
			}
			assert.Equal(t, want, tr.AccountID, "request %d", i)
			assert.NotEmpty(t, tr.BrokerOrderID)
		}
		var re *RiskError
		require.ErrorAs(t, res[3].Err, &re)
		assert.Equal(t, RuleMaxOpenTrades, re.Rule)
		assert.Contains(t, re.Message, "the bot's")
		require.ErrorAs(t, res[8].Err, &re)
		assert.Equal(t, RuleMaxOpenTrades, re.Rule)
		assert.Contains(t, re.Message, "your")
		assert.ErrorIs(t, res[5].Err, ErrInvalidRequest)
		assert.ErrorIs(t, res[6].Err, ErrAccountNotFound, "another user's account is named as an account")
		assert.ErrorIs(t, res[9].Err, ErrInvalidRequest)
		for _, i := range []int{3, 5, 6, 8, 9} {
			assert.Zero(t, res[i].Trade.ID, "request %d wrote no trade", i)
		}
		require.NoError(t, res[10].Err)
		assert.Equal(t, StatusRejected, res[10].Trade.Status)
		assert.Contains(t, res[10].Trade.Error, "insufficient")

		// Nothing leaks: each user lists only their own trades.
		aliceList, _, err := e.svc.List(ctx, alice, Filter{})
		require.NoError(t, err)
		assert.Len(t, aliceList, 4) // 0, 1, 10, 11
		bobList, _, err := e.svc.List(ctx, bob, Filter{})
		require.NoError(t, err)
		assert.Len(t, bobList, 3) // 2, 4, 7
		for _, tr := range bobList {
			assert.Equal(t, bob, tr.UserID)
		}

		for _, i := range []int{0, 1, 2, 4, 7, 11} {
			checkProfit(t, e.waitFinal(reqs[i].UserID, res[i].Trade.ID))
		}
		e.checkOrdersMatchTrades()
	})
}

// A batch whose broker call dies with the plugin (kill -9 while the call
// waits): every order of it is unknown, none is sent again, and
// reconciliation after the restart gives each its true state; the
// broker's orders equal the trade rows.
func TestPlaceBatchPluginKilled(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st, func(o *Options) { o.PlaceTimeout = time.Minute })
		alice, aliceAcct := e.connect("alice@example.com")
		bob, bobAcct := e.connect("bob@example.com")
		// A first trade warms the instrument cache, so the batch's checks
		// need nothing of the frozen process.
		first, err := e.svc.Place(ctx, manual(alice, market.Call, "10"))
		require.NoError(t, err)
		require.Equal(t, StatusOpen, first.Status)
		pid := e.paperPID()
		e.freeze(pid)
		go func() { // owned by the test: ends after the sleep
			time.Sleep(time.Second)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}()
		var reqs []PlaceRequest
		for i := range 6 {
			r := manual(alice, market.Call, "10")
			r.AccountID = aliceAcct
			if i%2 == 1 {
				r = manual(bob, market.Put, "10")
				r.AccountID = bobAcct
			}
			reqs = append(reqs, r)
		}
		res := e.svc.PlaceBatch(ctx, reqs)
		e.waitRestarted(pid)
		unknown := 0
		for i, r := range res {
			require.NoError(t, r.Err, "request %d", i)
			if r.Trade.Status == StatusUnknown {
				unknown++
			}
			// Frozen before the call: the plugin never read the orders,
			// but the host cannot know that.
			assert.Contains(t, []Status{StatusUnknown, StatusOpen}, r.Trade.Status, "request %d: %s", i, r.Trade.Error)
		}
		require.NotZero(t, unknown, "the kill left the orders it cut off unknown")
		e.clock.advance(2 * e.svc.opts.PlaceTimeout)
		_, err = e.svc.Reconcile(ctx)
		require.NoError(t, err)
		for i, r := range res {
			got, err := e.svc.Get(ctx, reqs[i].UserID, r.Trade.ID)
			require.NoError(t, err)
			assert.Contains(t, []Status{StatusRejected, StatusOpen, StatusWon, StatusLost, StatusDraw}, got.Status, "request %d", i)
		}
		e.checkOrdersMatchTrades()
	})
}

// A batch whose context has ended before anything was written fails
// every request and sends nothing.
func TestPlaceBatchCancelledBeforeWriting(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		e := newEnv(t, st)
		alice, _ := e.connect("alice@example.com")
		ctx, cancel := context.WithCancel(ctxT(t))
		sent := false
		e.accts.setPlace(func(ctx context.Context, inner broker.Broker, req broker.OrderRequest) (broker.Order, error) {
			sent = true
			return inner.PlaceOrder(ctx, req)
		})
		cancel()
		res := e.svc.PlaceBatch(ctx, []PlaceRequest{manual(alice, market.Call, "10"), manual(alice, market.Put, "10")})
		for _, r := range res {
			require.Error(t, r.Err)
			assert.True(t, errors.Is(r.Err, context.Canceled) || errors.Is(r.Err, ErrAccountNotConnected), "%v", r.Err)
		}
		assert.False(t, sent)
		assert.Empty(t, e.allTrades())
	})
}

// With Run running, PlaceBatch returns once the broker has answered and
// Run's applier records the outcomes; while orders are being placed it
// holds them (Options.ResultHold). Outcomes still queued when Run stops
// are not lost: their trades stay pending, no longer in flight, and the
// next Run's reconciliation asks the broker and opens them.
func TestBatchOutcomesQueuedAtStopAreReconciled(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st, func(o *Options) { o.ResultHold = time.Hour })
		alice, _ := e.connect("alice@example.com")

		runCtx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { // owned by the test: stopped and awaited below
			defer close(done)
			e.svc.Run(runCtx)
		}()
		eventually(t, "the applier to run", func() error {
			e.svc.outMu.Lock()
			defer e.svc.outMu.Unlock()
			if !e.svc.applying {
				return errors.New("not yet")
			}
			return nil
		})
		// Another placement in progress: the applier holds what it gets.
		e.svc.placing.Add(1)
		reqs := []PlaceRequest{manual(alice, market.Call, "10"), manual(alice, market.Put, "11")}
		res := e.svc.PlaceBatch(ctx, reqs)
		for i, r := range res {
			require.NoError(t, r.Err, "request %d", i)
			assert.Equal(t, StatusOpen, r.Trade.Status, "request %d: the broker's answer", i)
			assert.NotEmpty(t, r.Trade.BrokerOrderID, "request %d", i)
			assert.True(t, e.svc.inFlight(r.Trade.ID), "request %d: in flight until recorded", i)
		}
		stop()
		<-done
		e.svc.placing.Add(-1)
		for i, r := range res {
			tr, err := e.svc.Get(ctx, alice, r.Trade.ID)
			require.NoError(t, err)
			assert.Equal(t, StatusPending, tr.Status, "request %d: not recorded before the stop", i)
			assert.False(t, e.svc.inFlight(tr.ID), "request %d: left to reconciliation", i)
		}

		e.run()
		for _, r := range res {
			checkProfit(t, e.waitFinal(alice, r.Trade.ID))
		}
		e.checkOrdersMatchTrades()
	})
}

// A batch reuses the account checks of the batches before it
// (BatchCheckTTL); ForgetUser, called on disconnect, ends that at once:
// the next batch finds the account gone and writes no trade.
func TestForgetUserAfterDisconnect(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st, func(o *Options) { o.BatchCheckTTL = time.Hour })
		e.run()
		alice, acct := e.connect("alice@example.com")
		bob, _ := e.connect("bob@example.com")
		res := e.svc.PlaceBatch(ctx, []PlaceRequest{manual(alice, market.Call, "10"), manual(bob, market.Call, "10")})
		require.NoError(t, res[0].Err)
		require.NoError(t, res[1].Err)
		checkProfit(t, e.waitFinal(alice, res[0].Trade.ID)) // the host refuses to disconnect an account with open trades

		require.NoError(t, e.accts.Disconnect(ctx, alice, acct))
		e.svc.ForgetUser(alice)
		res = e.svc.PlaceBatch(ctx, []PlaceRequest{manual(alice, market.Call, "11"), manual(bob, market.Call, "11")})
		require.ErrorIs(t, res[0].Err, ErrAccountNotConnected)
		assert.Zero(t, res[0].Trade.ID, "no trade written")
		require.NoError(t, res[1].Err, "bob's remembered answers stay")
		assert.Equal(t, StatusOpen, res[1].Trade.Status)
	})
}

// One batch sends its accounts' orders side by side: accounts whose
// broker does not answer do not hold back the orders of the others (a
// candle close's batch spans many users, possibly several brokers).
func TestSlowAccountsDoNotHoldBackABatch(t *testing.T) {
	t.Parallel()
	st := storetest.OpenSQLite(t)
	ctx := ctxT(t)
	// No call times out during the test: only concurrency can let the
	// fast account's order through.
	e := newEnv(t, st, func(o *Options) { o.PlaceTimeout = time.Hour })
	var reqs []PlaceRequest
	for i := range 9 { // more than the old bound of 8 calls at once
		u, _ := e.connect(fmt.Sprintf("slow%d@example.com", i))
		reqs = append(reqs, manual(u, market.Call, "7"))
	}
	fast, _ := e.connect("fast@example.com")
	reqs = append(reqs, manual(fast, market.Call, "5"))

	seenFast, release := make(chan struct{}), make(chan struct{})
	releaseAll := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseAll) // a failed test still lets the batch finish
	e.accts.setPlace(func(ctx context.Context, b broker.Broker, req broker.OrderRequest) (broker.Order, error) {
		if req.Amount.Equal(decimal.NewFromInt(5)) {
			close(seenFast)
			return b.PlaceOrder(ctx, req)
		}
		select {
		case <-release:
		case <-ctx.Done():
			return broker.Order{}, ctx.Err()
		}
		return b.PlaceOrder(ctx, req)
	})
	done := make(chan []PlaceResult, 1)
	go func() { done <- e.svc.PlaceBatch(ctx, reqs) }() // awaited below
	select {
	case <-seenFast:
	case <-time.After(30 * time.Second): // hang guard only
		t.Fatal("the fast account's order waited for the slow accounts")
	}
	releaseAll()
	for i, r := range <-done {
		require.NoError(t, r.Err, "request %d", i)
		assert.Equal(t, StatusOpen, r.Trade.Status, "request %d", i)
	}
}
