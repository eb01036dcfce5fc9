package store_test

import (
	"context"
	"math"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/market"
)

const (
	broker = "paper"
	symbol = "EURUSD-OTC"
	t0     = int64(1767225600) // 2026-01-01 00:00 UTC, aligned to every timeframe
)

// series returns n valid 1m candles from start, with prices of exactly 8
// decimals (as both stores return them).
func series(start int64, n int) market.Series {
	out := make(market.Series, n)
	for i := range out {
		p := 110000000 + int64(i%97)*12345
		out[i] = market.Candle{
			Time: start + int64(i)*60, Open: dec8(p), High: dec8(p + 51234), Low: dec8(p - 43211),
			Close: dec8(p + 1111), Volume: float64(i%13) * 1.5,
		}
	}
	return out
}

// dec8 is the float64 nearest to n·10⁻⁸.
func dec8(n int64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatInt(n, 10)+"e-8", 64)
	return f
}

func TestInsertAndReadBackExactValues(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		in := market.Series{
			{Time: t0, Open: 1.23456789, High: 1.23456799, Low: 1.00000001, Close: 1.1, Volume: 1234.5678},
			{Time: t0 + 60, Open: 12345.12345678, High: 99999.99999999, Low: 0.00000001, Close: 50000, Volume: 0},
			{Time: t0 + 120, Open: 9999999999.5, High: 9999999999.99, Low: 0.5, Close: 1, Volume: 99999999999999},
		}
		res, err := s.InsertCandles(ctx, broker, symbol, market.M1, in)
		require.NoError(t, err)
		assert.Equal(t, store.InsertResult{Inserted: 3}, res)
		got, err := s.Candles(ctx, broker, symbol, market.M1, 0, 0, 10, store.OrderAuto)
		require.NoError(t, err)
		assert.Equal(t, in, got)
	})
}

func TestValuesRoundToColumnScaleOnBothStores(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		in := market.Series{{Time: t0, Open: 1.123456789, High: 2.000000004, Low: 1.000000006, Close: 1.5, Volume: 1.23456}}
		_, err := s.InsertCandles(ctx, broker, symbol, market.M1, in)
		require.NoError(t, err)
		got, err := s.Candles(ctx, broker, symbol, market.M1, 0, 0, 1, store.OrderAuto)
		require.NoError(t, err)
		want := market.Series{{Time: t0, Open: 1.12345679, High: 2, Low: 1.00000001, Close: 1.5, Volume: 1.2346}}
		assert.Equal(t, want, got)
	})
}

func TestDuplicatesAreIgnoredAndCounted(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		first := series(t0, 10)
		// Within one batch: times 0..9 plus repeats of 3 and 7 carrying
		// other prices; the first occurrence is kept.
		batch := append(market.Series{}, first...)
		dup3, dup7 := first[3], first[7]
		dup3.Close, dup7.Close = dup3.High, dup7.Low
		batch = append(batch, dup3, dup7)
		res, err := s.InsertCandles(ctx, broker, symbol, market.M1, batch)
		require.NoError(t, err)
		assert.Equal(t, store.InsertResult{Inserted: 10, Duplicates: 2}, res)

		// Across batches: 5..14 overlaps 5..9; stored rows are not
		// overwritten.
		second := series(t0+5*60, 10)
		for i := range second {
			second[i].Close = second[i].Open
		}
		res, err = s.InsertCandles(ctx, broker, symbol, market.M1, second)
		require.NoError(t, err)
		assert.Equal(t, store.InsertResult{Inserted: 5, Duplicates: 5}, res)

		got, err := s.Candles(ctx, broker, symbol, market.M1, 0, 0, 0, store.OrderAuto)
		require.NoError(t, err)
		require.Len(t, got, 15)
		assert.Equal(t, first, got[:10], "the first stored version of each time is kept")
		assert.Equal(t, second[5:], got[10:])

		// A replay of everything is all duplicates.
		res, err = s.InsertCandles(ctx, broker, symbol, market.M1, append(first, second...))
		require.NoError(t, err)
		assert.Equal(t, store.InsertResult{Duplicates: 20}, res)
		n, err := s.CountCandles(ctx, "", "", 0)
		require.NoError(t, err)
		assert.Equal(t, int64(15), n)
	})
}

