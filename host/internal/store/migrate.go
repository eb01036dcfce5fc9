package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"path"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/stc-trading/stc/migrations"
)

// MigrationResult is one migration applied or rolled back.
type MigrationResult struct {
	Version   int64
	Name      string // file name, e.g. 0001_candles.sql
	Direction string // "up" or "down"
	Duration  time.Duration
}

// MigrationStatus is one known migration and whether the database has it.
type MigrationStatus struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time // zero when not applied
}

// newMigrator builds the goose provider for the store's dialect. The
// global goose registry is disabled so nothing outside this Store can add
// migrations.
func newMigrator(s *Store) (*goose.Provider, error) {
	fsys, err := migrations.FS(s.dialect)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	dialect := goose.DialectSQLite3
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if s.dialect == DialectPostgres {
		dialect = goose.DialectPostgres
		// Two hosts starting at once must not both migrate.
		opts = append(opts, goose.WithSessionLocker(advisoryLocker{id: lockID(s.lockSpace, "goose")}))
	}
	p, err := goose.NewProvider(dialect, s.owner.DB, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

// MigrateUp applies every pending migration and returns what it applied.
func (s *Store) MigrateUp(ctx context.Context) ([]MigrationResult, error) {
	res, err := s.migrator.Up(ctx)
	if err != nil {
		return convertResults(partialApplied(err)), fmt.Errorf("store: migrate up: %w", err)
	}
	if s.appRole && len(res) > 0 {
		if err := s.grantAppRole(ctx); err != nil {
			return convertResults(res), err
		}
	}
	return convertResults(res), nil
}

// MigrateDown rolls back the newest steps migrations (fewer if the schema
// runs out) and returns what it rolled back, newest first.
func (s *Store) MigrateDown(ctx context.Context, steps int) ([]MigrationResult, error) {
	if steps < 1 {
		return nil, fmt.Errorf("store: migrate down: steps must be at least 1, got %d", steps)
	}
	var out []MigrationResult
	for range steps {
		r, err := s.migrator.Down(ctx)
		if errors.Is(err, goose.ErrNoNextVersion) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("store: migrate down: %w", err)
		}
		out = append(out, convertResults([]*goose.MigrationResult{r})...)
	}
	return out, nil
}

// MigrateStatus lists every migration the binary knows, oldest first.
func (s *Store) MigrateStatus(ctx context.Context) ([]MigrationStatus, error) {
	st, err := s.migrator.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migrate status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, m := range st {
		out = append(out, MigrationStatus{
			Version:   m.Source.Version,
			Name:      path.Base(m.Source.Path),
			Applied:   m.State == goose.StateApplied,
			AppliedAt: m.AppliedAt,
		})
	}
	return out, nil
}

// partialApplied returns the migrations that did run before err stopped
// goose, so the caller can report them.
func partialApplied(err error) []*goose.MigrationResult {
	var pe *goose.PartialError
	if errors.As(err, &pe) {
		return pe.Applied
	}
	return nil
}

func convertResults(in []*goose.MigrationResult) []MigrationResult {
	out := make([]MigrationResult, 0, len(in))
	for _, r := range in {
		if r == nil || r.Source == nil {
			continue
		}
		out = append(out, MigrationResult{
			Version:   r.Source.Version,
			Name:      path.Base(r.Source.Path),
			Direction: r.Direction,
			Duration:  r.Duration,
		})
	}
	return out
}

// lockID derives a PostgreSQL advisory lock id from the schema and parts.
// Salting with the schema keeps schemas independent; a hash collision only
// serialises two unrelated writers, it never breaks correctness.
func lockID(schema string, parts ...string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("stc\x00" + schema))
	for _, p := range parts {
		_, _ = h.Write([]byte("\x00" + p))
	}
	return int64(h.Sum64()) //nolint:gosec // any 64-bit value is a valid lock id
}

// advisoryLocker is goose's session lock as a blocking pg_advisory_lock.
// goose's own locker polls every few seconds with a fixed id shared by every
// schema; blocking returns the moment the other migrator finishes, and the
// per-schema id keeps parallel test schemas from waiting on each other.
type advisoryLocker struct{ id int64 }

var _ lock.SessionLocker = advisoryLocker{}

// SessionLock waits for the lock; ctx cancels the wait.
func (l advisoryLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", l.id); err != nil {
		return fmt.Errorf("store: migration lock: %w", err)
	}
	return nil
}

// SessionUnlock releases the lock taken by SessionLock on the same
// connection.
func (l advisoryLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_advisory_unlock($1)", l.id).Scan(&ok); err != nil {
		return fmt.Errorf("store: migration unlock: %w", err)
	}
	if !ok {
		return errors.New("store: migration unlock: lock was not held")
	}
	return nil
}
