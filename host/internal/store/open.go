package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"  // registers "postgres"
	_ "modernc.org/sqlite" // registers "sqlite"
)

// openPostgres connects through lib/pq and learns the current schema, which
// namespaces migrations' and ingest's advisory locks.
func openPostgres(ctx context.Context, url string, maxOpen int, log hclog.Logger) (*Store, error) {
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	if maxOpen <= 0 {
		maxOpen = 16
	}
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxOpen)
	// Recycle idle connections so a quiet host does not pin server
	// backends forever, and a failover is noticed.
	db.SetConnMaxIdleTime(5 * time.Minute)
	var schema sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: connect postgres: %w", err)
	}
	if !schema.Valid {
		_ = db.Close()
		return nil, fmt.Errorf("store: postgres: no schema of the search_path exists; create it or fix search_path in the database url")
	}
	return &Store{dialect: DialectPostgres, db: db, rdb: db, owner: db, log: log, lockSpace: schema.String}, nil
}

// sqliteDSN builds a modernc.org/sqlite DSN for path with the pragmas every
// connection needs. WAL lets readers run beside the writer;
// synchronous=NORMAL is durable across application crashes and loses at
// most the last transactions on power loss, which for re-fetchable candles
// and a dev store is the right trade; busy_timeout makes the rare lock wait
// (checkpoints, a second process) wait instead of failing.
func sqliteDSN(path string, write bool) string {
	q := []string{
		"_pragma=busy_timeout(10000)",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(NORMAL)",
		"_pragma=foreign_keys(1)",
	}
	if write {
		// IMMEDIATE takes the write lock at BEGIN, so a transaction never
		// fails halfway when it upgrades from reading to writing. A 64 MiB
		// page cache (the default is 2 MiB) keeps a backfill transaction
		// of tens of thousands of rows in memory instead of spilling pages
		// to the WAL before commit.
		q = append(q, "_txlock=immediate", "_pragma=cache_size(-65536)")
	} else {
		q = append(q, "_pragma=query_only(1)")
	}
	return "file:" + path + "?" + strings.Join(q, "&")
}

// sqliteReaders is the size of the embedded store's read pool: enough for
// the API's concurrent history reads on a small machine.
const sqliteReaders = 4

// openSQLite opens <dataDir>/stc.db with one writer connection and a small
// query-only read pool.
func openSQLite(ctx context.Context, dataDir string, log hclog.Logger) (*Store, error) {
	if dataDir == "" {
		return nil, fmt.Errorf("store: the embedded store needs a data directory (STC_DATA_DIR)")
	}
	if strings.ContainsAny(dataDir, "?#") {
		// '?' would end the file name inside the DSN.
		return nil, fmt.Errorf("store: data directory %q must not contain '?' or '#'", dataDir)
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	path := filepath.Join(dataDir, SQLiteFile)
	w, err := sqlx.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	// Keep the writer forever: reopening costs the pragmas and the page
	// cache.
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// Connect the writer first: it switches the file to WAL, which the
	// query-only readers could not do.
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	r, err := sqlx.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(sqliteReaders)
	r.SetMaxIdleConns(sqliteReaders)
	log.Debug("opened embedded store", "path", path)
	return &Store{dialect: DialectSQLite, db: w, rdb: r, owner: w, log: log}, nil
}
