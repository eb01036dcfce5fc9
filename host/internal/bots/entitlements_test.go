package bots_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// A plan change applies to running bots at once, whatever the
// entitlement cache holds and whether or not they signal: after a
// cancellation EntitlementsChanged pauses the bots the free plan does not
// allow (the newest; the oldest keeps the plan's one slot) before it
// returns. Before, a quiet bot showed running until its next signal and a
// trading one traded on until the cache expired.
func TestEntitlementsChangedPausesAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{botOpts: bots.Options{EntitlementTTL: time.Hour}})
		e.run()
		ctx := ctxT(t)
		alice, acct := e.user("alice", "pro")
		// RSI never reaches 0 or 100 on the paper market: these bots do
		// not signal.
		quiet := rsiSpec(acct)
		quiet.Params = map[string]string{"period": "14", "oversold": "0", "overbought": "100"}
		var ids []int64
		for range 3 {
			b, err := e.svc.Create(ctx, alice, quiet)
			require.NoError(t, err)
			_, err = e.svc.Start(ctx, alice, b.ID)
			require.NoError(t, err)
			ids = append(ids, b.ID)
		}

		_, err := e.bill.Grant(ctx, alice, billing.Grant{PlanID: "pro", Status: billing.StatusCanceled})
		require.NoError(t, err)
		got, err := e.svc.Get(ctx, alice, ids[2])
		require.NoError(t, err)
		require.Equal(t, bots.StatusRunning, got.Status, "nothing notices a plan change by itself")

		n, err := e.svc.EntitlementsChanged(ctx, alice)
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		for i, id := range ids {
			got, err := e.svc.Get(ctx, alice, id)
			require.NoError(t, err)
			if i == 0 {
				assert.Equal(t, bots.StatusRunning, got.Status, "the oldest bot keeps the free plan's slot")
				continue
			}
			assert.Equal(t, bots.StatusPaused, got.Status, "bot %d", id)
			assert.Equal(t, bots.ReasonNotEntitled, got.StatusReason)
			assert.Contains(t, got.LastError, "plan allows 1")
			assert.Equal(t, 1, e.events.count(func(ev bots.Event) bool {
				return ev.Kind == bots.EventPaused && ev.BotID == id && ev.Reason == bots.ReasonNotEntitled
			}))
		}
		n, err = e.svc.EntitlementsChanged(ctx, alice)
		require.NoError(t, err)
		assert.Zero(t, n, "nothing more to pause")
	})
}
