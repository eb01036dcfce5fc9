package trading

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/store"
)

// pruneChunk bounds the rows one pruning statement deletes, so pruning a
// long backlog never holds one long transaction.
const pruneChunk = 5000

// keyCutoff is the creation time (Unix ms) before which an
// Idempotency-Key is forgotten.
func (s *Service) keyCutoff() int64 {
	return s.now().Add(-s.opts.IdempotencyTTL).UnixMilli()
}

// PruneIdempotencyKeys deletes the Idempotency-Key records older than
// Options.IdempotencyTTL (the trades stay) and returns how many it
// deleted. Such keys are already ignored; pruning only bounds the table.
// The host's housekeeping calls it periodically.
func (s *Service) PruneIdempotencyKeys(ctx context.Context) (int64, error) {
	cutoff := s.keyCutoff()
	var total int64
	for {
		var n int64
		err := s.st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
			res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM idempotency_keys WHERE (user_id, key) IN
				(SELECT user_id, key FROM idempotency_keys WHERE created_at < ? LIMIT ?)`), cutoff, pruneChunk)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("trading: prune idempotency keys: %w", err)
		}
		total += n
		if n < pruneChunk {
			return total, nil
		}
	}
}
