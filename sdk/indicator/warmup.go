package indicator

// Warm-up windows. Wilder's RSI and every EMA carry their whole history, so
// a live value computed from only the last W candles differs from the value
// a backtest computes over the full history. The helpers below return a W
// large enough that the difference is below 1e-6 (RSI points for RSI;
// relative to the largest |MACD| on the series for MACD).
//
// The constants were measured on the reference BTC/ETH data. A scan over
// window lengths (too slow for the test suite, which only checks the chosen
// values in TestWarmupMatchesFullHistory) found the smallest windows meeting
// 1e-6 at about 18.5×period for RSI (periods 2..50; 258 for RSI(14)) and,
// for MACD, the lookback plus 7–10.3×(τslow+τsignal), τ = (period+1)/2
// being an EMA's time constant (205 for 12/26/9). The constants add 35–40%
// on top, which leaves the worst measured error two to three orders of
// magnitude below 1e-6, as headroom for markets whose history is less kind
// than the reference period.
const (
	rsiWarmupPerPeriod = 25
	macdWarmupPerTau   = 14
)

// RSIWarmup returns the number of most recent closes to feed a fresh RSI of
// the given period so that its value matches the RSI over the full history
// within 1e-6 points: 25×period (350 for RSI(14); the worst error measured
// at that length on the reference data is 1.1e-9). It returns 0 for an
// invalid period.
func RSIWarmup(period int) int {
	if period < 1 {
		return 0
	}
	return rsiWarmupPerPeriod * period
}

// MACDWarmup returns the number of most recent closes to feed a fresh MACD
// so that the MACD line, signal and histogram all match the full-history
// values within 1e-6 × max|MACD|. The dominant errors are the slow and
// signal EMAs' seeds, each decaying with time constant τ = (period+1)/2, so
// the window is the lookback plus 14×(τslow+τsignal): 292 for 12/26/9. As in
// MACD, fast and slow are swapped if fast > slow. It returns 0 when a period
// is invalid.
func MACDWarmup(fast, slow, signal int) int {
	if fast < 1 || slow < 1 || signal < 1 {
		return 0
	}
	if fast > slow {
		slow = fast
	}
	// 14×(τslow+τsignal) = 7×(slow+signal+2), kept in integers.
	return slow + signal - 2 + macdWarmupPerTau*(slow+signal+2)/2
}