func TestInvalidCandlesAreRejectedCountedNeverStored(t *testing.T) {
	t.Parallel()
	bad := map[string]market.Candle{
		"high below low":       {Time: t0, Open: 1, High: 0.9, Low: 1, Close: 1},
		"open above high":      {Time: t0, Open: 1.2, High: 1.1, Low: 1, Close: 1},
		"open below low":       {Time: t0, Open: 0.9, High: 1.1, Low: 1, Close: 1},
		"close above high":     {Time: t0, Open: 1, High: 1.1, Low: 1, Close: 1.2},
		"close below low":      {Time: t0, Open: 1, High: 1.1, Low: 1, Close: 0.9},
		"NaN price":            {Time: t0, Open: math.NaN(), High: 1.1, Low: 1, Close: 1},
		"+Inf price":           {Time: t0, Open: 1, High: math.Inf(1), Low: 1, Close: 1},
		"-Inf price":           {Time: t0, Open: 1, High: 1.1, Low: math.Inf(-1), Close: 1},
		"zero price":           {Time: t0, Open: 0, High: 1.1, Low: 0, Close: 1},
		"negative price":       {Time: t0, Open: -1, High: 1.1, Low: -1, Close: 1},
		"misaligned time":      {Time: t0 + 30, Open: 1, High: 1.1, Low: 1, Close: 1},
		"negative volume":      {Time: t0, Open: 1, High: 1.1, Low: 1, Close: 1, Volume: -1},
		"NaN volume":           {Time: t0, Open: 1, High: 1.1, Low: 1, Close: 1, Volume: math.NaN()},
		"price overflows":      {Time: t0, Open: 1, High: 1e10, Low: 1, Close: 1},
		"price rounds to zero": {Time: t0, Open: 1, High: 1.1, Low: 1e-9, Close: 1},
		"volume overflows":     {Time: t0, Open: 1, High: 1.1, Low: 1, Close: 1, Volume: 1e14},
	}
	for name, c := range bad {
		assert.ErrorIs(t, store.ValidateCandle(c, market.M1), market.ErrInvalidCandle, name)
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		good := series(t0+3600, 4)
		var in market.Series
		in = append(in, good[0])
		for _, c := range bad {
			in = append(in, c)
		}
		in = append(in, good[1:]...)
		res, err := s.InsertCandles(ctx, broker, symbol, market.M1, in)
		require.NoError(t, err)
		assert.Equal(t, store.InsertResult{Inserted: 4, Rejected: len(bad)}, res)
		got, err := s.Candles(ctx, broker, symbol, market.M1, 0, 0, 0, store.OrderAuto)
		require.NoError(t, err)
		assert.Equal(t, good, got)

		// A key whose candles are all invalid beside a valid key.
		res, err = s.InsertBatch(ctx, []store.KeyedCandles{
			{Broker: broker, Symbol: "ALLBAD", Timeframe: market.M1, Candles: market.Series{bad["zero price"], bad["misaligned time"]}},
			{Broker: broker, Symbol: symbol, Timeframe: market.M1, Candles: good},
			{Broker: broker, Symbol: "EMPTY", Timeframe: market.M1},
		})
		require.NoError(t, err)
		assert.Equal(t, store.InsertResult{Duplicates: 4, Rejected: 2}, res)

		// A batch of nothing but invalid candles writes nothing.
		res, err = s.InsertCandles(ctx, broker, "OTHER", market.M1, market.Series{bad["zero price"]})
		require.NoError(t, err)
		assert.Equal(t, store.InsertResult{Rejected: 1}, res)
		n, err := s.CountCandles(ctx, "", "", 0)
		require.NoError(t, err)
		assert.Equal(t, int64(4), n)
	})
}

func TestInvalidKeyIsAnError(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		c := series(t0, 1)
		for name, k := range map[string]store.KeyedCandles{
			"empty broker":      {Symbol: symbol, Timeframe: market.M1, Candles: c},
			"empty symbol":      {Broker: broker, Timeframe: market.M1, Candles: c},
			"invalid timeframe": {Broker: broker, Symbol: symbol, Candles: c},
			"long broker":       {Broker: "b123456789012345678901", Symbol: symbol, Timeframe: market.M1, Candles: c},
			"control char":      {Broker: broker, Symbol: "EUR\tUSD", Timeframe: market.M1, Candles: c},
		} {
			_, err := s.InsertBatch(ctx, []store.KeyedCandles{{Broker: broker, Symbol: symbol, Timeframe: market.M1, Candles: c}, k})
			assert.ErrorIs(t, err, store.ErrInvalidKey, name)
		}
		n, err := s.CountCandles(ctx, "", "", 0)
		require.NoError(t, err)
		assert.Zero(t, n, "a batch with an invalid key stores nothing")
	})
}

func TestInsertBatchManyKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, err := s.InsertCandles(ctx, broker, "B", market.M5, market.Series{{Time: t0 + 300, Open: 1, High: 1, Low: 1, Close: 1}})
		require.NoError(t, err)
		// Reversed input, a key split over two entries, a backslash in a
		// symbol (COPY escaping), another broker with the same symbol, and
		// a key overlapping stored history.
		a := series(t0, 6)
		rev := market.Series{a[5], a[4], a[3]}
		b := market.Series{{Time: t0, Open: 2, High: 2, Low: 2, Close: 2}, {Time: t0 + 300, Open: 3, High: 3, Low: 3, Close: 3}}
		res, err := s.InsertBatch(ctx, []store.KeyedCandles{
			{Broker: broker, Symbol: `A\1`, Timeframe: market.M1, Candles: rev},
			{Broker: broker, Symbol: "B", Timeframe: market.M5, Candles: b},
			{Broker: "other", Symbol: `A\1`, Timeframe: market.M1, Candles: a[:2]},
			{Broker: broker, Symbol: `A\1`, Timeframe: market.M1, Candles: a[:3]},
		})
		require.NoError(t, err)
		assert.Equal(t, store.InsertResult{Inserted: 9, Duplicates: 1}, res)
		got, err := s.Candles(ctx, broker, `A\1`, market.M1, 0, 0, 0, store.OrderAuto)
		require.NoError(t, err)
		assert.Equal(t, a, got)
		got, err = s.Candles(ctx, "other", `A\1`, market.M1, 0, 0, 0, store.OrderAuto)
		require.NoError(t, err)
		assert.Equal(t, a[:2], got)
		n, err := s.CountCandles(ctx, broker, "B", market.M5)
		require.NoError(t, err)
		assert.Equal(t, int64(2), n)
		assert.Equal(t, 3, len(rev), "the caller's slice is not modified")
		assert.Equal(t, a[5], rev[0])
	})
}

func TestConcurrentOverlappingWriters(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const writers, per, step = 8, 400, 50
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			total store.InsertResult
		)
		for g := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := series(t0+int64(g*step)*60, per)
				batch := []store.KeyedCandles{
					{Broker: broker, Symbol: "X", Timeframe: market.M1, Candles: c},
					{Broker: broker, Symbol: "Y", Timeframe: market.M1, Candles: c},
				}
				if g%2 == 1 { // opposite key order must not deadlock
					batch[0], batch[1] = batch[1], batch[0]
				}
				for range 3 {
					res, err := s.InsertBatch(ctx, batch)
					if !assert.NoError(t, err) {
						return
					}
					mu.Lock()
					total.Add(res)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		distinct := int64((writers-1)*step + per)
		for _, sym := range []string{"X", "Y"} {
			n, err := s.CountCandles(ctx, broker, sym, market.M1)
			require.NoError(t, err)
			assert.Equal(t, distinct, n, sym)
		}
		assert.Equal(t, int(2*distinct), total.Inserted)
		assert.Equal(t, 2*3*writers*per, total.Inserted+total.Duplicates)
	})
}

func TestLargeBatch(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		res, err := s.InsertCandles(ctx, broker, symbol, market.M1, series(t0, 50000))
		require.NoError(t, err)
		assert.Equal(t, store.InsertResult{Inserted: 50000}, res)
		// Dense overlap (read back by one range scan on PostgreSQL).
		res, err = s.InsertCandles(ctx, broker, symbol, market.M1, series(t0+40000*60, 20000))
		require.NoError(t, err)
		assert.Equal(t, store.InsertResult{Inserted: 10000, Duplicates: 10000}, res)
		// A sparse batch (every fifth minute) over dense history is
		// checked by probing each time, in chunks.
		sparse := make(market.Series, 12100)
		for i := range sparse {
			sparse[i] = series(t0+int64(i)*5*60, 1)[0]
		}
		res, err = s.InsertCandles(ctx, broker, symbol, market.M1, sparse)
		require.NoError(t, err)
		assert.Equal(t, store.InsertResult{Inserted: 100, Duplicates: 12000}, res)
		n, err := s.CountCandles(ctx, broker, symbol, market.M1)
		require.NoError(t, err)
		assert.Equal(t, int64(60100), n)
	})
}

func TestSparseBatchOverDenseHistory(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, err := s.InsertCandles(ctx, broker, symbol, market.M1, series(t0, 100))
		require.NoError(t, err)
		far := series(t0+1000000*60, 1)
		res, err := s.InsertCandles(ctx, broker, symbol, market.M1, market.Series{series(t0+50*60, 1)[0], far[0]})
		require.NoError(t, err)
		assert.Equal(t, store.InsertResult{Inserted: 1, Duplicates: 1}, res)
		last, ok, err := s.LatestCandleTime(ctx, broker, symbol, market.M1)
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, far[0].Time, last)
	})
}
