package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/market"
)

func versions(t *testing.T, s *store.Store) (applied []int64, pending []int64) {
	t.Helper()
	st, err := s.MigrateStatus(context.Background())
	require.NoError(t, err)
	for _, m := range st {
		assert.NotEmpty(t, m.Name)
		if m.Applied {
			applied = append(applied, m.Version)
			assert.False(t, m.AppliedAt.IsZero())
		} else {
			pending = append(pending, m.Version)
		}
	}
	return applied, pending
}

func TestMigrationsUpDownUp(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		applied, pending := versions(t, s)
		require.GreaterOrEqual(t, len(applied), 3)
		all := applied
		for i, v := range all {
			assert.Equal(t, int64(i+1), v, "Open applies every migration, numbered from 1")
		}
		assert.Empty(t, pending)

		res, err := s.MigrateUp(ctx)
		require.NoError(t, err)
		assert.Empty(t, res, "nothing left to apply")

		res, err = s.MigrateDown(ctx, 1)
		require.NoError(t, err)
		require.Len(t, res, 1)
		assert.Equal(t, all[len(all)-1], res[0].Version, "down removes the newest first")
		assert.Equal(t, "down", res[0].Direction)

		// Down to 0001: the tracked set's table (0002) is gone.
		res, err = s.MigrateDown(ctx, len(all)-2)
		require.NoError(t, err)
		require.Len(t, res, len(all)-2)
		_, err = s.TrackedSymbols(ctx, "")
		assert.Error(t, err, "the table is gone")

		res, err = s.MigrateDown(ctx, 10)
		require.NoError(t, err, "running out of migrations is not an error")
		require.Len(t, res, 1)
		applied, pending = versions(t, s)
		assert.Empty(t, applied)
		assert.Equal(t, all, pending)
		_, err = s.CountCandles(ctx, "", "", 0)
		assert.Error(t, err)

		res, err = s.MigrateUp(ctx)
		require.NoError(t, err)
		require.Len(t, res, len(all))
		assert.Equal(t, "0001_candles.sql", res[0].Name)
		assert.Equal(t, "up", res[0].Direction)
		applied, _ = versions(t, s)
		assert.Equal(t, all, applied)
		_, err = s.InsertCandles(ctx, broker, symbol, market.M1, series(t0, 3))
		require.NoError(t, err)

		_, err = s.MigrateDown(ctx, 0)
		assert.Error(t, err)
	})
}

func TestOpenWithoutMigrations(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		applied, pending := versions(t, s)
		assert.Empty(t, applied)
		require.NotEmpty(t, pending)
		for i, v := range pending {
			assert.Equal(t, int64(i+1), v)
		}
	}, store.WithoutMigrations())
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	t.Parallel()
	_, err := store.Open(context.Background(), "mysql://localhost/x", t.TempDir(), nil)
	assert.ErrorIs(t, err, store.ErrInvalidURL)
	_, err = store.Open(context.Background(), "", "", nil)
	assert.Error(t, err, "the embedded store needs a data directory")
}

func TestSQLiteReopenKeepsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.Open(ctx, "", dir, nil)
	require.NoError(t, err)
	assert.Equal(t, store.DialectSQLite, s.Dialect())
	_, err = s.InsertCandles(ctx, broker, symbol, market.M1, series(t0, 5))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	s, err = store.Open(ctx, "", dir, nil)
	require.NoError(t, err)
	defer func() { _ = s.Close() }()
	n, err := s.CountCandles(ctx, "", "", 0)
	require.NoError(t, err)
	assert.Equal(t, int64(5), n)
	var (
		mode             string
		sync, fk, busyMS int
	)
	require.NoError(t, s.DB().GetContext(ctx, &mode, "PRAGMA journal_mode"))
	require.NoError(t, s.DB().GetContext(ctx, &sync, "PRAGMA synchronous"))
	require.NoError(t, s.DB().GetContext(ctx, &fk, "PRAGMA foreign_keys"))
	require.NoError(t, s.DB().GetContext(ctx, &busyMS, "PRAGMA busy_timeout"))
	assert.Equal(t, "wal", mode)
	assert.Equal(t, 1, sync, "synchronous=NORMAL")
	assert.Equal(t, 1, fk)
	assert.Positive(t, busyMS)
}

// The default data directory is relative (./data).
func TestSQLiteRelativeDataDir(t *testing.T) {
	t.Chdir(t.TempDir())
	ctx := context.Background()
	s, err := store.Open(ctx, "", "data", nil)
	require.NoError(t, err)
	defer func() { _ = s.Close() }()
	_, err = s.InsertCandles(ctx, broker, symbol, market.M1, series(t0, 2))
	require.NoError(t, err)
	assert.FileExists(t, "data/"+store.SQLiteFile)
}

