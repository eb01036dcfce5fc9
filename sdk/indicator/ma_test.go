package indicator

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var nan = math.NaN()

func TestMovingAveragesHandComputed(t *testing.T) {
	tests := []struct {
		name   string
		fn     func([]float64, int) []float64
		values []float64
		period int
		want   []float64
	}{
		{"SMA period 1 is identity", SMA, []float64{3, -1, 4}, 1, []float64{3, -1, 4}},
		{"SMA(3) ramp", SMA, []float64{1, 2, 3, 4, 5, 6}, 3, []float64{nan, nan, 2, 3, 4, 5}},
		{"SMA(2) zigzag", SMA, []float64{2, 8, 4, 10, 0}, 2, []float64{nan, 5, 6, 7, 5}},
		{"SMA(3) longer than input", SMA, []float64{1, 2}, 3, []float64{nan, nan}},
		{"EMA period 1 is identity", EMA, []float64{3, -1, 4}, 1, []float64{3, -1, 4}},
		// k = 0.5; the seed is mean(2,4,6) = 4, not the first value.
		{"EMA(3)", EMA, []float64{2, 4, 6, 8, 4, 2}, 3, []float64{nan, nan, 4, 6, 5, 3.5}},
		// k = 0.4; seed mean(1,2,3,6) = 3, then 3 + (1-3)*0.4.
		{"EMA(4)", EMA, []float64{1, 2, 3, 6, 1}, 4, []float64{nan, nan, nan, 3, 2.2}},
		{"EMA(3) longer than input", EMA, []float64{1, 2}, 3, []float64{nan, nan}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.fn(tc.values, tc.period)
			require.Len(t, got, len(tc.want))
			for i, w := range tc.want {
				if math.IsNaN(w) {
					assert.True(t, math.IsNaN(got[i]), "index %d = %v, want NaN", i, got[i])
					continue
				}
				assert.InDelta(t, w, got[i], 1e-12, "index %d", i)
			}
		})
	}
}

// TestSMADoesNotDrift feeds a long series whose exact window sums are known
// (all values are multiples of 1/1024, tracked in integers) and in which
// occasional 2^45 spikes make a plain running sum round away low-order bits
// that it never recovers.
func TestSMADoesNotDrift(t *testing.T) {
	const (
		n     = 100_000
		scale = 1024
		spike = int64(1) << 45 * scale
	)
	rng := rand.New(rand.NewPCG(1, 2))
	units := make([]int64, n)
	values := make([]float64, n)
	for i := range units {
		units[i] = 50*scale + rng.Int64N(100*scale)
		if rng.IntN(500) == 0 {
			units[i] += spike
		}
		values[i] = float64(units[i]) / scale
	}
	for _, period := range []int{3, 20, 64} {
		exact := make([]float64, n)
		var window int64
		for i := range units {
			window += units[i]
			if i >= period {
				window -= units[i-period]
			}
			exact[i] = float64(window) / scale / float64(period)
		}

		batch := SMA(values, period)
		stream := feed(NewSMA(period), values)
		naive := naiveRunningSMA(values, period)
		var worst, naiveWorst float64
		for i := period - 1; i < n; i++ {
			worst = math.Max(worst, relErr(batch[i], exact[i]))
			worst = math.Max(worst, relErr(stream[i], exact[i]))
			naiveWorst = math.Max(naiveWorst, relErr(naive[i], exact[i]))
		}
		t.Logf("SMA(%d): worst relative error %.2g (plain running sum: %.2g)", period, worst, naiveWorst)
		assert.Less(t, worst, 1e-9, "SMA(%d)", period)
		assert.Greater(t, naiveWorst, 1e-7, "SMA(%d): series no longer provokes drift", period)
	}
}

// naiveRunningSMA is TA-Lib's TA_SMA arithmetic, kept as the baseline that
// TestSMADoesNotDrift must show to be inadequate.
func naiveRunningSMA(values []float64, period int) []float64 {
	out := nanSlice(len(values))
	var sum float64
	for i, v := range values {
		sum += v
		if i >= period-1 {
			out[i] = sum / float64(period)
			sum -= values[i-period+1]
		}
	}
	return out
}

func relErr(got, want float64) float64 {
	if got == want {
		return 0
	}
	return math.Abs(got-want) / math.Abs(want)
}
