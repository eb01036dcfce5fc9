package bots_test

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/host/internal/trading"
	"github.com/stc-trading/stc/sdk/broker"
)

// tradePolicy is the trading service's entitlement check, backed by
// billing.
type tradePolicy struct{ bill *billing.Service }

func (p tradePolicy) CheckTrade(ctx context.Context, userID int64, name string, mode broker.Mode) error {
	ent, err := p.bill.Entitlements(ctx, userID)
	if err != nil {
		return err
	}
	if !ent.AllowsBroker(name) || (mode == broker.Real && !ent.LiveTrading) {
		return trading.ErrNotEntitled
	}
	return nil
}

// TestThroughTradingService runs bots through the real trading service,
// account manager and paper broker: trades carry the bot's id and user,
// settle with the broker's profit, the bot's own limit refuses an order
// (recorded, the bot keeps running), martingale stakes follow the settled
// trades, and a disconnect pauses the bot.
func TestThroughTradingService(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		var tr *trading.Service
		e := newEnv(t, st, envOpts{trader: lazyTrader{&tr}})
		tr = trading.NewService(st, e.acc, tradePolicy{e.bill}, trading.Options{PollInterval: 100 * time.Millisecond}, hclog.NewNullLogger())
		tctx, stopTrading := context.WithCancel(context.Background())
		tdone := make(chan struct{})
		go func() { tr.Run(tctx); close(tdone) }()
		t.Cleanup(func() { stopTrading(); <-tdone })
		e.run()
		ctx := ctxT(t)
		alice, acct := e.user("alice", "pro")
		bob, bobAcct := e.user("bob", "pro")

		// One open trade at a time, two minutes long, with a martingale:
		// every other candle is refused by the bot's own limit.
		sp := eager(acct)
		sp.Expiration = 2 * time.Minute
		sp.Limits.MaxOpenTrades = 1
		sp.Progression = bots.Progression{Kind: bots.ProgressionMartingale, Multiplier: decimal.NewFromInt(2), MaxSteps: 2, MaxStake: decimal.NewFromInt(30)}
		b, err := e.svc.Create(ctx, alice, sp)
		require.NoError(t, err)
		_, err = e.svc.Start(ctx, alice, b.ID)
		require.NoError(t, err)
		bobBot, err := e.svc.Create(ctx, bob, eager(bobAcct))
		require.NoError(t, err)
		_, err = e.svc.Start(ctx, bob, bobBot.ID)
		require.NoError(t, err)

		var settled []trading.Trade
		require.Eventually(t, func() bool {
			settled, err = tr.RecentSettled(ctx, alice, b.ID, 100)
			return err == nil && len(settled) >= 3
		}, hangGuard, 50*time.Millisecond)
		for _, s := range settled {
			assert.Equal(t, alice, s.UserID)
			assert.Equal(t, b.ID, s.BotID)
			assert.Equal(t, acct, s.AccountID)
			assert.True(t, s.HasProfit)
		}
		// Each stake is what the martingale gives for the trades settled
		// before it was placed; stakes stay within the caps.
		all, _, err := tr.List(ctx, alice, trading.Filter{BotID: b.ID, Limit: 500})
		require.NoError(t, err)
		for _, x := range all {
			assert.Contains(t, []string{"10", "20", "30"}, x.Amount.String(), "trade %d", x.ID)
		}
		// The limit refused orders and the bot kept running.
		require.Eventually(t, func() bool {
			got, err := e.svc.Get(ctx, alice, b.ID)
			return err == nil && got.Status == bots.StatusRunning && got.LastError != ""
		}, hangGuard, 20*time.Millisecond)
		refused := e.events.count(func(ev bots.Event) bool {
			return ev.Kind == bots.EventOrdered && ev.BotID == b.ID && ev.Err != nil
		})
		assert.Positive(t, refused)

		// Bob's trades are his own.
		bobs, _, err := tr.List(ctx, bob, trading.Filter{Limit: 500})
		require.NoError(t, err)
		require.NotEmpty(t, bobs)
		for _, x := range bobs {
			assert.Equal(t, bobBot.ID, x.BotID)
			assert.Equal(t, bob, x.UserID)
		}
		mine, _, err := tr.List(ctx, alice, trading.Filter{BotID: bobBot.ID, Limit: 500})
		require.NoError(t, err)
		assert.Empty(t, mine)

		// The trading service refuses a disconnected account; the bot
		// pauses with the reason.
		require.NoError(t, e.acc.Disconnect(ctx, alice, acct))
		got := e.waitStatus(alice, b.ID, bots.StatusPaused)
		assert.Equal(t, bots.ReasonAccountNotConnected, got.StatusReason)

		// Deleting the bot keeps its trades and their bot_id.
		require.NoError(t, e.svc.Delete(ctx, alice, b.ID))
		kept, _, err := tr.List(ctx, alice, trading.Filter{BotID: b.ID, Limit: 500})
		require.NoError(t, err)
		assert.GreaterOrEqual(t, len(kept), len(all))
	})
}

// lazyTrader adapts a trading service created after the env.
type lazyTrader struct{ t **trading.Service }

func (l lazyTrader) Place(ctx context.Context, req bots.OrderRequest) error {
	return bots.FromTrading(*l.t).Place(ctx, req)
}

func (l lazyTrader) RecentSettled(ctx context.Context, userID, botID int64, n int) ([]bots.SettledTrade, error) {
	return bots.FromTrading(*l.t).RecentSettled(ctx, userID, botID, n)
}

func (l lazyTrader) PlaceBatch(ctx context.Context, reqs []bots.OrderRequest) []error {
	return bots.FromTrading(*l.t).PlaceBatch(ctx, reqs)
}

// oneByOne hides a BatchTrader's PlaceBatch, so the runner places each
// order with its own call (the benchmark's baseline).
type oneByOne struct{ bots.Trader }
