package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
)

// row is one broker_accounts row. Credentials and KeyID are only filled by
// the queries that need the sealed value (publicColumns leaves them out).
type row struct {
	ID           int64          `db:"id"`
	UserID       int64          `db:"user_id"`
	Broker       string         `db:"broker"`
	Mode         string         `db:"mode"`
	Login        string         `db:"login"`
	Status       string         `db:"status"`
	StatusReason string         `db:"status_reason"`
	Credentials  sql.NullString `db:"credentials"`
	KeyID        sql.NullString `db:"key_id"`
	CreatedAt    int64          `db:"created_at"`
	UpdatedAt    int64          `db:"updated_at"`
}

// publicColumns are every column but the sealed credentials.
const publicColumns = `id, user_id, broker, mode, login, status, status_reason, created_at, updated_at`

// allColumns adds the sealed credentials and their key id.
const allColumns = publicColumns + `, credentials, key_id`

// account converts r to the user-facing form (no balance yet).
func (r row) account() Account {
	mode, err := broker.ParseMode(r.Mode)
	if err != nil {
		mode = 0 // the CHECK constraint makes this unreachable
	}
	return Account{
		ID: r.ID, UserID: r.UserID, Broker: r.Broker, Mode: mode, Login: r.Login,
		Status: Status(r.Status), StatusReason: r.StatusReason,
		CreatedAt: time.UnixMilli(r.CreatedAt).UTC(), UpdatedAt: time.UnixMilli(r.UpdatedAt).UTC(),
	}
}

// nowMillis is the broker_accounts time format (Unix ms, UTC).
func nowMillis() int64 { return time.Now().UnixMilli() }

// getRow returns account id of userID; ErrNotFound when it does not exist
// or is another user's.
func getRow(tx *sqlx.Tx, userID, id int64, columns string) (row, error) {
	var r row
	err := tx.Get(&r, tx.Rebind(`SELECT `+columns+` FROM broker_accounts WHERE id = ? AND user_id = ?`), id, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return row{}, fmt.Errorf("%w: account %d", ErrNotFound, id)
	}
	if err != nil {
		return row{}, fmt.Errorf("accounts: get account %d: %w", id, store.MapError(err))
	}
	return r, nil
}

// lockRow reads account id of userID for a change. On PostgreSQL it locks
// the row until tx ends, so the changes of one account (and their events)
// take turns; SQLite's single writer already runs write transactions one
// at a time. The lock is the one an UPDATE of the row takes (NO KEY): a
// stronger one would also wait for, and hold up, every transaction that
// inserts a trade or a bot on the account (their foreign keys lock the
// row KEY SHARE).
func (m *Manager) lockRow(tx *sqlx.Tx, userID, id int64) (row, error) {
	q := `SELECT ` + publicColumns + ` FROM broker_accounts WHERE id = ? AND user_id = ?`
	if m.st.Dialect() == store.DialectPostgres {
		q += ` FOR NO KEY UPDATE`
	}
	var r row
	err := tx.Get(&r, tx.Rebind(q), id, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return row{}, fmt.Errorf("%w: account %d", ErrNotFound, id)
	}
	if err != nil {
		return row{}, fmt.Errorf("accounts: lock account %d: %w", id, store.MapError(err))
	}
	return r, nil
}

// listRows returns userID's accounts, oldest first.
func listRows(tx *sqlx.Tx, userID int64) ([]row, error) {
	var rs []row
	if err := tx.Select(&rs, tx.Rebind(`SELECT `+publicColumns+` FROM broker_accounts WHERE user_id = ? ORDER BY id`), userID); err != nil {
		return nil, fmt.Errorf("accounts: list accounts: %w", store.MapError(err))
	}
	return rs, nil
}

// findByLogin returns userID's newest account at (brokerName, mode, login),
// which a new Connect reuses so one broker login stays one account (and
// keeps its trade history and its session id).
func findByLogin(tx *sqlx.Tx, userID int64, brokerName, mode, login string) (row, bool, error) {
	var rs []row
	err := tx.Select(&rs, tx.Rebind(`SELECT `+allColumns+` FROM broker_accounts
		WHERE user_id = ? AND broker = ? AND mode = ? AND login = ? ORDER BY id DESC LIMIT 1`),
		userID, brokerName, mode, login)
	if err != nil {
		return row{}, false, fmt.Errorf("accounts: find account: %w", store.MapError(err))
	}
	if len(rs) == 0 {
		return row{}, false, nil
	}
	return rs[0], true, nil
}

