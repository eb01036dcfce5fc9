package trading

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// requireRule asserts err is a *RiskError of rule.
func requireRule(t *testing.T, err error, rule string) {
	t.Helper()
	require.ErrorIs(t, err, ErrRiskLimit)
	var re *RiskError
	require.True(t, errors.As(err, &re), "%v", err)
	require.Equal(t, rule, re.Rule, "%v", err)
}

// settle applies a synthetic broker result to an open trade, as the
// result stream does (Run is not running in these tests, so the paper
// broker's own results are never applied).
func (e *env) settle(tr Trade, st broker.OrderState, profit string) {
	e.t.Helper()
	n, err := e.svc.applyPushed(context.Background(), []pushed{{tr.AccountID, result(tr, st, profit)}})
	require.NoError(e.t, err)
	require.Equal(e.t, 1, n)
}

// Each limit refuses with its rule, for the user's limits and for a bot's.
func TestRiskLimits(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st)

		// Defaults apply without a row.
		u := addUser(t, st, "fresh@example.com")
		l, err := e.svc.Limits(ctx, u)
		require.NoError(t, err)
		assert.Equal(t, DefaultLimits(), l)

		alice, _ := e.connect("alice@example.com")

		// Max stake, user and bot.
		require.NoError(t, e.svc.SetLimits(ctx, alice, Limits{MaxStake: decimal.NewFromInt(50)}))
		_, err = e.svc.Place(ctx, manual(alice, market.Call, "50.01"))
		requireRule(t, err, RuleMaxStake)
		botReq := manual(alice, market.Call, "20")
		botReq.BotID, botReq.BotLimits = 1, Limits{MaxStake: decimal.NewFromInt(10)}
		_, err = e.svc.Place(ctx, botReq)
		requireRule(t, err, RuleMaxStake)
		assert.Contains(t, err.Error(), "bot")

		// Max open trades: the user's counts every trade, the bot's only
		// its own.
		require.NoError(t, e.svc.SetLimits(ctx, alice, Limits{MaxOpenTrades: 2}))
		first, err := e.svc.Place(ctx, manual(alice, market.Call, "5"))
		require.NoError(t, err)
		botReq = manual(alice, market.Put, "5")
		botReq.BotID, botReq.BotLimits = 1, Limits{MaxOpenTrades: 1}
		botTrade, err := e.svc.Place(ctx, botReq)
		require.NoError(t, err)
		_, err = e.svc.Place(ctx, manual(alice, market.Call, "5"))
		requireRule(t, err, RuleMaxOpenTrades)
		require.NoError(t, e.svc.SetLimits(ctx, alice, Limits{}))
		_, err = e.svc.Place(ctx, botReq)
		requireRule(t, err, RuleMaxOpenTrades)
		e.settle(first, broker.Won, "4.25")
		e.settle(botTrade, broker.Lost, "-5")

		// Max trades per day (UTC): two placed today; rejected ones do not
		// count; tomorrow starts afresh.
		require.NoError(t, e.svc.SetLimits(ctx, alice, Limits{MaxTradesPerDay: 3}))
		rej, err := e.svc.Place(ctx, manual(alice, market.Call, "15000"))
		require.NoError(t, err)
		require.Equal(t, StatusRejected, rej.Status)
		third, err := e.svc.Place(ctx, manual(alice, market.Call, "5"))
		require.NoError(t, err)
		_, err = e.svc.Place(ctx, manual(alice, market.Call, "5"))
		requireRule(t, err, RuleMaxTradesPerDay)
		e.clock.advance(24 * time.Hour)
		fourth, err := e.svc.Place(ctx, manual(alice, market.Call, "5"))
		require.NoError(t, err, "a new UTC day")
		e.settle(third, broker.Draw, "0")
		e.settle(fourth, broker.Lost, "-5")

		// Daily loss: today's realized losses minus wins.
		require.NoError(t, e.svc.SetLimits(ctx, alice, Limits{MaxDailyLoss: decimal.NewFromInt(12)}))
		a, err := e.svc.Place(ctx, manual(alice, market.Call, "5"))
		require.NoError(t, err, "lost 5 today")
		e.settle(a, broker.Won, "4.25")
		b, err := e.svc.Place(ctx, manual(alice, market.Call, "10"))
		require.NoError(t, err, "net loss 0.75")
		e.settle(b, broker.Lost, "-10")
		c, err := e.svc.Place(ctx, manual(alice, market.Call, "2"))
		require.NoError(t, err, "net loss 10.75")
		e.settle(c, broker.Lost, "-2")
		_, err = e.svc.Place(ctx, manual(alice, market.Call, "2"))
		requireRule(t, err, RuleMaxDailyLoss)
		e.clock.advance(24 * time.Hour)

		// Cool-down after N losses in a row; a win ends the streak.
		require.NoError(t, e.svc.SetLimits(ctx, alice, Limits{CooldownLosses: 2, Cooldown: time.Hour}))
		// b and c (yesterday) were two losses in a row, but long ago.
		x, err := e.svc.Place(ctx, manual(alice, market.Call, "5"))
		require.NoError(t, err, "the last two losses are older than the cool-down")
		e.settle(x, broker.Won, "4.25")
		y, err := e.svc.Place(ctx, manual(alice, market.Call, "5"))
		require.NoError(t, err)
		e.settle(y, broker.Lost, "-5")
		z, err := e.svc.Place(ctx, manual(alice, market.Call, "5"))
		require.NoError(t, err, "one loss after a win")
		e.settle(z, broker.Lost, "-5")
		_, err = e.svc.Place(ctx, manual(alice, market.Call, "5"))
		requireRule(t, err, RuleCooldown)
		e.clock.advance(time.Hour)
		_, err = e.svc.Place(ctx, manual(alice, market.Call, "5"))
		require.NoError(t, err, "the cool-down is over")

		// A bot's cool-down counts only its own trades.
		require.NoError(t, e.svc.SetLimits(ctx, alice, Limits{}))
		botReq = manual(alice, market.Call, "5")
		botReq.BotID, botReq.BotLimits = 7, Limits{CooldownLosses: 1, Cooldown: time.Hour}
		bt, err := e.svc.Place(ctx, botReq)
		require.NoError(t, err)
		e.settle(bt, broker.Lost, "-5")
		_, err = e.svc.Place(ctx, botReq)
		requireRule(t, err, RuleCooldown)
		_, err = e.svc.Place(ctx, manual(alice, market.Call, "5"))
		require.NoError(t, err, "manual trades are not under the bot's cool-down")

		// Negative limits are invalid.
		assert.ErrorIs(t, e.svc.SetLimits(ctx, alice, Limits{MaxTradesPerDay: -1}), ErrInvalidRequest)
		assert.ErrorIs(t, e.svc.SetLimits(ctx, alice, Limits{MaxStake: decimal.NewFromInt(-1)}), ErrInvalidRequest)
		got, err := e.svc.Limits(ctx, alice)
		require.NoError(t, err)
		assert.Equal(t, Limits{}, got)
		e.checkOrdersMatchTrades()
	})
}

