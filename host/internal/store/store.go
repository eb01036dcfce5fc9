// Package store is STC's repository layer: one API over PostgreSQL (the
// production store, lib/pq through sqlx) and an embedded pure-Go SQLite file
// (the default, so `make run` needs nothing installed).
//
// Dialect differences stay inside this package and every repository test
// runs on both stores (see package storetest). The hot path is candle
// ingest; its design and measured numbers are in ingest_postgres.go.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
)

// Dialect names returned by Store.Dialect.
const (
	DialectPostgres = "postgres"
	DialectSQLite   = "sqlite"
)

// SQLiteFile is the embedded store's file name inside the data directory.
const SQLiteFile = "stc.db"

// Store is an open database with STC's schema. It is safe for concurrent
// use.
type Store struct {
	dialect string
	// db takes every write. On SQLite it is a single connection: SQLite
	// has one writer at a time anyway, and queueing in Go is cheaper than
	// spinning on SQLITE_BUSY.
	db *sqlx.DB
	// rdb serves reads. On PostgreSQL it is db; on SQLite a small pool of
	// query-only connections that WAL lets run beside the writer, so API
	// reads never wait behind a large ingest transaction.
	rdb *sqlx.DB
	// owner is the pool on the database login itself: migrations and
	// grants run on it. On PostgreSQL, once migrated, db and rdb move to
	// connections running as AppRole (see enterAppRole); on SQLite owner is
	// db.
	owner *sqlx.DB
	// appRole is set once db and rdb run as AppRole.
	appRole bool
	log     hclog.Logger
	// lockSpace salts PostgreSQL advisory lock ids with the schema, so two
	// schemas in one database (tests, staging) never block each other.
	lockSpace string
	migrator  *goose.Provider
	cfg       options
	// hooks are the TxHooks attached to Update transactions in flight.
	hooks txHooks
}

type options struct {
	skipMigrations bool
	maxOpenConns   int
	// forceStmtCopy: see WithStmtCopy.
	forceStmtCopy bool
}

// Option changes how Open sets up the store.
type Option func(*options)

// WithoutMigrations opens the store without applying pending migrations;
// `stc migrate` uses it so that `status` and `down` see the schema as it is.
func WithoutMigrations() Option { return func(o *options) { o.skipMigrations = true } }

// WithMaxOpenConns caps the PostgreSQL pool (default 16). It has no effect
// on SQLite, whose pools are sized for its single-writer model.
func WithMaxOpenConns(n int) Option { return func(o *options) { o.maxOpenConns = n } }

// WithStmtCopy makes PostgreSQL ingest send COPY rows through
// database/sql's Stmt.Exec, one call per row, instead of lib/pq's raw
// CopyData with rows formatted by the store. It is slower; it exists as an
// escape hatch should a lib/pq upgrade change the raw path, and so tests
// cover both.
func WithStmtCopy() Option { return func(o *options) { o.forceStmtCopy = true } }

// Open connects to the store named by url and applies pending migrations
// (unless WithoutMigrations). A postgres:// or postgresql:// url opens
// PostgreSQL; an empty url opens (creating if needed) the SQLite file
// <dataDir>/stc.db. log may be nil.
func Open(ctx context.Context, url, dataDir string, log hclog.Logger, opts ...Option) (*Store, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	cfg := options{maxOpenConns: 16}
	for _, o := range opts {
		o(&cfg)
	}
	var (
		s   *Store
		err error
	)
	switch {
	case url == "":
		s, err = openSQLite(ctx, dataDir, log)
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		s, err = openPostgres(ctx, url, cfg.maxOpenConns, log)
	default:
		return nil, fmt.Errorf("store: %w: database url must start with postgres:// or be empty for the embedded store", ErrInvalidURL)
	}
	if err != nil {
		return nil, err
	}
	s.cfg = cfg
	if s.migrator, err = newMigrator(s); err != nil {
		_ = s.Close()
		return nil, err
	}
	if !cfg.skipMigrations {
		res, err := s.MigrateUp(ctx)
		if err != nil {
			_ = s.Close()
			return nil, err
		}
		for _, r := range res {
			log.Info("applied migration", "version", r.Version, "name", r.Name, "took", r.Duration)
		}
		if s.dialect == DialectPostgres {
			if err := s.enterAppRole(ctx, url, cfg.maxOpenConns); err != nil {
				_ = s.Close()
				return nil, err
			}
		}
	}
	return s, nil
}

// Dialect returns DialectPostgres or DialectSQLite.
func (s *Store) Dialect() string { return s.dialect }

// DB returns the pool that takes writes, for repositories added in other
// files of this package and for tests that need raw SQL.
func (s *Store) DB() *sqlx.DB { return s.db }

// OwnerDB returns the pool on the database login itself, which on
// PostgreSQL owns the schema and is not subject to row-level security. Only
// tests and diagnostics use it; the host's queries go through DB, Update
// and View.
func (s *Store) OwnerDB() *sqlx.DB { return s.owner }

// Close closes every connection. It does not wait for queries in flight.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.rdb != s.db {
		err = errors.Join(err, s.rdb.Close())
	}
	if s.owner != s.db {
		err = errors.Join(err, s.owner.Close())
	}
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Ping checks that the store answers; /readyz uses it.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", mapError(err))
	}
	return nil
}

// now is the time written into created_at columns set by Go code; the
// schema's own defaults cover everything else.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
