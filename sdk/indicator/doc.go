// Package indicator implements technical indicators with TA-Lib semantics,
// in batch form (a whole series in, an aligned series out) and in streaming
// form (one value in, O(1) work, current value out) for live strategies.
//
// # Alignment and lookback
//
// Batch functions return slices of the input's length; entry i is the
// indicator at input index i, and entries before the first defined value are
// NaN. The index of the first defined value is the lookback, also reported
// by each stream's Lookback method:
//
//	SMA(period), EMA(period)    period-1
//	RSI(period)                 period
//	MACD(fast, slow, signal)    slow+signal-2   (33 for 12/26/9)
//
// Streams return NaN from Update until they have seen lookback+1 values, and
// Ready reports when that has happened. A stream fed a sequence returns,
// value for value, exactly (bit for bit) what the batch function returns for
// that sequence, because both perform the same floating-point operations in
// the same order.
//
// # TA-Lib compatibility
//
// Seeding follows TA-Lib C 0.4.0 (with TA-Lib's default of no "unstable
// period"); the tests check RSI(14) and MACD(12,26,9) against TA-Lib output
// for a BTC and an ETH hourly series, which they reproduce bit for bit:
//
//   - EMA is seeded with the simple average of the first period values and
//     then updated with k = 2/(period+1).
//   - RSI is Wilder's: the average gain and loss are seeded with the simple
//     average of the first period changes and then smoothed with
//     avg = (avg*(period-1) + x)/period.
//   - MACD seeds both EMAs at index slow-1, the fast one from the fast closes
//     ending there (not the first fast closes), seeds the signal EMA with the
//     mean of the first signal MACD values, and reports all three outputs
//     from slow+signal-2 on. Several Go libraries get this wrong for the
//     first hundred or so bars.
//
// Deliberate deviations: RSI reports FlatRSI (50) when the average gain and
// loss are both exactly zero, where TA-Lib C reports 0 whenever their sum is
// below an absolute 1e-8 and so breaks for instruments priced around 1e-6
// or less; here RSI is scale invariant. SMA's running sum is compensated
// against the drift of TA-Lib's plain running sum (see SMA). Periods of 1,
// which TA-Lib rejects for some indicators, are accepted.
//
// # Warm-up
//
// Wilder's RSI and every EMA depend on their whole history, decaying
// geometrically, so a value computed from only the most recent candles
// differs from the value a backtest computed over the full series. On the
// reference BTC/ETH data, RSI(14) computed from the last 100 candles is off
// by up to 0.11 points and from the last 300 by up to 5e-8. Live strategies
// should therefore feed a fresh stream at least RSIWarmup(period) (25×period;
// 350 for RSI(14), worst measured error 1.1e-9 points) or
// MACDWarmup(fast, slow, signal) (292 for 12/26/9, worst measured error
// 1.2e-9 × max|MACD|) historical candles before acting on it; both aim at
// agreement within 1e-6. As a rule of thumb, anything shorter than about
// 20×period for RSI is not enough.
//
// # Invalid input
//
// Nothing here panics on bad parameters: a period below 1 makes batch
// functions return all-NaN slices of the input length, makes streams
// return NaN forever, and makes Lookback return -1. Empty input gives empty
// output. Inputs are assumed finite: a NaN or Inf close stays in EMA, RSI and
// MACD state until Reset, and in SMA until it has left the window and the
// next periodic re-summation (at most period-1 values later) clears it.
//
// Streams are not safe for concurrent use; give each goroutine its own.
package indicator
