package indicator

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testCloses() []float64 {
	return []float64{10, 11, 10.5, 12, 12.5, 11, 13, 14, 13.5, 15, 14, 16, 15.5, 17, 18, 16, 19, 20, 18.5, 21}
}

func TestStreamLifecycle(t *testing.T) {
	closes := testCloses()
	tests := []struct {
		name     string
		stream   updater
		lookback int
	}{
		{"SMA(1)", NewSMA(1), 0},
		{"SMA(5)", NewSMA(5), 4},
		{"EMA(1)", NewEMA(1), 0},
		{"EMA(5)", NewEMA(5), 4},
		{"RSI(1)", NewRSI(1), 1},
		{"RSI(5)", NewRSI(5), 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.stream
			require.Equal(t, tc.lookback, s.Lookback())
			for round := range 2 { // the second round checks Reset
				assert.False(t, s.Ready())
				assert.True(t, math.IsNaN(s.Value()))
				var first []float64
				for i, v := range closes {
					got := s.Update(v)
					first = append(first, got)
					require.Equal(t, i >= tc.lookback, s.Ready(), "round %d index %d", round, i)
					require.Equal(t, i < tc.lookback, math.IsNaN(got), "round %d index %d", round, i)
					require.Equal(t, math.Float64bits(got), math.Float64bits(s.Value()))
				}
				s.Reset()
				requireSameFloats(t, first, feed(s, closes))
				s.Reset()
			}
		})
	}
}

func TestMACDStreamLifecycle(t *testing.T) {
	closes := testCloses()
	s := NewMACD(3, 5, 4)
	require.Equal(t, 7, s.Lookback())
	for round := range 2 {
		assert.False(t, s.Ready())
		for i, v := range closes {
			m, sg, h := s.Update(v)
			require.Equal(t, i >= 7, s.Ready(), "round %d index %d", round, i)
			for _, x := range []float64{m, sg, h} {
				require.Equal(t, i < 7, math.IsNaN(x), "round %d index %d", round, i)
			}
			vm, vs, vh := s.Value()
			requireSameFloats(t, []float64{m, sg, h}, []float64{vm, vs, vh})
		}
		s.Reset()
	}
	assert.Equal(t, 7, NewMACD(5, 3, 4).Lookback(), "fast > slow is swapped")
}

func TestInvalidPeriodsNeverPanic(t *testing.T) {
	closes := testCloses()
	for _, p := range []int{0, -1, math.MinInt} {
		requireAllNaN(t, SMA(closes, p))
		requireAllNaN(t, EMA(closes, p))
		requireAllNaN(t, RSI(closes, p))
		for _, s := range []updater{NewSMA(p), NewEMA(p), NewRSI(p)} {
			assert.Equal(t, -1, s.Lookback())
			requireAllNaN(t, feed(s, closes))
			assert.False(t, s.Ready())
			s.Reset()
		}
		for _, q := range [][3]int{{p, 26, 9}, {12, p, 9}, {12, 26, p}} {
			m, sg, h := MACD(closes, q[0], q[1], q[2])
			for _, out := range [][]float64{m, sg, h} {
				require.Len(t, out, len(closes))
				requireAllNaN(t, out)
			}
			s := NewMACD(q[0], q[1], q[2])
			assert.Equal(t, -1, s.Lookback())
			m, sg, h = feedMACD(s, closes)
			requireAllNaN(t, m)
			requireAllNaN(t, sg)
			requireAllNaN(t, h)
			assert.False(t, s.Ready())
		}
	}
}

func TestEmptyInput(t *testing.T) {
	for _, in := range [][]float64{nil, {}} {
		assert.Empty(t, SMA(in, 3))
		assert.Empty(t, EMA(in, 3))
		assert.Empty(t, RSI(in, 3))
		m, s, h := MACD(in, 12, 26, 9)
		assert.Empty(t, m)
		assert.Empty(t, s)
		assert.Empty(t, h)
	}
}

// Input shorter than lookback+1 has no defined output; exactly lookback+1
// values produce exactly one.
func TestShortInput(t *testing.T) {
	closes := testCloses()
	tests := []struct {
		name     string
		lookback int
		run      func([]float64) [][]float64
	}{
		{"SMA(6)", 5, func(x []float64) [][]float64 { return [][]float64{SMA(x, 6)} }},
		{"EMA(6)", 5, func(x []float64) [][]float64 { return [][]float64{EMA(x, 6)} }},
		{"RSI(14)", 14, func(x []float64) [][]float64 { return [][]float64{RSI(x, 14)} }},
		{"MACD(3,10,4)", 12, func(x []float64) [][]float64 {
			m, s, h := MACD(x, 3, 10, 4)
			return [][]float64{m, s, h}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for n := 0; n <= tc.lookback; n++ {
				for _, out := range tc.run(closes[:n]) {
					require.Len(t, out, n)
					requireAllNaN(t, out, "n=%d", n)
				}
			}
			for _, out := range tc.run(closes[:tc.lookback+1]) {
				requireAllNaN(t, out[:tc.lookback])
				assert.False(t, math.IsNaN(out[tc.lookback]))
			}
		})
	}
}

// Pins the documented behaviour for non-finite input: SMA recovers once the
// NaN has left the window and the periodic re-summation has run; the
// recursive indicators keep it until Reset.
func TestNaNInput(t *testing.T) {
	values := []float64{1, 2, 3, math.NaN(), 5, 6, 7, 8, 9, 10}
	sma := SMA(values, 3)
	assert.Equal(t, 2.0, sma[2])
	// The NaN leaves the window at index 6, but the sum is only rebuilt at
	// the next ring wrap, index 8.
	requireAllNaN(t, sma[3:8])
	assert.Equal(t, []float64{8, 9}, sma[8:])
	requireSameFloats(t, sma, feed(NewSMA(3), values))

	for _, s := range []updater{NewEMA(2), NewRSI(2)} {
		requireAllNaN(t, feed(s, values)[3:])
		s.Reset()
		assert.False(t, math.IsNaN(feed(s, values[:3])[2]))
	}
}
