package indicator

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// refSymbols are the instruments with TA-Lib reference files in testdata
// (provenance in testdata/README.md).
var refSymbols = []string{"btcusdt", "ethusdt"}

// candles holds the time and close columns of testdata/<symbol>_1h.csv.
type candles struct {
	times  []int64
	closes []float64
}

// readCSV returns the rows of a testdata CSV, header removed.
func readCSV(t testing.TB, name string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Greater(t, len(rows), 1, "%s has no data rows", name)
	return rows[1:]
}

func parseFloat(t testing.TB, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err)
	return v
}

func parseTime(t testing.TB, s string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return v
}

func loadCandles(t testing.TB, symbol string) candles {
	t.Helper()
	var c candles
	for _, r := range readCSV(t, symbol+"_1h.csv") {
		require.Len(t, r, 6)
		c.times = append(c.times, parseTime(t, r[0]))
		c.closes = append(c.closes, parseFloat(t, r[4]))
	}
	return c
}

// loadRef reads a reference file and returns, for each data column after
// time, a slice aligned with the candles (NaN where the file has no row),
// plus the candle index of the file's first row. Rows are matched by time,
// so a missing or reordered row would show up as a mismatch rather than a
// silent shift.
func loadRef(t testing.TB, c candles, file string, columns int) ([][]float64, int) {
	t.Helper()
	index := make(map[int64]int, len(c.times))
	for i, ts := range c.times {
		index[ts] = i
	}
	cols := make([][]float64, columns)
	for j := range cols {
		cols[j] = nanSlice(len(c.times))
	}
	first := -1
	for _, r := range readCSV(t, file) {
		require.Len(t, r, columns+1)
		i, ok := index[parseTime(t, r[0])]
		require.True(t, ok, "%s: time %s not among the candles", file, r[0])
		if first < 0 {
			first = i
		}
		for j := range cols {
			cols[j][i] = parseFloat(t, r[j+1])
		}
	}
	return cols, first
}

func maxAbs(xs []float64) float64 {
	var m float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			m = math.Max(m, math.Abs(x))
		}
	}
	return m
}

// firstDefined returns the index of the first non-NaN entry, or -1.
func firstDefined(xs []float64) int {
	for i, x := range xs {
		if !math.IsNaN(x) {
			return i
		}
	}
	return -1
}

func requireAllNaN(t *testing.T, xs []float64, msgAndArgs ...any) {
	t.Helper()
	for i, x := range xs {
		require.True(t, math.IsNaN(x), "index %d = %v, want NaN %v", i, x, msgAndArgs)
	}
}

// requireSameFloats asserts bitwise equality, treating NaN as equal to NaN.
func requireSameFloats(t *testing.T, want, got []float64, msgAndArgs ...any) {
	t.Helper()
	require.Len(t, got, len(want), msgAndArgs...)
	for i := range want {
		if math.Float64bits(want[i]) != math.Float64bits(got[i]) {
			require.Failf(t, "values differ", "index %d: want %v, got %v %v", i, want[i], got[i], msgAndArgs)
		}
	}
}
