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

// addUserWithAccount creates a user owning one broker account, in the
// system scope, and returns both ids.
func addUserWithAccount(t *testing.T, s *store.Store, email string) (userID, accountID int64) {
	t.Helper()
	err := s.Update(context.Background(), store.System(), func(tx *sqlx.Tx) error {
		if err := tx.Get(&userID, tx.Rebind(`INSERT INTO users (email, password_hash, created_at, updated_at)
			VALUES (?, 'x', 1, 1) RETURNING id`), email); err != nil {
			return err
		}
		return tx.Get(&accountID, tx.Rebind(`INSERT INTO broker_accounts (user_id, broker, mode, status, created_at, updated_at)
			VALUES (?, 'paper', 'practice', 'connected', 1, 1) RETURNING id`), userID)
	})
	require.NoError(t, err)
	return userID, accountID
}

func countAccounts(t *testing.T, s *store.Store, sc store.Scope) int {
	t.Helper()
	var n int
	require.NoError(t, s.View(context.Background(), sc, func(tx *sqlx.Tx) error {
		return tx.Get(&n, "SELECT count(*) FROM broker_accounts")
	}))
	return n
}

func TestScopeIsRequired(t *testing.T) {
	t.Parallel()
	s := storetest.OpenSQLite(t)
	err := s.View(context.Background(), store.Scope{}, func(*sqlx.Tx) error { return nil })
	assert.Error(t, err, "a zero scope is refused")
	err = s.View(context.Background(), store.Tenant(0), func(*sqlx.Tx) error { return nil })
	assert.Error(t, err)
}

// Row-level security is the backstop behind the application's user_id
// filters: on PostgreSQL a query that forgets its WHERE user_id still sees
// only the tenant's rows, and a query with no tenant context sees none.
func TestPostgresRowLevelSecurity(t *testing.T) {
	t.Parallel()
	s := storetest.OpenPostgres(t)
	ctx := context.Background()
	alice, aliceAcct := addUserWithAccount(t, s, "alice@example.com")
	bob, _ := addUserWithAccount(t, s, "bob@example.com")

	var role string
	var super, bypass bool
	require.NoError(t, s.DB().QueryRowContext(ctx,
		"SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user").Scan(&role, &super, &bypass))
	assert.Equal(t, store.AppRole, role, "the host's queries run as the application role")
	assert.False(t, super)
	assert.False(t, bypass)

	// No tenant context at all: nothing, although two rows exist.
	var n int
	require.NoError(t, s.DB().GetContext(ctx, &n, "SELECT count(*) FROM broker_accounts"))
	assert.Zero(t, n, "without tenant context the application role sees no tenant rows")
	require.NoError(t, s.OwnerDB().GetContext(ctx, &n, "SELECT count(*) FROM broker_accounts"))
	assert.Equal(t, 2, n, "the rows exist (seen by the owner)")

	assert.Equal(t, 1, countAccounts(t, s, store.Tenant(alice)), "an unfiltered query sees the tenant's own row only")
	assert.Equal(t, 1, countAccounts(t, s, store.Tenant(bob)))
	assert.Equal(t, 2, countAccounts(t, s, store.System()))

	// Writes are checked too: bob cannot move alice's row, nor create one
	// in her name.
	err := s.Update(ctx, store.Tenant(bob), func(tx *sqlx.Tx) error {
		res, err := tx.Exec(tx.Rebind("UPDATE broker_accounts SET status = 'stolen' WHERE id = ?"), aliceAcct)
		if err != nil {
			return err
		}
		rows, _ := res.RowsAffected()
		assert.Zero(t, rows, "another tenant's row is invisible to UPDATE")
		return nil
	})
	require.NoError(t, err)
	err = s.Update(ctx, store.Tenant(bob), func(tx *sqlx.Tx) error {
		_, err := tx.Exec(tx.Rebind(`INSERT INTO broker_accounts (user_id, broker, mode, status, created_at, updated_at)
			VALUES (?, 'paper', 'practice', 'connected', 1, 1)`), alice)
		return err
	})
	assert.Error(t, err, "WITH CHECK refuses a row for another tenant")
}

// A value that does not fit its column, or breaks a CHECK constraint, is
// ErrInvalidValue on both stores, so callers can answer it as the client's
// mistake rather than a server error.
func TestOutOfRangeValueIsErrInvalidValue(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		userID, _ := addUserWithAccount(t, s, "range@example.com")
		// A direction the CHECK constraint refuses (both stores).
		err := s.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
			_, err := tx.Exec(tx.Rebind(`UPDATE broker_accounts SET mode = 'bogus' WHERE user_id = ?`), userID)
			return err
		})
		assert.ErrorIs(t, err, store.ErrInvalidValue, "a CHECK violation")
		assert.NotErrorIs(t, err, store.ErrConflict)
		if s.Dialect() != store.DialectPostgres {
			return // SQLite's INTEGER holds 64 bits
		}
		err = s.Update(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
			_, err := tx.Exec(tx.Rebind(`INSERT INTO user_limits (user_id, max_open_trades, updated_at) VALUES (?, ?, 1)`),
				userID, int64(1)<<31)
			return err
		})
		assert.ErrorIs(t, err, store.ErrInvalidValue, "an INTEGER out of range")
	})
}
