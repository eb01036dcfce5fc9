package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/market"
)

// copyPaths runs f on a PostgreSQL store with each COPY implementation.
func copyPaths(t *testing.T, f func(t *testing.T, s *store.Store)) {
	t.Run("raw", func(t *testing.T) { f(t, storetest.OpenPostgres(t)) })
	t.Run("stmt", func(t *testing.T) { f(t, storetest.OpenPostgres(t, store.WithStmtCopy())) })
}

// foreignInsert inserts c for (broker, symbol, 1m) in a transaction that
// bypasses the store (no advisory lock), and leaves it open.
func foreignInsert(t *testing.T, s *store.Store, c market.Candle) *sql.Tx {
	t.Helper()
	tx, err := s.DB().BeginTx(context.Background(), nil)
	require.NoError(t, err)
	_, err = tx.Exec(`INSERT INTO candles (symbol, timeframe, timestamp, open, high, low, close, volume, broker)
		VALUES ($1, '1m', $2, $3, $4, $5, $6, $7, $8)`, symbol, c.Time, c.Open, c.High, c.Low, c.Close, c.Volume, broker)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback() })
	return tx
}

// waitForBlockedCopy waits until a COPY of this store's schema waits on a
// lock (storetest names every connection after the schema). It asks as the
// owner: the application role cannot see other sessions' queries.
func waitForBlockedCopy(t *testing.T, s *store.Store) {
	t.Helper()
	const q = `SELECT count(*) FROM pg_stat_activity WHERE application_name = current_setting('application_name')
		AND wait_event_type = 'Lock' AND query LIKE 'COPY candles%'`
	require.Eventually(t, func() bool {
		var n int
		return s.OwnerDB().Get(&n, q) == nil && n > 0
	}, 15*time.Second, 10*time.Millisecond, "the ingest COPY never blocked on the foreign row")
}

// A writer outside the store (no advisory lock) commits a conflicting row
// while the store's COPY waits on it: the COPY fails with 23505, and the
// store retries and counts the row as a duplicate instead of failing.
func TestPostgresRetriesAfterForeignWriterWins(t *testing.T) {
	t.Parallel()
	copyPaths(t, func(t *testing.T, s *store.Store) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := series(t0, 10)
		tx := foreignInsert(t, s, c[4])
		type outcome struct {
			res store.InsertResult
			err error
		}
		done := make(chan outcome, 1)
		go func() {
			res, err := s.InsertCandles(ctx, broker, symbol, market.M1, c)
			done <- outcome{res, err}
		}()
		waitForBlockedCopy(t, s)
		require.NoError(t, tx.Commit())
		select {
		case o := <-done:
			require.NoError(t, o.err)
			assert.Equal(t, store.InsertResult{Inserted: 9, Duplicates: 1}, o.res)
		case <-ctx.Done():
			t.Fatal("ingest hung after its COPY failed")
		}
		n, err := s.CountCandles(ctx, broker, symbol, market.M1)
		require.NoError(t, err)
		assert.Equal(t, int64(10), n)
	})
}

// Cancelling the context interrupts a COPY that waits on another
// transaction's row lock, and leaves nothing behind.
func TestPostgresCancelInterruptsBlockedCopy(t *testing.T) {
	t.Parallel()
	copyPaths(t, func(t *testing.T, s *store.Store) {
		c := series(t0, 10)
		tx := foreignInsert(t, s, c[4])
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := s.InsertCandles(ctx, broker, symbol, market.M1, c)
			done <- err
		}()
		waitForBlockedCopy(t, s)
		cancel()
		select {
		case err := <-done:
			assert.Error(t, err)
		case <-time.After(15 * time.Second):
			t.Fatal("cancelled ingest did not return")
		}
		require.NoError(t, tx.Rollback())
		n, err := s.CountCandles(context.Background(), "", "", 0)
		require.NoError(t, err)
		assert.Zero(t, n)
		// The pool is healthy afterwards.
		res, err := s.InsertCandles(context.Background(), broker, symbol, market.M1, c)
		require.NoError(t, err)
		assert.Equal(t, 10, res.Inserted)
	})
}

