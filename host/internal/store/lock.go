package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"
)

// LockKeys makes the rest of tx (a transaction of Update) exclusive for each
// of keys within space: a second transaction locking any of the same keys
// waits until tx ends, whichever host runs it. Repositories use it for
// check-then-insert steps that must be atomic, such as reserving a login
// attempt under a limit.
//
// On PostgreSQL each key is a transaction-scoped advisory lock, salted with
// the schema like the store's other locks, taken in a fixed order so two
// transactions locking overlapping sets cannot deadlock. On SQLite it does
// nothing: every Update already runs alone (one writer connection, BEGIN
// IMMEDIATE, which also holds off other processes).
func (s *Store) LockKeys(ctx context.Context, tx *sqlx.Tx, space string, keys ...string) error {
	if s.dialect != DialectPostgres {
		return nil
	}
	ids := make([]int64, 0, len(keys))
	for _, k := range keys {
		ids = append(ids, lockID(s.lockSpace, space, k))
	}
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", id); err != nil {
			return fmt.Errorf("store: lock %s: %w", space, mapError(err))
		}
	}
	return nil
}
