package store

import (
	"errors"
	"fmt"

	"github.com/lib/pq"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Sentinel errors. Repository methods wrap them (test with errors.Is) so
// callers never need to know which database is underneath.
var (
	// ErrNotFound: the row asked for does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a unique key is already taken (PostgreSQL 23505, SQLite
	// SQLITE_CONSTRAINT_UNIQUE/PRIMARYKEY).
	ErrConflict = errors.New("store: conflict")
	// ErrInvalidKey: a (broker, symbol, timeframe) key is empty, too long for
	// its column, or holds control characters; nothing was written.
	ErrInvalidKey = errors.New("store: invalid candle key")
	// ErrInvalidValue: a value does not fit its column or breaks a CHECK
	// constraint (PostgreSQL class 22 "data exception" and 23514, SQLite
	// SQLITE_CONSTRAINT_CHECK and SQLITE_TOOBIG). Callers validate their
	// input against the columns first; this catches what slips through, so
	// a value a client sent is never answered as a server error.
	ErrInvalidValue = errors.New("store: value out of range for its column")
	// ErrInvalidURL: the database url names no supported store.
	ErrInvalidURL = errors.New("store: invalid database url")
	// errRetry marks a transaction that lost a race (serialization failure,
	// deadlock, or a unique violation from a writer outside this package)
	// and can be run again as a whole.
	errRetry = errors.New("store: transaction must be retried")
)

// PostgreSQL SQLSTATEs the store reacts to.
const (
	pqUniqueViolation      = "23505"
	pqSerializationFailure = "40001"
	pqDeadlockDetected     = "40P01"
	pqCheckViolation       = "23514"
	// pqDataException is the class of out-of-range numbers, too-long
	// strings, invalid text representations and the like.
	pqDataException = "22"
)

// mapError wraps driver errors that have a sentinel meaning, keeping the
// driver error in the chain for logs. Other errors are returned as they are.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code {
		case pqUniqueViolation:
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case pqSerializationFailure, pqDeadlockDetected:
			return fmt.Errorf("%w: %w", errRetry, err)
		case pqCheckViolation:
			return fmt.Errorf("%w: %w", ErrInvalidValue, err)
		}
		if pqErr.Code.Class() == pqDataException {
			return fmt.Errorf("%w: %w", ErrInvalidValue, err)
		}
		return err
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_TOOBIG:
			return fmt.Errorf("%w: %w", ErrInvalidValue, err)
		}
	}
	return err
}
