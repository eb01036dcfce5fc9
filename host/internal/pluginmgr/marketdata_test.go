package pluginmgr

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
	"github.com/stc-trading/stc/sdk/plugin"
)

// slowStats reads the mock's counters of SLOW candle calls: in flight
// now, entered in all, and the most in flight at once.
func slowStats(t *testing.T, b broker.Broker) (inflight, entered, most int) {
	t.Helper()
	list, err := b.Instruments(ctxT(t))
	require.NoError(t, err)
	for _, in := range list {
		if in.Symbol == "STATS" {
			_, err := fmt.Sscanf(in.Name, "%d %d %d", &inflight, &entered, &most)
			require.NoError(t, err)
			return inflight, entered, most
		}
	}
	t.Fatal("the mock lists no STATS instrument")
	return 0, 0, 0
}

func slowCandles(ms int) broker.CandlesRequest {
	return broker.CandlesRequest{Symbol: "SLOW", Timeframe: market.M1, From: 600, PageSize: ms}
}

func order(id string) broker.OrderRequest {
	return broker.OrderRequest{ClientOrderID: id, Symbol: "EURUSD", Side: market.Call, Amount: decimal.NewFromInt(5), Expiry: time.Minute}
}

// A history read that outlasts its deadline says the request was heavy,
// not that the plugin is stuck: however many time out in a row, a broker
// that answers its health checks keeps running, and its sessions with it.
func TestSlowCandlesNeverRestartTheBroker(t *testing.T) {
	m, rec := newManager(t, Options{
		CallTimeout: 150 * time.Millisecond, MarketDataTimeout: 150 * time.Millisecond,
		TimeoutsBeforeRestart: 2, HealthInterval: 20 * time.Millisecond,
	})
	ctx := ctxT(t)
	h, err := m.Broker(ctx, "mock")
	require.NoError(t, err)
	_, err = h.OpenSession(ctx, "acct", mockCreds("alice"))
	require.NoError(t, err)
	pid := statusOf(t, m, plugin.KindBroker, "mock", "").PID

	// Anonymous and account sessions alike, one after another: on the old
	// code the second timeout asked for a SIGKILL.
	for i, s := range []broker.Broker{h.Session(""), h.Session("acct"), h.Session(""), h.Session("acct")} {
		_, err := s.Candles(context.Background(), slowCandles(0))
		require.ErrorIs(t, err, context.DeadlineExceeded, "call %d", i)
		assert.NotErrorIs(t, err, ErrPluginExited)
	}
	sl, err := m.slot(h.shared.entry, "", false)
	require.NoError(t, err)
	sl.mu.Lock()
	cur := sl.cur
	sl.mu.Unlock()
	require.NotNil(t, cur, "the process is still the running one")
	assert.Zero(t, cur.timeouts.Load(), "market-data timeouts are not counted")
	assert.Empty(t, cur.restart, "no restart was asked for")

	// Health pings go on answering (many intervals pass while we wait for
	// an exit that must not come); the order path works on the same pid.
	assert.Never(t, func() bool {
		for _, e := range rec.all() {
			if e.Type == EventExited || e.Type == EventRestarted {
				return true
			}
		}
		return false
	}, 500*time.Millisecond, 20*time.Millisecond, "the broker was restarted: %v", rec.all())
	o, err := h.Session("acct").PlaceOrder(ctx, order("after-slow-reads"))
	require.NoError(t, err)
	assert.Equal(t, broker.Open, o.State)
	st := statusOf(t, m, plugin.KindBroker, "mock", "")
	assert.Equal(t, pid, st.PID)
	assert.Zero(t, st.Restarts)

	// Order-path timeouts still count as before: a deadlocked adapter is
	// still replaced.
	for range 2 {
		_, err := h.Session("acct").PlaceOrder(context.Background(), broker.OrderRequest{
			ClientOrderID: "hang", Symbol: "HANG", Side: market.Call, Amount: decimal.NewFromInt(1), Expiry: time.Minute})
		require.ErrorIs(t, err, context.DeadlineExceeded)
	}
	exited := rec.waitFor(t, "exited", isEvent(EventExited, "mock"))
	assert.Contains(t, exited.Err.Error(), "2 calls in a row timed out")
}

// Candles calls of one process run at most MarketDataConcurrency at a
// time, under their own deadline; orders never wait behind them.
func TestMarketDataCallsHaveTheirOwnSlotsAndDeadline(t *testing.T) {
	m, _ := newManager(t, Options{CallTimeout: 100 * time.Millisecond, MarketDataTimeout: hangGuard, MarketDataConcurrency: 2})
	ctx := ctxT(t)
	h, err := m.Broker(ctx, "mock")
	require.NoError(t, err)
	_, err = h.OpenSession(ctx, "acct", mockCreds("alice"))
	require.NoError(t, err)
	anon, acct := h.Session(""), h.Session("acct")

	// Six history reads of 300 ms at once, from both sessions: each one
	// outlasts CallTimeout, and all succeed under MarketDataTimeout.
	const reads = 6
	errs := make(chan error, reads)
	var wg sync.WaitGroup
	for i := range reads {
		s := anon
		if i%2 == 1 {
			s = acct
		}
		wg.Go(func() {
			_, err := s.Candles(context.Background(), slowCandles(300))
			errs <- err
		})
	}
	// Meanwhile the order path is served: it never waits for a slot.
	require.Eventually(t, func() bool { inflight, _, _ := slowStats(t, anon); return inflight > 0 }, hangGuard, 5*time.Millisecond)
	for i := range 3 {
		_, err := acct.PlaceOrder(ctx, order(fmt.Sprintf("during-reads-%d", i)))
		require.NoError(t, err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	_, entered, most := slowStats(t, anon)
	assert.Equal(t, reads, entered)
	assert.LessOrEqual(t, most, 2, "at most MarketDataConcurrency candle calls reached the plugin at once")

	// An order call keeps CallTimeout.
	_, err = acct.PlaceOrder(context.Background(), broker.OrderRequest{
		ClientOrderID: "hang", Symbol: "HANG", Side: market.Call, Amount: decimal.NewFromInt(1), Expiry: time.Minute})
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// A read that finds every slot taken until its deadline is never sent.
	hold, release := context.WithCancel(ctx)
	var holders sync.WaitGroup
	for range 2 {
		holders.Go(func() { _, _ = anon.Candles(hold, slowCandles(0)) })
	}
	require.Eventually(t, func() bool { inflight, _, _ := slowStats(t, anon); return inflight == 2 }, hangGuard, 5*time.Millisecond)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = anon.Candles(short, slowCandles(1))
	cancel()
	require.ErrorIs(t, err, ErrMarketDataBusy)
	release()
	holders.Wait()
	_, entered, _ = slowStats(t, anon)
	assert.Equal(t, reads+2, entered, "the refused read never reached the plugin")
}
