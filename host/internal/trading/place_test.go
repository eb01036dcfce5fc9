package trading

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// Manual trades go to the user's paper account, open with the broker's
// data, and settle from the broker with profit = amount × payout / 100 on
// a win, −amount on a loss and 0 on a draw; the paper broker holds one
// order per trade row; stats add up.
func TestPlaceOpensAndSettles(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st)
		e.run()
		alice, acct := e.connect("alice@example.com")

		var ids []int64
		for i, amt := range []string{"10", "12.5", "7", "20", "3.33", "100"} {
			side := market.Call
			if i%2 == 1 {
				side = market.Put
			}
			req := manual(alice, side, amt)
			if i >= 4 {
				req.BotID = 42 // a bot's trade on the same account
			}
			tr, err := e.svc.Place(ctx, req)
			require.NoError(t, err)
			require.Equal(t, StatusOpen, tr.Status, "trade %d: %s", tr.ID, tr.Error)
			assert.Equal(t, alice, tr.UserID)
			assert.Equal(t, acct, tr.AccountID)
			assert.Equal(t, req.BotID, tr.BotID)
			assert.Equal(t, "paper", tr.Broker)
			assert.NotEmpty(t, tr.BrokerOrderID)
			assert.NotEmpty(t, tr.ClientOrderID)
			assert.True(t, tr.OpenPrice.IsPositive())
			assert.True(t, tr.Payout.IsPositive())
			assert.Equal(t, time.Minute, tr.ExpiresAt.Sub(tr.OpenedAt))
			assert.False(t, tr.HasProfit)
			ids = append(ids, tr.ID)
		}

		var settled []Trade
		for _, id := range ids {
			tr := e.waitFinal(alice, id)
			require.True(t, tr.HasProfit, "trade %d: %s", id, tr.Status)
			switch tr.Status {
			case StatusWon:
				want := tr.Amount.Mul(tr.Payout).Div(decimal.NewFromInt(100)).Round(2)
				assert.True(t, want.Equal(tr.Profit), "won: profit %s, want %s", tr.Profit, want)
			case StatusLost:
				assert.True(t, tr.Amount.Neg().Equal(tr.Profit), "lost: profit %s", tr.Profit)
			case StatusDraw:
				assert.True(t, tr.Profit.IsZero(), "draw: profit %s", tr.Profit)
			default:
				t.Fatalf("trade %d settled as %s", id, tr.Status)
			}
			assert.False(t, tr.ClosedAt.IsZero())
			assert.True(t, tr.ClosePrice.IsPositive())
			settled = append(settled, tr)
		}
		e.checkOrdersMatchTrades()

		// Stats add up per bot and in total.
		stats, err := e.svc.Stats(ctx, alice, time.Time{}, time.Time{})
		require.NoError(t, err)
		require.Len(t, stats.PerBot, 2)
		assert.Equal(t, int64(0), stats.PerBot[0].BotID)
		assert.Equal(t, int64(42), stats.PerBot[1].BotID)
		assert.Equal(t, 4, stats.PerBot[0].Trades)
		assert.Equal(t, 2, stats.PerBot[1].Trades)
		sum := decimal.Zero
		wins := 0
		for _, tr := range settled {
			sum = sum.Add(tr.Profit)
			if tr.Status == StatusWon {
				wins++
			}
		}
		assert.Equal(t, 6, stats.Totals.Trades)
		assert.Equal(t, 6, stats.Totals.Wins+stats.Totals.Losses+stats.Totals.Draws)
		assert.Equal(t, wins, stats.Totals.Wins)
		assert.True(t, sum.Equal(stats.Totals.Profit), "total profit %s, want %s", stats.Totals.Profit, sum)
		assert.True(t, stats.PerBot[0].Profit.Add(stats.PerBot[1].Profit).Equal(sum))
		assert.InDelta(t, float64(wins)/6, stats.Totals.WinRate, 1e-9)
		assert.False(t, stats.Totals.MaxDrawdown.IsNegative())

		// A window after every close holds nothing.
		empty, err := e.svc.Stats(ctx, alice, time.Now().Add(24*time.Hour), time.Time{})
		require.NoError(t, err)
		assert.Zero(t, empty.Totals.Trades)

		recent, err := e.svc.RecentSettled(ctx, alice, 42, 10)
		require.NoError(t, err)
		require.Len(t, recent, 2)
		assert.False(t, recent[0].ClosedAt.Before(recent[1].ClosedAt), "newest first")
		recentManual, err := e.svc.RecentSettled(ctx, alice, 0, 3)
		require.NoError(t, err)
		assert.Len(t, recentManual, 3)
	})
}