func TestCandleQueries(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		all := series(t0, 100)
		_, err := s.InsertCandles(ctx, broker, symbol, market.M1, all)
		require.NoError(t, err)
		// Another broker's candles with the same symbol never leak in.
		_, err = s.InsertCandles(ctx, "other", symbol, market.M1, series(t0+100*60, 5))
		require.NoError(t, err)

		got, err := s.Candles(ctx, broker, symbol, market.M1, 0, 0, 10, store.OrderAuto)
		require.NoError(t, err)
		assert.Equal(t, all[90:], got, "latest N, ascending")

		got, err = s.Candles(ctx, broker, symbol, market.M1, all[20].Time, 0, 5, store.OrderAuto)
		require.NoError(t, err)
		assert.Equal(t, all[20:25], got, "first N from a time")

		got, err = s.Candles(ctx, broker, symbol, market.M1, all[20].Time, all[30].Time, 0, store.OrderAuto)
		require.NoError(t, err)
		assert.Equal(t, all[20:30], got, "to is exclusive")

		got, err = s.Candles(ctx, broker, symbol, market.M1, all[20].Time, all[30].Time, 3, store.OrderLatest)
		require.NoError(t, err)
		assert.Equal(t, all[27:30], got)

		got, err = s.Candles(ctx, broker, symbol, market.M1, 0, all[50].Time, 2, store.OrderAuto)
		require.NoError(t, err)
		assert.Equal(t, all[48:50], got, "latest before to")

		got, err = s.Candles(ctx, broker, symbol, market.M1, 0, 0, 0, store.OrderEarliest)
		require.NoError(t, err)
		assert.Equal(t, all, got)

		got, err = s.Candles(ctx, broker, symbol, market.M5, 0, 0, 10, store.OrderAuto)
		require.NoError(t, err)
		assert.Empty(t, got)

		_, err = s.Candles(ctx, "", symbol, market.M1, 0, 0, 10, store.OrderAuto)
		assert.ErrorIs(t, err, store.ErrInvalidKey)
	})
}

func TestLatestCandleTime(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, ok, err := s.LatestCandleTime(ctx, broker, symbol, market.M1)
		require.NoError(t, err)
		assert.False(t, ok)

		c := series(t0, 30)
		_, err = s.InsertCandles(ctx, broker, symbol, market.M1, c[10:])
		require.NoError(t, err)
		_, err = s.InsertCandles(ctx, broker, symbol, market.M1, c[:10])
		require.NoError(t, err)
		_, err = s.InsertCandles(ctx, "other", symbol, market.M1, series(t0+3600, 1))
		require.NoError(t, err)
		_, err = s.InsertCandles(ctx, broker, symbol, market.M5, series(t0+7200, 1))
		require.NoError(t, err)

		last, ok, err := s.LatestCandleTime(ctx, broker, symbol, market.M1)
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, c[29].Time, last)
	})
}

func TestTrackedSymbols(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		before := time.Now().UTC().Add(-time.Second)
		added, err := s.TrackSymbol(ctx, broker, symbol, market.M1, store.SourceConfig)
		require.NoError(t, err)
		assert.True(t, added)
		added, err = s.TrackSymbol(ctx, broker, symbol, market.M1, store.SourceBot)
		require.NoError(t, err)
		assert.False(t, added, "already tracked")
		_, err = s.TrackSymbol(ctx, broker, "AUDCAD", market.M5, store.SourceBot)
		require.NoError(t, err)
		_, err = s.TrackSymbol(ctx, "iqoption", symbol, market.H1, store.SourceConfig)
		require.NoError(t, err)

		all, err := s.TrackedSymbols(ctx, "")
		require.NoError(t, err)
		require.Len(t, all, 3)
		assert.Equal(t, "iqoption", all[0].Broker)
		paper, err := s.TrackedSymbols(ctx, broker)
		require.NoError(t, err)
		require.Len(t, paper, 2)
		assert.Equal(t, store.TrackedSymbol{Broker: broker, Symbol: "AUDCAD", Timeframe: market.M5, Source: store.SourceBot, CreatedAt: paper[0].CreatedAt}, paper[0])
		assert.Equal(t, store.SourceConfig, paper[1].Source, "the first source is kept")
		assert.WithinRange(t, paper[1].CreatedAt, before, time.Now().UTC().Add(time.Second))

		require.NoError(t, s.UntrackSymbol(ctx, broker, "AUDCAD", market.M5))
		assert.ErrorIs(t, s.UntrackSymbol(ctx, broker, "AUDCAD", market.M5), store.ErrNotFound)
		_, err = s.TrackSymbol(ctx, broker, symbol, 0, store.SourceBot)
		assert.ErrorIs(t, err, store.ErrInvalidKey)
	})
}
