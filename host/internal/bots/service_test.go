package bots_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/market"
)

func TestCRUD(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		ctx := ctxT(t)
		alice, acct := e.user("alice", "pro")

		sp := rsiSpec(acct)
		sp.Params = map[string]string{"period": "21", "oversold": "25"}
		sp.Limits = bots.Limits{MaxStake: decimal.RequireFromString("50.5"), MaxDailyLoss: decimal.NewFromInt(100),
			MaxOpenTrades: 2, MaxTradesPerDay: 40, CooldownLosses: 3, CooldownCandles: 5}
		sp.Progression = bots.Progression{Kind: bots.ProgressionMartingale, Multiplier: decimal.RequireFromString("2.2"),
			MaxSteps: 3, MaxStake: decimal.NewFromInt(200)}
		b, err := e.svc.Create(ctx, alice, sp)
		require.NoError(t, err)
		assert.Equal(t, bots.StatusStopped, b.Status)
		assert.Equal(t, alice, b.UserID)
		assert.Equal(t, "paper", b.Broker)
		assert.Equal(t, sp.Params, b.Params)
		assert.Equal(t, market.M1, b.Timeframe)
		assert.Equal(t, time.Minute, b.Expiration)
		assert.True(t, sp.Amount.Equal(b.Amount), "amount %s", b.Amount)
		assert.True(t, sp.Limits.MaxStake.Equal(b.Limits.MaxStake))
		assert.True(t, sp.Limits.MaxDailyLoss.Equal(b.Limits.MaxDailyLoss))
		assert.Equal(t, 2, b.Limits.MaxOpenTrades)
		assert.Equal(t, 40, b.Limits.MaxTradesPerDay)
		assert.Equal(t, 3, b.Limits.CooldownLosses)
		assert.Equal(t, 5, b.Limits.CooldownCandles)
		assert.Equal(t, bots.ProgressionMartingale, b.Progression.Kind)
		assert.True(t, sp.Progression.Multiplier.Equal(b.Progression.Multiplier))
		assert.Equal(t, 3, b.Progression.MaxSteps)
		assert.True(t, sp.Progression.MaxStake.Equal(b.Progression.MaxStake))
		assert.False(t, b.CreatedAt.IsZero())

		got, err := e.svc.Get(ctx, alice, b.ID)
		require.NoError(t, err)
		assert.Equal(t, b, got)

		// Pagination: three bots, pages of two.
		b2, err := e.svc.Create(ctx, alice, rsiSpec(acct))
		require.NoError(t, err)
		b3, err := e.svc.Create(ctx, alice, rsiSpec(acct))
		require.NoError(t, err)
		page, next, err := e.svc.List(ctx, alice, 2, 0)
		require.NoError(t, err)
		require.Len(t, page, 2)
		assert.Equal(t, []int64{b.ID, b2.ID}, []int64{page[0].ID, page[1].ID})
		assert.Equal(t, b2.ID, next)
		page, next, err = e.svc.List(ctx, alice, 2, next)
		require.NoError(t, err)
		require.Len(t, page, 1)
		assert.Equal(t, b3.ID, page[0].ID)
		assert.Zero(t, next)

		// Update while stopped.
		up := rsiSpec(acct)
		up.Name = "renamed"
		up.Timeframe = market.M5
		up.Expiration = 5 * time.Minute
		b2u, err := e.svc.Update(ctx, alice, b2.ID, up)
		require.NoError(t, err)
		assert.Equal(t, "renamed", b2u.Name)
		assert.Equal(t, market.M5, b2u.Timeframe)
		assert.Equal(t, bots.ProgressionNone, b2u.Progression.Kind)

		// Another user sees none of it.
		bob, bobAcct := e.user("bob", "pro")
		_, err = e.svc.Get(ctx, bob, b.ID)
		require.ErrorIs(t, err, bots.ErrNotFound)
		_, err = e.svc.Update(ctx, bob, b.ID, rsiSpec(bobAcct))
		require.ErrorIs(t, err, bots.ErrNotFound)
		_, err = e.svc.Start(ctx, bob, b.ID)
		require.ErrorIs(t, err, bots.ErrNotFound)
		_, err = e.svc.Stop(ctx, bob, b.ID)
		require.ErrorIs(t, err, bots.ErrNotFound)
		require.ErrorIs(t, e.svc.Delete(ctx, bob, b.ID), bots.ErrNotFound)
		list, _, err := e.svc.List(ctx, bob, 0, 0)
		require.NoError(t, err)
		assert.Empty(t, list)
		// ... nor may bob put a bot on alice's account: it is not found,
		// like any other user's object.
		_, err = e.svc.Create(ctx, bob, rsiSpec(acct))
		require.ErrorIs(t, err, accounts.ErrNotFound)

		require.NoError(t, e.svc.Delete(ctx, alice, b3.ID))
		_, err = e.svc.Get(ctx, alice, b3.ID)
		require.ErrorIs(t, err, bots.ErrNotFound)
		require.ErrorIs(t, e.svc.Delete(ctx, alice, b3.ID), bots.ErrNotFound)
	})
}

