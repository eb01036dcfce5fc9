package indicator

import "math"

// FlatRSI is the RSI reported when the smoothed average gain and loss are
// both exactly zero, i.e. the price has not moved over the whole history
// that still carries weight. Neither 0 (TA-Lib C) nor 100 is justified by
// the data: a flat market is neither oversold nor overbought, so RSI reports
// the neutral midpoint and threshold strategies (RSI < 30 / RSI > 70) stay
// idle instead of seeing a spurious "oversold" signal.
const FlatRSI = 50.0

// RSI returns Wilder's Relative Strength Index of closes, aligned with
// closes, exactly as TA-Lib's TA_RSI computes it (apart from the flat case
// below). The first defined value is at index period: the average gain and
// loss are seeded with the simple average of the first period changes, then
// smoothed as avg = (avg*(period-1) + x)/period, and RSI = 100*gain/(gain+loss).
// Entries before index period are NaN.
//
// Flat series: when gain+loss is exactly zero the result is FlatRSI (50).
// TA-Lib C instead returns 0 whenever gain+loss < 1e-8 in absolute terms,
// which silently breaks instruments quoted around 1e-6 or below; the exact
// zero test here keeps RSI scale invariant (scaling all closes by a constant
// factor leaves the result unchanged up to rounding, and exactly for powers
// of two).
//
// An invalid period (< 1) yields an all-NaN slice of the input length; empty
// input yields an empty slice. Period 1 is accepted (TA-Lib requires >= 2)
// and gives 100, 0 or FlatRSI depending on the sign of the last change.
func RSI(closes []float64, period int) []float64 {
	out := nanSlice(len(closes))
	if period < 1 || len(closes) <= period {
		return out
	}
	p := float64(period)
	pm1 := float64(period - 1)
	var gain, loss float64
	prev := closes[0]
	for _, c := range closes[1 : period+1] {
		d := c - prev
		prev = c
		if d < 0 {
			loss -= d
		} else {
			gain += d
		}
	}
	gain /= p
	loss /= p
	out[period] = rsiValue(gain, loss)
	for i := period + 1; i < len(closes); i++ {
		d := closes[i] - prev
		prev = closes[i]
		gain, loss = wilderStep(gain, loss, d, p, pm1)
		out[i] = rsiValue(gain, loss)
	}
	return out
}

// RSIStream is the O(1)-per-value form of RSI. The zero value is not usable;
// construct it with NewRSI.
type RSIStream struct {
	period     int
	p, pm1     float64
	n          int // values seen, capped at period+1
	prev       float64
	gain, loss float64
	value      float64
}

// NewRSI returns a streaming RSI with TA-Lib seeding and the FlatRSI
// convention. With period < 1 the stream never becomes ready and Update
// always returns NaN.
func NewRSI(period int) *RSIStream {
	s := &RSIStream{period: period, p: float64(period), pm1: float64(period - 1)}
	s.Reset()
	return s
}

// Update feeds the next close and returns the current RSI, or NaN while
// period or fewer closes have been seen.
func (s *RSIStream) Update(v float64) float64 {
	if s.period < 1 {
		return s.value
	}
	if s.n == 0 {
		s.prev = v
		s.n = 1
		return s.value
	}
	d := v - s.prev
	s.prev = v
	if s.n > s.period {
		s.gain, s.loss = wilderStep(s.gain, s.loss, d, s.p, s.pm1)
		s.value = rsiValue(s.gain, s.loss)
		return s.value
	}
	if d < 0 {
		s.loss -= d
	} else {
		s.gain += d
	}
	s.n++
	if s.n > s.period {
		s.gain /= s.p
		s.loss /= s.p
		s.value = rsiValue(s.gain, s.loss)
	}
	return s.value
}

// Value returns the last result of Update (NaN until Ready).
func (s *RSIStream) Value() float64 { return s.value }

// Ready reports whether Value is defined, i.e. period+1 closes have been
// seen.
func (s *RSIStream) Ready() bool { return s.period >= 1 && s.n > s.period }

// Lookback returns the input index of the first defined output, period, or
// -1 for an invalid period.
func (s *RSIStream) Lookback() int { return lookbackOrInvalid(s.period >= 1, s.period) }

// Reset discards all history, keeping the period.
func (s *RSIStream) Reset() {
	s.n, s.prev, s.gain, s.loss, s.value = 0, 0, 0, 0, math.NaN()
}

// wilderStep mirrors TA-Lib's avg *= (period-1); avg += x; avg /= period for
// both averages. Adding a zero to the side that did not move is exact, so
// the result is bit-identical to TA-Lib's branchy form. The conversions
// forbid FMA fusion (see emaStep).
func wilderStep(gain, loss, d, p, pm1 float64) (float64, float64) {
	var up, down float64
	if d < 0 {
		down = -d
	} else {
		up = d
	}
	gain = (float64(gain*pm1) + up) / p
	loss = (float64(loss*pm1) + down) / p
	return gain, loss
}

func rsiValue(gain, loss float64) float64 {
	sum := gain + loss
	if sum == 0 {
		return FlatRSI
	}
	return 100 * (gain / sum)
}
