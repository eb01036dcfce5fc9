package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// pruneChunk bounds the rows one pruning statement deletes, so pruning a
// long backlog never holds one long transaction or lock.
const pruneChunk = 5000

// Prune deletes rows in the system scope with deleteQuery, a DELETE (with
// ? placeholders) whose last placeholder is the LIMIT of the subquery that
// picks the rows, run again, each time in its own transaction, until it
// deletes fewer than that limit. It returns how many rows it deleted. The
// housekeeping of expired records uses it.
func (s *Store) Prune(ctx context.Context, deleteQuery string, args ...any) (int64, error) {
	var total int64
	args = append(args, pruneChunk)
	for {
		var n int64
		err := s.Update(ctx, System(), func(tx *sqlx.Tx) error {
			r, err := tx.ExecContext(ctx, tx.Rebind(deleteQuery), args...)
			if err != nil {
				return err
			}
			n, err = r.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("store: prune: %w", err)
		}
		total += n
		if n < pruneChunk {
			return total, nil
		}
	}
}