// Refusals by the broker become rejected trades with the reason; requests
// the host can refuse itself create no trade at all.
func TestRejectedAndRefused(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st)
		alice, acct := e.connect("alice@example.com")

		// Insufficient funds: paper accounts start with 10,000.
		tr, err := e.svc.Place(ctx, manual(alice, market.Call, "15000"))
		require.NoError(t, err)
		assert.Equal(t, StatusRejected, tr.Status)
		assert.Contains(t, tr.Error, "insufficient funds")
		// More than two decimals: an invalid order at paper.
		tr, err = e.svc.Place(ctx, manual(alice, market.Put, "10.001"))
		require.NoError(t, err)
		assert.Equal(t, StatusRejected, tr.Status)
		assert.Contains(t, tr.Error, "invalid order")

		for name, req := range map[string]PlaceRequest{
			"unknown symbol":    {UserID: alice, Broker: "paper", Symbol: "NOPE", Direction: market.Call, Amount: decimal.NewFromInt(5), Expiration: time.Minute},
			"below min stake":   manual(alice, market.Call, "0.5"),
			"above max stake":   manual(alice, market.Call, "20001"),
			"expiry not listed": {UserID: alice, Broker: "paper", Symbol: otc, Direction: market.Call, Amount: decimal.NewFromInt(5), Expiration: 7 * time.Second},
			"no direction":      {UserID: alice, Broker: "paper", Symbol: otc, Amount: decimal.NewFromInt(5), Expiration: time.Minute},
			"zero amount":       manual(alice, market.Call, "0"),
			"negative amount":   manual(alice, market.Call, "-5"),
			"no broker":         {UserID: alice, Symbol: otc, Direction: market.Call, Amount: decimal.NewFromInt(5), Expiration: time.Minute},
			"other broker":      {UserID: alice, AccountID: acct, Broker: "iqoption", Symbol: otc, Direction: market.Call, Amount: decimal.NewFromInt(5), Expiration: time.Minute},
			"key without hash":  {UserID: alice, Broker: "paper", Symbol: otc, Direction: market.Call, Amount: decimal.NewFromInt(5), Expiration: time.Minute, IdempotencyKey: "k"},
			"negative bot lim":  {UserID: alice, Broker: "paper", Symbol: otc, Direction: market.Call, Amount: decimal.NewFromInt(5), Expiration: time.Minute, BotID: 1, BotLimits: Limits{MaxOpenTrades: -1}},
		} {
			_, err := e.svc.Place(ctx, req)
			assert.ErrorIs(t, err, ErrInvalidRequest, name)
		}

		// No account at the broker, and another user's account.
		bob := addUser(t, st, "bob@example.com")
		_, err = e.svc.Place(ctx, manual(bob, market.Call, "5"))
		assert.ErrorIs(t, err, ErrAccountNotConnected)
		req := manual(bob, market.Call, "5")
		req.AccountID = acct
		_, err = e.svc.Place(ctx, req)
		assert.ErrorIs(t, err, ErrAccountNotFound, "another user's account is named as an account")
		assert.NotErrorIs(t, err, ErrNotFound, "not as a missing trade")

		// The plan forbids it.
		e.policy.mu.Lock()
		e.policy.deny = true
		e.policy.mu.Unlock()
		_, err = e.svc.Place(ctx, manual(alice, market.Call, "5"))
		assert.ErrorIs(t, err, ErrNotEntitled)
		e.policy.mu.Lock()
		e.policy.deny = false
		e.policy.mu.Unlock()

		// Only the two broker refusals were written, and neither reached
		// the broker's book.
		assert.Len(t, e.allTrades(), 2)
		e.checkOrdersMatchTrades()

		// A call that never left the host: the plugin manager is closed
		// between taking the session and placing the order.
		e.accts.setPlace(func(ctx context.Context, inner broker.Broker, req broker.OrderRequest) (broker.Order, error) {
			require.NoError(t, e.plugins.Close(context.Background()))
			return inner.PlaceOrder(ctx, req)
		})
		tr, err = e.svc.Place(ctx, manual(alice, market.Call, "5"))
		require.NoError(t, err)
		assert.Equal(t, StatusRejected, tr.Status)
		assert.Contains(t, tr.Error, pluginmgr.ErrPluginUnavailable.Error())
		e.checkOrdersMatchTrades()
	})
}

