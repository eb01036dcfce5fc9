package store_test

import (
	"context"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// Prune deletes a backlog larger than one chunk, chunk after chunk, and
// only the rows its query picks.
func TestPruneDeletesInChunks(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		const old, recent = 12001, 5
		require.NoError(t, st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
			_, err := tx.Exec(tx.Rebind(`INSERT INTO billing_events (event_id, type, outcome, received_at)
				SELECT 'evt_' || n, 'invoice.paid', 'applied', n FROM (
					WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?) SELECT n FROM seq) s`), old+recent)
			return err
		}))
		n, err := st.Prune(ctx, `DELETE FROM billing_events WHERE event_id IN
			(SELECT event_id FROM billing_events WHERE received_at <= ? LIMIT ?)`, old)
		require.NoError(t, err)
		assert.EqualValues(t, old, n)
		var left int
		require.NoError(t, st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
			return tx.Get(&left, `SELECT count(*) FROM billing_events`)
		}))
		assert.Equal(t, recent, left)
	})
}
