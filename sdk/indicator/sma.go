package indicator

import "math"

// SMA returns the simple moving average of values over period, aligned with
// values: out[i] is the mean of values[i-period+1..i], and out[i] is NaN for
// i < period-1. An invalid period (< 1) yields an all-NaN slice of the input
// length; empty input yields an empty slice.
//
// Like TA-Lib, the window sum is maintained incrementally (add the new
// value, subtract the one leaving the window), but TA-Lib's plain running
// sum drifts: once a value that is huge relative to its neighbours has
// passed through the window, the bits it rounded away stay in the sum
// forever (occasional 3.5e13 spikes among values near 100 leave it ~1e-4
// off in relative terms; see TestSMADoesNotDrift). Here the running sum is
// Neumaier-compensated, which keeps those bits, and is re-summed from the
// window every period values, so the compensation's own rounding cannot
// accumulate either. The result stays within a few ulps of the exact window
// mean over arbitrarily long series (measured: 3e-16); apart from TA-Lib's
// drift being absent, values are those of TA_SMA. SMAStream follows the
// same schedule and matches SMA bit for bit.
func SMA(values []float64, period int) []float64 {
	out := nanSlice(len(values))
	if period < 1 {
		return out
	}
	p := float64(period)
	var sum compSum
	for i, v := range values {
		sum.add(v)
		if i >= period {
			sum.add(-values[i-period])
		}
		if (i+1)%period == 0 {
			sum = windowCompSum(values[i+1-period : i+1])
		}
		if i >= period-1 {
			out[i] = sum.value() / p
		}
	}
	return out
}

// SMAStream is the O(1)-per-value form of SMA. The zero value is not usable;
// construct it with NewSMA.
type SMAStream struct {
	period int
	buf    []float64 // ring buffer; buf[pos] is the oldest value once full
	pos    int
	n      int // values seen, capped at period
	sum    compSum
	value  float64
}

// NewSMA returns a streaming simple moving average. With period < 1 the
// stream never becomes ready and Update always returns NaN.
func NewSMA(period int) *SMAStream {
	s := &SMAStream{period: period}
	if period >= 1 {
		s.buf = make([]float64, period)
	}
	s.Reset()
	return s
}

// Update feeds the next value and returns the current average, or NaN while
// fewer than period values have been seen.
func (s *SMAStream) Update(v float64) float64 {
	if s.period < 1 {
		return s.value
	}
	old := s.buf[s.pos]
	s.buf[s.pos] = v
	s.sum.add(v)
	if s.n == s.period {
		s.sum.add(-old)
	} else {
		s.n++
	}
	s.pos++
	if s.pos == s.period {
		// When the ring wraps, its slots are in chronological order, so this
		// re-summation is exactly the one SMA performs at the same index.
		s.pos = 0
		s.sum = windowCompSum(s.buf)
	}
	if s.n == s.period {
		s.value = s.sum.value() / float64(s.period)
	}
	return s.value
}

// Value returns the last result of Update (NaN until Ready).
func (s *SMAStream) Value() float64 { return s.value }

// Ready reports whether Value is defined, i.e. period values have been seen.
func (s *SMAStream) Ready() bool { return s.period >= 1 && s.n == s.period }

// Lookback returns the input index of the first defined output, period-1, or
// -1 for an invalid period.
func (s *SMAStream) Lookback() int { return lookbackOrInvalid(s.period >= 1, s.period-1) }

// Reset discards all history, keeping the period.
func (s *SMAStream) Reset() {
	clear(s.buf)
	s.pos, s.n, s.sum, s.value = 0, 0, compSum{}, math.NaN()
}

// compSum is a Neumaier-compensated sum: comp collects the low-order bits
// that rounding drops from sum, so sum+comp stays accurate even when terms
// of very different magnitude are added and later subtracted again.
type compSum struct{ sum, comp float64 }

func (c *compSum) add(x float64) {
	t := c.sum + x
	if math.Abs(c.sum) >= math.Abs(x) {
		c.comp += (c.sum - t) + x
	} else {
		c.comp += (x - t) + c.sum
	}
	c.sum = t
}

func (c compSum) value() float64 { return c.sum + c.comp }

func windowCompSum(w []float64) compSum {
	var c compSum
	for _, v := range w {
		c.add(v)
	}
	return c
}

// windowSum adds left to right from zero, the order TA-Lib uses for its EMA
// seeds; EMA and MACD must use it to stay bit-identical to TA-Lib.
func windowSum(w []float64) float64 {
	var sum float64
	for _, v := range w {
		sum += v
	}
	return sum
}

func nanSlice(n int) []float64 {
	out := make([]float64, n)
	nan := math.NaN()
	for i := range out {
		out[i] = nan
	}
	return out
}

func lookbackOrInvalid(valid bool, lookback int) int {
	if !valid {
		return -1
	}
	return lookback
}