// 100 concurrent Places with one Idempotency-Key create one trade and one
// broker order, and all return it; the key with another request is a
// conflict.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st)
		alice, _ := e.connect("alice@example.com")
		req := manual(alice, market.Call, "10")
		req.IdempotencyKey = "key-1"
		sum := sha256.Sum256([]byte(`{"amount":10}`))
		req.RequestHash = sum[:]

		const n = 100
		ids := make([]int64, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				tr, err := e.svc.Place(ctx, req)
				ids[i], errs[i] = tr.ID, err
			})
		}
		close(start)
		wg.Wait()
		for i := range n {
			require.NoError(t, errs[i])
			require.Equal(t, ids[0], ids[i], "every caller gets the same trade")
		}
		require.Len(t, e.allTrades(), 1)
		require.Len(t, e.paperOrders(), 1)
		e.checkOrdersMatchTrades()

		again, err := e.svc.Place(ctx, req)
		require.NoError(t, err)
		assert.Equal(t, ids[0], again.ID)
		assert.Equal(t, StatusOpen, again.Status)

		other := req
		otherSum := sha256.Sum256([]byte(`{"amount":11}`))
		other.RequestHash = otherSum[:]
		_, err = e.svc.Place(ctx, other)
		assert.ErrorIs(t, err, ErrIdempotencyConflict)

		// Keys are per user.
		bob, _ := e.connect("bob@example.com")
		bobReq := req
		bobReq.UserID = bob
		bt, err := e.svc.Place(ctx, bobReq)
		require.NoError(t, err)
		assert.NotEqual(t, ids[0], bt.ID)
		assert.Len(t, e.allTrades(), 2)
	})
}

