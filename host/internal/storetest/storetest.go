// Package storetest opens throwaway stores for tests: a fresh PostgreSQL
// schema per test and an SQLite file in t.TempDir(), so the same test body
// runs on both dialects. Import it from _test.go files only.
//
// PostgreSQL comes from STC_TEST_DATABASE_URL, default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable. When it cannot
// be reached the PostgreSQL half is skipped on a developer machine, but
// fails when CI=true: CI must never pass by silently testing one store.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // registers "postgres" for the admin connection

	"github.com/stc-trading/stc/host/internal/store"
)

// DefaultPostgresURL is used when STC_TEST_DATABASE_URL is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// connectTimeout bounds the reachability check so an unreachable server
// costs seconds, not the test binary's timeout.
const connectTimeout = 5 * time.Second

// Each runs f as subtest "postgres" on a fresh PostgreSQL schema and as
// subtest "sqlite" on a fresh embedded store. Both stores are closed (and
// the schema dropped) when the subtest ends.
func Each(t *testing.T, f func(t *testing.T, s *store.Store), opts ...store.Option) {
	t.Helper()
	t.Run("postgres", func(t *testing.T) { f(t, OpenPostgres(t, opts...)) })
	t.Run("sqlite", func(t *testing.T) { f(t, OpenSQLite(t, opts...)) })
}

// PostgresURL returns the server URL tests use.
func PostgresURL() string {
	if u := os.Getenv("STC_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// Schema is a throwaway PostgreSQL schema.
type Schema struct {
	// Name is the schema, t_<random hex>.
	Name string
	// URL connects with search_path and application_name set to the
	// schema's name.
	URL string
}

// NewSchema creates an empty schema, dropped with everything in it when tb
// ends. It skips or fails tb when PostgreSQL is unreachable (see the
// package doc).
func NewSchema(tb testing.TB) Schema {
	tb.Helper()
	base := PostgresURL()
	admin, err := sqlx.Open("postgres", base)
	if err != nil {
		unreachable(tb, base, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		_ = admin.Close()
		unreachable(tb, base, err)
	}
	var raw [8]byte
	_, _ = rand.Read(raw[:])
	name := "t_" + hex.EncodeToString(raw[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		_ = admin.Close()
		tb.Fatalf("storetest: create schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			tb.Errorf("storetest: drop schema %s: %v", name, err)
		}
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("storetest: parse %s: %v", base, err)
	}
	q := u.Query()
	// lib/pq passes unknown URL parameters to the server as run-time
	// settings, so every pooled connection starts in the schema.
	q.Set("search_path", name)
	// Tests find their own backends in pg_stat_activity by this name.
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return Schema{Name: name, URL: u.String()}
}

// unreachable skips tb, or fails it under CI=true.
func unreachable(tb testing.TB, u string, err error) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("storetest: PostgreSQL is unreachable at %s and CI=true, so the PostgreSQL tests must not be skipped; start the server (pg_ctlcluster 15 main start) or set STC_TEST_DATABASE_URL: %v", u, err)
	}
	tb.Skipf("storetest: PostgreSQL unreachable at %s, skipping the PostgreSQL half (CI=true makes this a failure): %v", u, err)
}

// OpenPostgres opens a migrated store on a fresh schema, closed when tb
// ends.
func OpenPostgres(tb testing.TB, opts ...store.Option) *store.Store {
	tb.Helper()
	return open(tb, NewSchema(tb).URL, "", opts)
}

// OpenSQLite opens a migrated embedded store in tb.TempDir(), closed when
// tb ends.
func OpenSQLite(tb testing.TB, opts ...store.Option) *store.Store {
	tb.Helper()
	return open(tb, "", tb.TempDir(), opts)
}

func open(tb testing.TB, dsn, dir string, opts []store.Option) *store.Store {
	tb.Helper()
	log := hclog.New(&hclog.LoggerOptions{Name: "store", Level: hclog.Warn, Output: tb.Output()})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.Open(ctx, dsn, dir, log, opts...)
	if err != nil {
		tb.Fatalf("storetest: open store: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("storetest: close store: %v", err)
		}
	})
	return s
}