func TestValidation(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), envOpts{})
	ctx := ctxT(t)
	alice, acct := e.user("alice", "pro")
	money := decimal.RequireFromString
	cases := map[string]func(sp *bots.Spec){
		"empty name":            func(sp *bots.Spec) { sp.Name = " " },
		"control in name":       func(sp *bots.Spec) { sp.Name = "a\x00b" },
		"rtl override in name":  func(sp *bots.Spec) { sp.Name = "scalper\u202egnp.exe" },
		"zero width in name":    func(sp *bots.Spec) { sp.Name = "scal\u200bper" },
		"bidi isolate in name":  func(sp *bots.Spec) { sp.Name = "\u2067bot\u2069" },
		"invisible param name":  func(sp *bots.Spec) { sp.Params = map[string]string{"period\u200b": "14"} },
		"rtl param value":       func(sp *bots.Spec) { sp.Params = map[string]string{"period": "1\u202e4"} },
		"unknown strategy":      func(sp *bots.Spec) { sp.Strategy = "nope" },
		"param not a number":    func(sp *bots.Spec) { sp.Params = map[string]string{"period": "abc"} },
		"param out of range":    func(sp *bots.Spec) { sp.Params = map[string]string{"period": "1"} },
		"unknown param":         func(sp *bots.Spec) { sp.Params = map[string]string{"perio": "14"} },
		"cross-param rule":      func(sp *bots.Spec) { sp.Params = map[string]string{"oversold": "80", "overbought": "70"} },
		"no account":            func(sp *bots.Spec) { sp.AccountID = 0 },
		"unknown symbol":        func(sp *bots.Spec) { sp.Symbol = "NOPE-OTC" },
		"symbol with space":     func(sp *bots.Spec) { sp.Symbol = "EUR USD" },
		"no timeframe":          func(sp *bots.Spec) { sp.Timeframe = 0 },
		"zero amount":           func(sp *bots.Spec) { sp.Amount = decimal.Zero },
		"negative amount":       func(sp *bots.Spec) { sp.Amount = money("-1") },
		"nine decimals":         func(sp *bots.Spec) { sp.Amount = money("1.000000001") },
		"expiration 59s":        func(sp *bots.Spec) { sp.Expiration = 59 * time.Second },
		"expiration 3601s":      func(sp *bots.Spec) { sp.Expiration = 3601 * time.Second },
		"expiration fraction":   func(sp *bots.Spec) { sp.Expiration = 90*time.Second + time.Millisecond },
		"negative limit":        func(sp *bots.Spec) { sp.Limits.MaxOpenTrades = -1 },
		"cooldown without span": func(sp *bots.Spec) { sp.Limits.CooldownLosses = 3 },
		"unknown progression":   func(sp *bots.Spec) { sp.Progression.Kind = "labouchere" },
		"martingale no caps":    func(sp *bots.Spec) { sp.Progression = bots.Progression{Kind: "martingale", Multiplier: money("2")} },
		"martingale 11 steps": func(sp *bots.Spec) {
			sp.Progression = bots.Progression{Kind: "martingale", Multiplier: money("2"), MaxSteps: 11, MaxStake: money("100")}
		},
		"martingale multiplier1": func(sp *bots.Spec) {
			sp.Progression = bots.Progression{Kind: "martingale", Multiplier: money("1"), MaxSteps: 3, MaxStake: money("100")}
		},
		"soros no max stake": func(sp *bots.Spec) { sp.Progression = bots.Progression{Kind: "soros", MaxSteps: 3} },
		"soros cap below amount": func(sp *bots.Spec) {
			sp.Progression = bots.Progression{Kind: "soros", MaxSteps: 3, MaxStake: money("5")}
		},
		"caps without kind": func(sp *bots.Spec) { sp.Progression = bots.Progression{MaxSteps: 3} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			sp := rsiSpec(acct)
			mutate(&sp)
			_, err := e.svc.Create(ctx, alice, sp)
			require.ErrorIs(t, err, bots.ErrInvalidSpec)
		})
	}
	// An unknown (or another user's) account is not found, like every
	// other user's object.
	foreign := rsiSpec(acct)
	foreign.AccountID = 999999
	_, err := e.svc.Create(ctx, alice, foreign)
	require.ErrorIs(t, err, accounts.ErrNotFound)
	list, _, err := e.svc.List(ctx, alice, 0, 0)
	require.NoError(t, err)
	assert.Empty(t, list, "no invalid bot was stored")
	// The probe instances are gone from the plugin.
	sp := rsiSpec(acct)
	sp.Name = "ボット №1 (EUR)"
	sp.Progression = bots.Progression{Kind: "soros", MaxSteps: 10, MaxStake: money("10")}
	_, err = e.svc.Create(ctx, alice, sp)
	require.NoError(t, err, "a soros cap equal to the amount is allowed")
	mac := rsiSpec(acct)
	mac.Strategy, mac.Params = "macd", map[string]string{"fast": "8", "slow": "21"}
	_, err = e.svc.Create(ctx, alice, mac)
	require.NoError(t, err)
}

func TestMaxBots(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		ctx := ctxT(t)
		// The free practice plan allows one bot.
		alice, acct := e.user("alice", "")
		_, err := e.svc.Create(ctx, alice, rsiSpec(acct))
		require.NoError(t, err)
		_, err = e.svc.Create(ctx, alice, rsiSpec(acct))
		require.ErrorIs(t, err, bots.ErrNotEntitled)
		// Pro allows ten.
		_, err = e.bill.Grant(ctx, alice, billingGrant("pro"))
		require.NoError(t, err)
		for range 9 {
			_, err = e.svc.Create(ctx, alice, rsiSpec(acct))
			require.NoError(t, err)
		}
		_, err = e.svc.Create(ctx, alice, rsiSpec(acct))
		require.ErrorIs(t, err, bots.ErrNotEntitled)
		// Another user's count is their own.
		bob, bobAcct := e.user("bob", "")
		_, err = e.svc.Create(ctx, bob, rsiSpec(bobAcct))
		require.NoError(t, err)
	})
}
