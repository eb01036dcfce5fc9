package indicator

import "math"

// MACD returns the Moving Average Convergence/Divergence of closes exactly
// as TA-Lib's TA_MACD computes it, as three slices aligned with closes:
// the MACD line (fast EMA - slow EMA), its signal EMA, and the histogram
// (macd - signal).
//
// TA-Lib seeding, which differs from most other libraries:
//   - both EMAs start at index slow-1; the slow EMA is seeded with the mean
//     of closes[0..slow-1] and the fast EMA with the mean of the last fast
//     closes ending there, closes[slow-fast..slow-1] (not the first fast);
//   - the signal EMA is seeded with the mean of the first signal MACD values,
//     i.e. the MACD line at indexes slow-1 .. slow+signal-2;
//   - all three outputs start at index slow+signal-2 (33 for 12/26/9) and are
//     NaN before it, including the MACD line, which TA-Lib also suppresses
//     while the signal is warming up.
//
// As in TA-Lib, fast and slow are swapped if fast > slow; fast == slow is
// allowed and gives a zero MACD line. Any period < 1 yields all-NaN slices of
// the input length; empty input yields empty slices.
func MACD(closes []float64, fast, slow, signal int) (macd, sig, hist []float64) {
	n := len(closes)
	macd, sig, hist = nanSlice(n), nanSlice(n), nanSlice(n)
	if fast < 1 || slow < 1 || signal < 1 {
		return macd, sig, hist
	}
	if fast > slow {
		fast, slow = slow, fast
	}
	lookback := slow + signal - 2
	if n <= lookback {
		return macd, sig, hist
	}
	kFast, kSlow, kSig := emaK(fast), emaK(slow), emaK(signal)
	fastEMA := windowSum(closes[slow-fast:slow]) / float64(fast)
	slowEMA := windowSum(closes[:slow]) / float64(slow)
	// The MACD line is built in place from slow-1; the part before lookback
	// only seeds the signal and is blanked afterwards.
	macd[slow-1] = fastEMA - slowEMA
	for i := slow; i < n; i++ {
		fastEMA = emaStep(fastEMA, closes[i], kFast)
		slowEMA = emaStep(slowEMA, closes[i], kSlow)
		macd[i] = fastEMA - slowEMA
	}
	s := windowSum(macd[slow-1:lookback+1]) / float64(signal)
	for i := lookback; i < n; i++ {
		if i > lookback {
			s = emaStep(s, macd[i], kSig)
		}
		sig[i] = s
		hist[i] = macd[i] - s
	}
	nan := math.NaN()
	for i := slow - 1; i < lookback; i++ {
		macd[i] = nan
	}
	return macd, sig, hist
}

// MACDStream is the O(1)-per-value form of MACD. The zero value is not
// usable; construct it with NewMACD.
type MACDStream struct {
	fast, slow, signal  int
	lookback            int // -1 when the periods are invalid
	kFast, kSlow, kSig  float64
	n                   int // values seen, capped at lookback+1
	fastSum, slowSum    float64
	sigSum              float64
	fastEMA, slowEMA    float64
	macd, sigEMA, histV float64
}

// NewMACD returns a streaming MACD with TA-Lib seeding (see MACD), swapping
// fast and slow if fast > slow. With any period < 1 the stream never becomes
// ready and Update always returns NaNs.
func NewMACD(fast, slow, signal int) *MACDStream {
	if fast > slow {
		fast, slow = slow, fast
	}
	s := &MACDStream{fast: fast, slow: slow, signal: signal, lookback: -1}
	if fast >= 1 && slow >= 1 && signal >= 1 {
		s.lookback = slow + signal - 2
		s.kFast, s.kSlow, s.kSig = emaK(fast), emaK(slow), emaK(signal)
	}
	s.Reset()
	return s
}

// Update feeds the next close and returns the MACD line, signal and
// histogram, all NaN until Lookback()+1 closes have been seen.
func (s *MACDStream) Update(v float64) (macd, signal, hist float64) {
	if s.lookback < 0 {
		return s.Value()
	}
	if s.n > s.lookback {
		s.fastEMA = emaStep(s.fastEMA, v, s.kFast)
		s.slowEMA = emaStep(s.slowEMA, v, s.kSlow)
		s.macd = s.fastEMA - s.slowEMA
		s.sigEMA = emaStep(s.sigEMA, s.macd, s.kSig)
		s.histV = s.macd - s.sigEMA
		return s.Value()
	}
	s.warmUp(v)
	return s.Value()
}

// warmUp handles the first lookback+1 closes, replaying TA-Lib's seeding
// sums in the same order so the stream stays bit-identical to MACD.
func (s *MACDStream) warmUp(v float64) {
	i := s.n
	s.n++
	switch {
	case i < s.slow:
		s.slowSum += v
		if i >= s.slow-s.fast {
			s.fastSum += v
		}
		if i < s.slow-1 {
			return
		}
		s.fastEMA = s.fastSum / float64(s.fast)
		s.slowEMA = s.slowSum / float64(s.slow)
	default:
		s.fastEMA = emaStep(s.fastEMA, v, s.kFast)
		s.slowEMA = emaStep(s.slowEMA, v, s.kSlow)
	}
	line := s.fastEMA - s.slowEMA
	s.sigSum += line
	if i == s.lookback {
		s.macd = line
		s.sigEMA = s.sigSum / float64(s.signal)
		s.histV = line - s.sigEMA
	}
}

// Value returns the last result of Update (NaNs until Ready).
func (s *MACDStream) Value() (macd, signal, hist float64) {
	return s.macd, s.sigEMA, s.histV
}

// Ready reports whether Value is defined, i.e. Lookback()+1 closes have been
// seen.
func (s *MACDStream) Ready() bool { return s.lookback >= 0 && s.n > s.lookback }

// Lookback returns the input index of the first defined output,
// slow+signal-2 (after swapping fast and slow if needed), or -1 when a
// period is invalid.
func (s *MACDStream) Lookback() int { return s.lookback }

// Reset discards all history, keeping the periods.
func (s *MACDStream) Reset() {
	nan := math.NaN()
	s.n = 0
	s.fastSum, s.slowSum, s.sigSum = 0, 0, 0
	s.fastEMA, s.slowEMA = 0, 0
	s.macd, s.sigEMA, s.histV = nan, nan, nan
}