// Another user sees none of alice's trades, by id, in lists or in stats,
// and on PostgreSQL row-level security hides them even from a query that
// forgets its user_id filter.
func TestTenancy(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st)
		e.run()
		alice, _ := e.connect("alice@example.com")
		bob, _ := e.connect("bob@example.com")
		tr, err := e.svc.Place(ctx, manual(alice, market.Call, "10"))
		require.NoError(t, err)
		e.waitFinal(alice, tr.ID)

		_, err = e.svc.Get(ctx, bob, tr.ID)
		assert.ErrorIs(t, err, ErrNotFound)
		list, next, err := e.svc.List(ctx, bob, Filter{})
		require.NoError(t, err)
		assert.Empty(t, list)
		assert.Zero(t, next)
		stats, err := e.svc.Stats(ctx, bob, time.Time{}, time.Time{})
		require.NoError(t, err)
		assert.Zero(t, stats.Totals.Trades)
		assert.Empty(t, stats.PerBot)
		recent, err := e.svc.RecentSettled(ctx, bob, 0, 10)
		require.NoError(t, err)
		assert.Empty(t, recent)
		got, err := e.svc.Get(ctx, alice, tr.ID)
		require.NoError(t, err)
		assert.Equal(t, tr.ID, got.ID)

		if st.Dialect() == store.DialectPostgres {
			var n int
			require.NoError(t, st.View(ctx, store.Tenant(bob), func(tx *sqlx.Tx) error {
				return tx.Get(&n, `SELECT count(*) FROM trades`)
			}))
			assert.Zero(t, n, "row-level security hides alice's trades from bob")
		}
	})
}

// List filters by bot, manual, symbol, status and time, and pages with a
// cursor, newest first.
func TestListFiltersAndPages(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st)
		alice, _ := e.connect("alice@example.com")
		var ids []int64
		for i := range 7 {
			req := manual(alice, market.Call, "5")
			if i%2 == 1 {
				req.BotID = 9
			}
			tr, err := e.svc.Place(ctx, req)
			require.NoError(t, err)
			ids = append(ids, tr.ID)
		}
		rej, err := e.svc.Place(ctx, manual(alice, market.Call, "15000"))
		require.NoError(t, err)
		require.Equal(t, StatusRejected, rej.Status)

		var seen []int64
		cursor := int64(0)
		for {
			page, next, err := e.svc.List(ctx, alice, Filter{Limit: 3, Cursor: cursor})
			require.NoError(t, err)
			for _, tr := range page {
				seen = append(seen, tr.ID)
			}
			if next == 0 {
				break
			}
			cursor = next
		}
		want := append([]int64{rej.ID}, reverse(ids)...)
		assert.Equal(t, want, seen)

		bots, _, err := e.svc.List(ctx, alice, Filter{BotID: 9})
		require.NoError(t, err)
		assert.Len(t, bots, 3)
		manuals, _, err := e.svc.List(ctx, alice, Filter{Manual: true})
		require.NoError(t, err)
		assert.Len(t, manuals, 5)
		rejected, _, err := e.svc.List(ctx, alice, Filter{Status: StatusRejected})
		require.NoError(t, err)
		require.Len(t, rejected, 1)
		assert.Equal(t, rej.ID, rejected[0].ID)
		none, _, err := e.svc.List(ctx, alice, Filter{Symbol: "GBPUSD"})
		require.NoError(t, err)
		assert.Empty(t, none)
		later, _, err := e.svc.List(ctx, alice, Filter{From: e.clock.Now().Add(time.Hour)})
		require.NoError(t, err)
		assert.Empty(t, later)
		all, _, err := e.svc.List(ctx, alice, Filter{To: e.clock.Now().Add(time.Hour)})
		require.NoError(t, err)
		assert.Len(t, all, 8)

		_, _, err = e.svc.List(ctx, alice, Filter{BotID: 9, Manual: true})
		assert.ErrorIs(t, err, ErrInvalidRequest)
		_, _, err = e.svc.List(ctx, alice, Filter{Status: "bogus"})
		assert.ErrorIs(t, err, ErrInvalidRequest)
	})
}

