package indicator

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// MACD(2,3,2) on 1,3,2,6,4, worked by hand with TA-Lib seeding:
//
//	index 2: slow = mean(1,3,2) = 2, fast = mean(3,2) = 5/2 (the last two
//	         closes, not the first two), macd = 1/2
//	index 3: slow = 2+(6-2)/2 = 4, fast = 5/2+(6-5/2)*2/3 = 29/6, macd = 5/6,
//	         signal = mean(1/2, 5/6) = 2/3, hist = 1/6
//	index 4: slow = 4, fast = 29/6+(4-29/6)*2/3 = 77/18, macd = 5/18,
//	         signal = 2/3+(5/18-2/3)*2/3 = 11/27, hist = -7/54
//
// Index 2 has a MACD line internally but, as in TA-Lib, it is reported only
// once the signal exists.
func TestMACDHandComputed(t *testing.T) {
	closes := []float64{1, 3, 2, 6, 4}
	wantMACD := []float64{nan, nan, nan, 5.0 / 6, 5.0 / 18}
	wantSig := []float64{nan, nan, nan, 2.0 / 3, 11.0 / 27}
	wantHist := []float64{nan, nan, nan, 1.0 / 6, -7.0 / 54}

	for _, periods := range [][3]int{{2, 3, 2}, {3, 2, 2}} { // fast > slow is swapped
		m, s, h := MACD(closes, periods[0], periods[1], periods[2])
		sm, ss, sh := feedMACD(NewMACD(periods[0], periods[1], periods[2]), closes)
		for _, c := range []struct {
			name      string
			want, got []float64
			stream    []float64
		}{
			{"macd", wantMACD, m, sm},
			{"signal", wantSig, s, ss},
			{"hist", wantHist, h, sh},
		} {
			require.Len(t, c.got, len(closes))
			for i, w := range c.want {
				if math.IsNaN(w) {
					assert.True(t, math.IsNaN(c.got[i]), "%v %s index %d = %v, want NaN", periods, c.name, i, c.got[i])
					continue
				}
				assert.InDelta(t, w, c.got[i], 1e-12, "%v %s index %d", periods, c.name, i)
			}
			requireSameFloats(t, c.got, c.stream, "%v %s stream", periods, c.name)
		}
	}
}

// fast == slow is legal in TA-Lib and gives an identically zero line.
func TestMACDEqualPeriods(t *testing.T) {
	closes := testCloses()
	m, s, h := MACD(closes, 5, 5, 3)
	requireAllNaN(t, m[:6])
	for i := 6; i < len(closes); i++ {
		assert.Equal(t, []float64{0, 0, 0}, []float64{m[i], s[i], h[i]}, "index %d", i)
	}
}

// A flat series has zero MACD at any price level: both EMAs seed to the
// price (up to rounding of the seed mean) and stay there.
func TestMACDFlatSeries(t *testing.T) {
	closes := make([]float64, 60)
	for i := range closes {
		closes[i] = 3e-9
	}
	m, s, h := MACD(closes, 12, 26, 9)
	requireAllNaN(t, m[:33])
	for i := 33; i < len(closes); i++ {
		for _, x := range []float64{m[i], s[i], h[i]} {
			assert.InDelta(t, 0, x, 1e-22, "index %d", i)
		}
	}
}