// The portable COPY path gives the same results as the raw one.
func TestPostgresStmtCopyPath(t *testing.T) {
	t.Parallel()
	s := storetest.OpenPostgres(t, store.WithStmtCopy())
	ctx := context.Background()
	in := series(t0, 1200)
	in[7] = market.Candle{Time: in[7].Time, Open: 1.123456789, High: 1.2, Low: 1.0000000049, Close: 1.1, Volume: 0.00005}
	res, err := s.InsertCandles(ctx, broker, `BACK\SLASH`, market.M1, append(in, in[:100]...))
	require.NoError(t, err)
	assert.Equal(t, store.InsertResult{Inserted: 1200, Duplicates: 100}, res)
	got, err := s.Candles(ctx, broker, `BACK\SLASH`, market.M1, 0, 0, 0, store.OrderAuto)
	require.NoError(t, err)
	want := append(market.Series{}, in...)
	want[7] = market.Candle{Time: in[7].Time, Open: 1.12345679, High: 1.2, Low: 1, Close: 1.1, Volume: 0.0001}
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, want[i], got[i], i)
	}
}

// The schema keeps the seed's types: NUMERIC prices, a BIGINT time and the
// four-column unique key.
func TestPostgresSchemaIsTheSeeds(t *testing.T) {
	t.Parallel()
	s := storetest.OpenPostgres(t)
	var cols []struct {
		Name string         `db:"column_name"`
		Type string         `db:"data_type"`
		Prec sql.NullInt64  `db:"numeric_precision"`
		Scal sql.NullInt64  `db:"numeric_scale"`
		Def  sql.NullString `db:"column_default"`
	}
	require.NoError(t, s.DB().Select(&cols, `SELECT column_name, data_type, numeric_precision, numeric_scale, column_default
		FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'candles' ORDER BY ordinal_position`))
	got := map[string]string{}
	for _, c := range cols {
		got[c.Name] = c.Type
		if c.Prec.Valid && c.Type == "numeric" {
			got[c.Name] = fmt.Sprintf("numeric(%d,%d)", c.Prec.Int64, c.Scal.Int64)
		}
	}
	assert.Equal(t, map[string]string{
		"id": "bigint", "symbol": "character varying", "timeframe": "character varying", "timestamp": "bigint",
		"open": "numeric(18,8)", "high": "numeric(18,8)", "low": "numeric(18,8)", "close": "numeric(18,8)",
		"volume": "numeric(18,4)", "broker": "character varying", "created_at": "timestamp without time zone",
	}, got)
	var def string
	require.NoError(t, s.DB().Get(&def, `SELECT pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conrelid = 'candles'::regclass AND contype = 'u'`))
	assert.Equal(t, "UNIQUE (symbol, timeframe, \"timestamp\", broker)", def)
}

// Hosts starting together on one database migrate once: the advisory
// session lock serialises them and the second finds nothing to do.
func TestPostgresConcurrentOpenMigratesOnce(t *testing.T) {
	t.Parallel()
	sch := storetest.NewSchema(t)
	ctx := context.Background()
	const hosts = 4
	errs := make(chan error, hosts)
	for range hosts {
		go func() {
			s, err := store.Open(ctx, sch.URL, "", nil)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range hosts {
		require.NoError(t, <-errs)
	}
	s, err := store.Open(ctx, sch.URL, "", nil, store.WithoutMigrations())
	require.NoError(t, err)
	defer func() { _ = s.Close() }()
	applied, pending := versions(t, s)
	assert.NotEmpty(t, applied)
	assert.Empty(t, pending)
	var rows int
	require.NoError(t, s.DB().Get(&rows, "SELECT count(*) FROM goose_db_version WHERE version_id > 0"))
	assert.Equal(t, len(applied), rows, "each migration recorded once")
}
