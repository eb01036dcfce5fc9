package indicator

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestWarmupMatchesFullHistory justifies RSIWarmup and MACDWarmup on the
// reference data: for every candle, a fresh stream fed only the last W
// closes must agree with the full-history value within 1e-6, and half that
// window must not (so the constants are not arbitrarily generous).
func TestWarmupMatchesFullHistory(t *testing.T) {
	var series [][]float64
	for _, sym := range refSymbols {
		series = append(series, loadCandles(t, sym).closes)
	}
	worst := func(errFn func([]float64) float64) float64 {
		var e float64
		for _, closes := range series {
			e = math.Max(e, errFn(closes))
		}
		return e
	}

	t.Run("RSI", func(t *testing.T) {
		t.Parallel()
		for _, period := range []int{5, 14, 21} {
			w := RSIWarmup(period)
			errW := worst(func(c []float64) float64 { return rsiWindowErr(c, period, w) })
			errHalf := worst(func(c []float64) float64 { return rsiWindowErr(c, period, w/2) })
			t.Logf("RSI(%d): window %d -> max error %.2g points; window %d -> %.2g", period, w, errW, w/2, errHalf)
			assert.Less(t, errW, 1e-6, "RSI(%d) window %d", period, w)
			assert.Greater(t, errHalf, 1e-6, "RSI(%d) window %d", period, w/2)
		}
		// The figures quoted in the package documentation.
		for _, w := range []int{100, 300} {
			e := worst(func(c []float64) float64 { return rsiWindowErr(c, 14, w) })
			t.Logf("RSI(14): window %d -> max error %.2g points", w, e)
		}
	})

	t.Run("MACD", func(t *testing.T) {
		t.Parallel()
		for _, p := range [][3]int{{12, 26, 9}, {5, 35, 5}, {8, 17, 9}, {3, 10, 16}} {
			w := MACDWarmup(p[0], p[1], p[2])
			errW := worst(func(c []float64) float64 { return macdWindowErr(c, p, w) })
			errHalf := worst(func(c []float64) float64 { return macdWindowErr(c, p, w/2) })
			t.Logf("MACD%v: window %d -> max error %.2g×max|MACD|; window %d -> %.2g", p, w, errW, w/2, errHalf)
			assert.Less(t, errW, 1e-6, "MACD%v window %d", p, w)
			assert.Greater(t, errHalf, 1e-6, "MACD%v window %d", p, w/2)
		}
	})
}

func TestWarmupFormulas(t *testing.T) {
	assert.Equal(t, 350, RSIWarmup(14))
	assert.Equal(t, 292, MACDWarmup(12, 26, 9))
	assert.Equal(t, MACDWarmup(12, 26, 9), MACDWarmup(26, 12, 9), "fast > slow is swapped")
	for _, p := range []int{1, 2, 14, 100} {
		assert.Greater(t, RSIWarmup(p), NewRSI(p).Lookback(), "RSI(%d)", p)
	}
	for _, p := range [][3]int{{1, 1, 1}, {12, 26, 9}, {2, 100, 50}} {
		assert.Greater(t, MACDWarmup(p[0], p[1], p[2]), NewMACD(p[0], p[1], p[2]).Lookback(), "MACD%v", p)
	}
	for _, bad := range []int{0, -5} {
		assert.Zero(t, RSIWarmup(bad))
		assert.Zero(t, MACDWarmup(bad, 26, 9))
		assert.Zero(t, MACDWarmup(12, bad, 9))
		assert.Zero(t, MACDWarmup(12, 26, bad))
	}
}

// rsiWindowErr is the largest |RSI from the last w closes - RSI from all
// closes| over every candle with at least w closes of history.
func rsiWindowErr(closes []float64, period, w int) float64 {
	full := RSI(closes, period)
	s := NewRSI(period)
	var worst float64
	for end := w; end <= len(closes); end++ {
		s.Reset()
		var v float64
		for _, c := range closes[end-w : end] {
			v = s.Update(c)
		}
		worst = math.Max(worst, math.Abs(v-full[end-1]))
	}
	return worst
}

// macdWindowErr is rsiWindowErr for MACD, taking the worst of the line,
// signal and histogram, relative to max|MACD| over the full series.
func macdWindowErr(closes []float64, p [3]int, w int) float64 {
	m, sig, hist := MACD(closes, p[0], p[1], p[2])
	scale := maxAbs(m)
	s := NewMACD(p[0], p[1], p[2])
	var worst float64
	for end := w; end <= len(closes); end++ {
		s.Reset()
		var a, b, c float64
		for _, x := range closes[end-w : end] {
			a, b, c = s.Update(x)
		}
		i := end - 1
		e := math.Max(math.Abs(a-m[i]), math.Max(math.Abs(b-sig[i]), math.Abs(c-hist[i])))
		worst = math.Max(worst, e/scale)
	}
	return worst
}
