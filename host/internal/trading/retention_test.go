package trading

import (
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/market"
)

// An Idempotency-Key is remembered for IdempotencyTTL: within it the same
// key answers the same trade (another body is a conflict); after it the
// key places a new trade, whatever the body, whether or not the old claim
// was pruned; PruneIdempotencyKeys deletes exactly the expired claims.
func TestIdempotencyKeyExpires(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := ctxT(t)
		e := newEnv(t, st, func(o *Options) { o.IdempotencyTTL = time.Hour })
		alice, _ := e.connect("alice@example.com")
		keyed := func(key, hash string) PlaceRequest {
			r := manual(alice, market.Call, "5")
			r.IdempotencyKey, r.RequestHash = key, []byte(hash)
			return r
		}
		place := func(r PlaceRequest) Trade {
			t.Helper()
			tr, err := e.svc.Place(ctx, r)
			require.NoError(t, err)
			return tr
		}

		old := place(keyed("old", "h1"))
		e.clock.advance(50 * time.Minute)
		fresh := place(keyed("fresh", "h1"))
		assert.Equal(t, old.ID, place(keyed("old", "h1")).ID, "within the TTL: the same trade")
		_, err := e.svc.Place(ctx, keyed("old", "h2"))
		require.ErrorIs(t, err, ErrIdempotencyConflict)

		e.clock.advance(20 * time.Minute) // "old" is 70 minutes old, "fresh" 20
		n, err := e.svc.PruneIdempotencyKeys(ctx)
		require.NoError(t, err)
		assert.EqualValues(t, 1, n)
		assert.Equal(t, fresh.ID, place(keyed("fresh", "h1")).ID, "a live key survives pruning")
		reused := place(keyed("old", "h2"))
		assert.NotEqual(t, old.ID, reused.ID, "a pruned key places a new trade")

		e.clock.advance(2 * time.Hour) // both expired, neither pruned
		again := place(keyed("fresh", "h1"))
		assert.NotEqual(t, fresh.ID, again.ID, "an expired key places a new trade before pruning too")
		assert.Equal(t, again.ID, place(keyed("fresh", "h1")).ID, "and is then remembered again")

		var claims int
		require.NoError(t, st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
			return tx.Get(&claims, tx.Rebind(`SELECT count(*) FROM idempotency_keys WHERE user_id = ?`), alice)
		}))
		assert.Equal(t, 2, claims, "one claim per key")
		n, err = e.svc.PruneIdempotencyKeys(ctx)
		require.NoError(t, err)
		assert.EqualValues(t, 1, n, `only "old" (reused 2 h ago) is expired`)
	})
}