func reverse(xs []int64) []int64 {
	out := make([]int64, len(xs))
	for i, x := range xs {
		out[len(xs)-1-i] = x
	}
	return out
}

// classify sorts PlaceOrder failures into definite refusals and unknown
// outcomes.
func TestClassify(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want Status
	}{
		{broker.NewError(broker.ErrMarketClosed, "closed"), StatusRejected},
		{broker.NewError(broker.ErrInsufficientFunds, "poor"), StatusRejected},
		{broker.ErrInvalidOrder, StatusRejected},
		{broker.ErrUnknownInstrument, StatusRejected},
		{broker.ErrUnsupported, StatusRejected},
		{broker.RateLimited(time.Second, "slow down"), StatusRejected},
		{fmt.Errorf("x: %w", pluginmgr.ErrPluginUnavailable), StatusRejected},
		{fmt.Errorf("x: %w: %w", pluginmgr.ErrPluginExited, errors.New("EOF")), StatusUnknown},
		{context.DeadlineExceeded, StatusUnknown},
		{context.Canceled, StatusUnknown},
		{broker.ErrUnavailable, StatusUnknown},
		{errors.New("connection reset"), StatusUnknown},
	} {
		assert.Equal(t, c.want, classify(c.err), "%v", c.err)
	}
}

// applyRow returns the row as it is after the transition: the updated row
// (UPDATE … RETURNING) when the transition applies, the unchanged row when
// the trade is no longer in one of its from states, and ErrNotFound for
// another user's trade, which it leaves alone.
func TestChangeApplyRow(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st)
		alice, _ := e.connect("alice@example.com")
		bob := addUser(t, st, "bob@example.com")
		tr, err := e.svc.Place(ctx, manual(alice, market.Call, "5"))
		require.NoError(t, err)
		require.Equal(t, StatusOpen, tr.Status, tr.Error)

		var applied bool
		apply := func(user int64, c change) (Trade, error) {
			var out Trade
			err := st.Update(ctx, store.Tenant(user), func(tx *sqlx.Tx) error {
				r, ok, err := c.applyRow(tx, user, tr.ID)
				out, applied = r.trade(), ok
				return err
			})
			return out, err
		}
		// Applies: an open trade rechecked later keeps its status and
		// returns its fields.
		got, err := apply(alice, recheckChange(StatusOpen, time.Now(), "look again"))
		require.NoError(t, err)
		assert.True(t, applied)
		assert.Equal(t, StatusOpen, got.Status)
		assert.Equal(t, "look again", got.Error)
		assert.Equal(t, tr.ClientOrderID, got.ClientOrderID)
		assert.Equal(t, tr.OpenPrice, got.OpenPrice)

		// Does not apply: rejection only moves pending or unknown trades.
		got, err = apply(alice, rejectedChange("too late", time.Now()))
		require.NoError(t, err)
		assert.False(t, applied)
		assert.Equal(t, StatusOpen, got.Status)
		assert.Equal(t, "look again", got.Error)

		// Another user's trade: not found, and untouched.
		_, err = apply(bob, rejectedChange("not yours", time.Now()))
		require.ErrorIs(t, err, ErrNotFound)
		_, err = apply(bob, recheckChange(StatusOpen, time.Now(), "not yours"))
		require.ErrorIs(t, err, ErrNotFound)
		got, err = e.svc.Get(ctx, alice, tr.ID)
		require.NoError(t, err)
		assert.Equal(t, StatusOpen, got.Status)
		assert.Equal(t, "look again", got.Error)
	})
}
