package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"
)

// Scope says whose rows a transaction may touch. On PostgreSQL it becomes
// the transaction-local settings stc.user_id and stc.scope that the tenant
// tables' row-level security policies read (migrations/postgres/0003); on
// SQLite it documents intent only, and the queries' own user_id filters do
// the work.
type Scope struct {
	userID int64
	system bool
}

// Tenant is the scope of a request made by userID: tenant tables show that
// user's rows only.
func Tenant(userID int64) Scope { return Scope{userID: userID} }

// System is the scope of the host's own work that spans users (billing
// webhooks, token lookup, workers that resume every user's sessions). Use it
// only where no single user is acting.
func System() Scope { return Scope{system: true} }

// UserID returns the tenant a Tenant scope was made for, or 0.
func (sc Scope) UserID() int64 { return sc.userID }

// IsSystem reports whether sc is the System scope.
func (sc Scope) IsSystem() bool { return sc.system }

// setConfig is the statement that sets sc's transaction-local settings.
// It has no parameters, so the driver sends it in one round trip (simple
// protocol) instead of two (parse, then bind and execute): this runs at
// the start of every transaction. Only a constant and a formatted integer
// are inlined, so there is nothing to quote.
func (sc Scope) setConfig() string {
	scope, user := "tenant", strconv.FormatInt(sc.userID, 10)
	if sc.system {
		scope, user = "system", ""
	}
	return "SELECT set_config('stc.scope', '" + scope + "', true), set_config('stc.user_id', '" + user + "', true)"
}

func (sc Scope) valid() error {
	if !sc.system && sc.userID <= 0 {
		return fmt.Errorf("store: a transaction needs a scope: Tenant(user id > 0) or System()")
	}
	return nil
}

// Update runs fn in a read-write transaction with scope sc and commits when
// fn returns nil. Errors from fn are returned as they are (after rollback);
// driver errors with a sentinel meaning are wrapped (ErrConflict).
func (s *Store) Update(ctx context.Context, sc Scope, fn func(tx *sqlx.Tx) error) error {
	return s.inTx(ctx, s.db, sc, false, fn)
}

// View runs fn in a read-only transaction with scope sc. On SQLite it uses
// the query-only pool, so reads never queue behind the writer.
func (s *Store) View(ctx context.Context, sc Scope, fn func(tx *sqlx.Tx) error) error {
	return s.inTx(ctx, s.rdb, sc, true, fn)
}

func (s *Store) inTx(ctx context.Context, db *sqlx.DB, sc Scope, readOnly bool, fn func(tx *sqlx.Tx) error) (err error) {
	if err := sc.valid(); err != nil {
		return err
	}
	// SQLite's driver rejects the ReadOnly option on its own pool; the
	// query-only pragma already enforces it there.
	opts := &sql.TxOptions{ReadOnly: readOnly && s.dialect == DialectPostgres}
	tx, err := db.BeginTxx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: begin: %w", mapError(err))
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if s.dialect == DialectPostgres {
		if _, err := tx.ExecContext(ctx, sc.setConfig()); err != nil {
			return fmt.Errorf("store: set tenant scope: %w", mapError(err))
		}
	}
	if readOnly {
		if err := fn(tx); err != nil {
			return MapError(err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: commit: %w", mapError(err))
		}
		return nil
	}
	s.openHooks(tx)
	err = fn(tx)
	hooks := s.takeHooks(tx)
	if err != nil {
		return MapError(err)
	}
	if err := runBeforeCommit(ctx, tx, hooks); err != nil {
		return MapError(err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", mapError(err))
	}
	for _, a := range hooks {
		a.hook.AfterCommit()
	}
	return nil
}

// MapError wraps a driver error from a query run inside Update or View with
// the store's sentinels (sql.ErrNoRows becomes ErrNotFound, unique
// violations ErrConflict, out-of-range values ErrInvalidValue), so repositories outside this package can test
// with errors.Is. Already-wrapped errors pass through.
func MapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrInvalidValue) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return mapError(err)
}
