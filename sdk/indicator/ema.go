package indicator

import "math"

// EMA returns the exponential moving average of values, aligned with values,
// with TA-Lib's seeding: out[period-1] is the simple average of the first
// period values, and each later value is prev + (v-prev)*k with
// k = 2/(period+1). Entries before period-1 are NaN. An invalid period (< 1)
// yields an all-NaN slice of the input length; empty input yields an empty
// slice.
func EMA(values []float64, period int) []float64 {
	out := nanSlice(len(values))
	if period < 1 || len(values) < period {
		return out
	}
	k := emaK(period)
	prev := windowSum(values[:period]) / float64(period)
	out[period-1] = prev
	for i := period; i < len(values); i++ {
		prev = emaStep(prev, values[i], k)
		out[i] = prev
	}
	return out
}

// EMAStream is the O(1)-per-value form of EMA. The zero value is not usable;
// construct it with NewEMA.
type EMAStream struct {
	period int
	k      float64
	n      int // values seen, capped at period
	sum    float64
	value  float64
}

// NewEMA returns a streaming exponential moving average with TA-Lib seeding.
// With period < 1 the stream never becomes ready and Update always returns
// NaN.
func NewEMA(period int) *EMAStream {
	s := &EMAStream{period: period}
	if period >= 1 {
		s.k = emaK(period)
	}
	s.Reset()
	return s
}

// Update feeds the next value and returns the current average, or NaN while
// fewer than period values have been seen.
func (s *EMAStream) Update(v float64) float64 {
	switch {
	case s.period < 1:
	case s.n == s.period:
		s.value = emaStep(s.value, v, s.k)
	default:
		s.sum += v
		s.n++
		if s.n == s.period {
			s.value = s.sum / float64(s.period)
		}
	}
	return s.value
}

// Value returns the last result of Update (NaN until Ready).
func (s *EMAStream) Value() float64 { return s.value }

// Ready reports whether Value is defined, i.e. period values have been seen.
func (s *EMAStream) Ready() bool { return s.period >= 1 && s.n == s.period }

// Lookback returns the input index of the first defined output, period-1, or
// -1 for an invalid period.
func (s *EMAStream) Lookback() int { return lookbackOrInvalid(s.period >= 1, s.period-1) }

// Reset discards all history, keeping the period.
func (s *EMAStream) Reset() { s.n, s.sum, s.value = 0, 0, math.NaN() }

// emaK is TA-Lib's PER_TO_K; written the same way so k is bit-identical.
func emaK(period int) float64 { return 2.0 / float64(period+1) }

// emaStep is TA-Lib's update ((v-prev)*k)+prev. The explicit conversion
// forbids the compiler from fusing the multiply and add into an FMA (which
// Go permits on arm64 and others): a fused step rounds differently from
// TA-Lib and from the same code built for amd64.
func emaStep(prev, v, k float64) float64 {
	return float64((v-prev)*k) + prev
}