// countActive counts userID's accounts that are not disconnected: those a
// plan's account limit counts.
func countActive(ctx context.Context, tx *sqlx.Tx, userID int64) (int, error) {
	var n int
	if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT count(*) FROM broker_accounts WHERE user_id = ? AND status <> ?`),
		userID, string(StatusDisconnected)); err != nil {
		return 0, fmt.Errorf("accounts: count accounts: %w", store.MapError(err))
	}
	return n, nil
}

// findPending returns userID's only account at (brokerName, mode) waiting
// for a second factor, for a repeat that carries the code alone. Two or
// more pending accounts are ambiguous and give false.
func findPending(tx *sqlx.Tx, userID int64, brokerName, mode string) (row, bool, error) {
	var rs []row
	err := tx.Select(&rs, tx.Rebind(`SELECT `+allColumns+` FROM broker_accounts
		WHERE user_id = ? AND broker = ? AND mode = ? AND status = ? ORDER BY id DESC LIMIT 2`),
		userID, brokerName, mode, string(StatusSecondFactorRequired))
	if err != nil {
		return row{}, false, fmt.Errorf("accounts: find pending account: %w", store.MapError(err))
	}
	if len(rs) != 1 {
		return row{}, false, nil
	}
	return rs[0], true, nil
}

// insertRow creates an account in status connecting without credentials:
// they can only be sealed once the id (part of the AAD) exists.
func insertRow(tx *sqlx.Tx, userID int64, brokerName, mode, login string) (int64, error) {
	now := nowMillis()
	var id int64
	err := tx.Get(&id, tx.Rebind(`INSERT INTO broker_accounts (user_id, broker, mode, login, status, status_reason, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, '', ?, ?) RETURNING id`), userID, brokerName, mode, login, string(StatusConnecting), now, now)
	if err != nil {
		return 0, fmt.Errorf("accounts: insert account: %w", store.MapError(err))
	}
	return id, nil
}

// setCredentials stores a sealed credentials text with its key id and sets
// the status.
func setCredentials(tx *sqlx.Tx, userID, id int64, sealed, keyID string, status Status, reason string) error {
	return exec1(tx, id, `UPDATE broker_accounts SET credentials = ?, key_id = ?, status = ?, status_reason = ?, updated_at = ?
		WHERE id = ? AND user_id = ?`, sealed, keyID, string(status), reason, nowMillis(), id, userID)
}

// setStatus sets an account's status and reason.
func setStatus(tx *sqlx.Tx, userID, id int64, status Status, reason string) error {
	return exec1(tx, id, `UPDATE broker_accounts SET status = ?, status_reason = ?, updated_at = ? WHERE id = ? AND user_id = ?`,
		string(status), reason, nowMillis(), id, userID)
}

// eraseCredentials marks an account disconnected and erases its sealed
// credentials, so nothing can re-open it.
func eraseCredentials(tx *sqlx.Tx, userID, id int64) error {
	return exec1(tx, id, `UPDATE broker_accounts SET credentials = NULL, key_id = NULL, status = ?, status_reason = '', updated_at = ?
		WHERE id = ? AND user_id = ?`, string(StatusDisconnected), nowMillis(), id, userID)
}

// restoreRow puts back what a failed Connect changed on a reused account.
func restoreRow(tx *sqlx.Tx, prev row) error {
	return exec1(tx, prev.ID, `UPDATE broker_accounts SET credentials = ?, key_id = ?, status = ?, status_reason = ?, updated_at = ?
		WHERE id = ? AND user_id = ?`, prev.Credentials, prev.KeyID, prev.Status, prev.StatusReason, nowMillis(), prev.ID, prev.UserID)
}

// deleteRow removes an account that never connected.
func deleteRow(tx *sqlx.Tx, userID, id int64) error {
	return exec1(tx, id, `DELETE FROM broker_accounts WHERE id = ? AND user_id = ?`, id, userID)
}

// exec1 runs a statement that must touch exactly account id's row.
func exec1(tx *sqlx.Tx, id int64, query string, args ...any) error {
	res, err := tx.Exec(tx.Rebind(query), args...)
	if err != nil {
		return fmt.Errorf("accounts: update account %d: %w", id, store.MapError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("accounts: update account %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: account %d", ErrNotFound, id)
	}
	return nil
}

// resumableRows lists every account of every user that should have an
// open session (system scope: ResumeAll).
func resumableRows(tx *sqlx.Tx) ([]row, error) {
	var rs []row
	err := tx.Select(&rs, tx.Rebind(`SELECT `+publicColumns+` FROM broker_accounts
		WHERE status IN (?, ?, ?) AND credentials IS NOT NULL ORDER BY id`),
		string(StatusConnected), string(StatusError), string(StatusConnecting))
	if err != nil {
		return nil, fmt.Errorf("accounts: list resumable accounts: %w", store.MapError(err))
	}
	return rs, nil
}

// sealedRows lists every account holding sealed credentials not sealed by
// activeKey (system scope: RotateKeys).
func sealedRows(tx *sqlx.Tx, activeKey string) ([]row, error) {
	var rs []row
	err := tx.Select(&rs, tx.Rebind(`SELECT `+allColumns+` FROM broker_accounts
		WHERE credentials IS NOT NULL AND (key_id IS NULL OR key_id <> ?) ORDER BY id`), activeKey)
	if err != nil {
		return nil, fmt.Errorf("accounts: list sealed credentials: %w", store.MapError(err))
	}
	return rs, nil
}

// swapCredentials replaces the sealed credentials of an account only if
// they are still old, so a rotation never overwrites credentials that a
// concurrent Connect just stored. It reports whether the row changed.
func swapCredentials(tx *sqlx.Tx, r row, sealed, keyID string) (bool, error) {
	id := r.ID
	res, err := tx.Exec(tx.Rebind(`UPDATE broker_accounts SET credentials = ?, key_id = ?
		WHERE id = ? AND user_id = ? AND credentials = ?`), sealed, keyID, id, r.UserID, r.Credentials.String)
	if err != nil {
		return false, fmt.Errorf("accounts: rewrap account %d: %w", id, store.MapError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("accounts: rewrap account %d: %w", id, err)
	}
	return n == 1, nil
}