// Concurrent Places against MaxOpenTrades never exceed it.
func TestConcurrentMaxOpenTrades(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st)
		alice, _ := e.connect("alice@example.com")
		const limit, n = 5, 40
		require.NoError(t, e.svc.SetLimits(ctx, alice, Limits{MaxOpenTrades: limit}))
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			placed  int
			refused int
			other   []error
		)
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				_, err := e.svc.Place(ctx, manual(alice, market.Call, "1"))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					placed++
				case errors.Is(err, ErrRiskLimit):
					refused++
				default:
					other = append(other, err)
				}
			})
		}
		close(start)
		wg.Wait()
		require.Empty(t, other)
		assert.Equal(t, limit, placed)
		assert.Equal(t, n-limit, refused)
		assert.Len(t, e.allTrades(), limit)
		e.checkOrdersMatchTrades()
	})
}

// Stats' max drawdown is the largest fall from a running peak of
// cumulative profit, in close order.
func TestStatsDrawdown(t *testing.T) {
	t.Parallel()
	acc := &statsAcc{}
	for _, p := range []string{"8.5", "-10", "-10", "8.5", "-10", "20", "-1"} {
		st := StatusWon
		if p[0] == '-' {
			st = StatusLost
		}
		acc.add(st, decimal.RequireFromString(p))
	}
	acc.add(StatusDraw, decimal.Zero)
	r := acc.done()
	assert.Equal(t, 8, r.Trades)
	assert.Equal(t, 3, r.Wins)
	assert.Equal(t, 4, r.Losses)
	assert.Equal(t, 1, r.Draws)
	assert.Equal(t, "6", r.Profit.String())
	// Peak 8.5 after the first trade, trough -13 after the fifth.
	assert.Equal(t, "21.5", r.MaxDrawdown.String())
	assert.InDelta(t, 3.0/8, r.WinRate, 1e-12)

	loser := &statsAcc{}
	loser.add(StatusLost, decimal.NewFromInt(-3))
	assert.Equal(t, "3", loser.done().MaxDrawdown.String(), "the starting balance is the first peak")
	assert.Equal(t, fmt.Sprint(0.0), fmt.Sprint((&statsAcc{}).done().WinRate))
}

// A user without a limits row trades under DefaultLimits (read in the same
// statement that locks the user on PostgreSQL), and a stored row replaces
// them.
func TestRiskDefaultLimitsWithoutRow(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st)
		alice, _ := e.connect("alice@example.com")
		require.NoError(t, st.Update(ctx, store.Tenant(alice), func(tx *sqlx.Tx) error {
			_, err := tx.Exec(tx.Rebind(`DELETE FROM user_limits WHERE user_id = ?`), alice)
			return err
		}))
		over := DefaultLimits().MaxStake.Add(decimal.NewFromInt(1))
		_, err := e.svc.Place(ctx, manual(alice, market.Call, over.String()))
		requireRule(t, err, RuleMaxStake)

		require.NoError(t, e.svc.SetLimits(ctx, alice, Limits{MaxStake: over}))
		tr, err := e.svc.Place(ctx, manual(alice, market.Call, over.String()))
		require.NoError(t, err)
		assert.Equal(t, StatusOpen, tr.Status, tr.Error)
	})
}
