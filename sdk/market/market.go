// Package market holds the domain types shared by the STC host, strategies
// and broker adapters: timeframes, candles, series and trade sides.
//
// Candle prices are float64 because they are analysis data; money (stakes,
// balances, profit) uses decimal.Decimal in the broker package.
package market

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Timeframe is the width of a candle. The zero value is invalid.
type Timeframe int

// The timeframes STC supports, matching the API's "1m 5m 15m 30m 1h 4h 1d".
const (
	M1 Timeframe = iota + 1
	M5
	M15
	M30
	H1
	H4
	D1
)

// Timeframes lists every supported timeframe from the shortest.
func Timeframes() []Timeframe { return []Timeframe{M1, M5, M15, M30, H1, H4, D1} }

// spec returns the API text and width in seconds of tf; ok is false for an
// unsupported value. A switch instead of a map keeps the table immutable.
func (tf Timeframe) spec() (text string, seconds int64, ok bool) {
	switch tf {
	case M1:
		return "1m", 60, true
	case M5:
		return "5m", 300, true
	case M15:
		return "15m", 900, true
	case M30:
		return "30m", 1800, true
	case H1:
		return "1h", 3600, true
	case H4:
		return "4h", 14400, true
	case D1:
		return "1d", 86400, true
	}
	return "", 0, false
}

// ErrInvalidTimeframe is returned for a timeframe text or value STC does not
// support.
var ErrInvalidTimeframe = errors.New("market: invalid timeframe")

// ParseTimeframe parses the API form ("1m", "5m", "15m", "30m", "1h", "4h",
// "1d").
func ParseTimeframe(s string) (Timeframe, error) {
	for _, tf := range Timeframes() {
		if text, _, _ := tf.spec(); text == s {
			return tf, nil
		}
	}
	return 0, fmt.Errorf("%w %q (want one of 1m 5m 15m 30m 1h 4h 1d)", ErrInvalidTimeframe, s)
}

// String returns the API form of tf, or "invalid(N)".
func (tf Timeframe) String() string {
	if s, _, ok := tf.spec(); ok {
		return s
	}
	return fmt.Sprintf("invalid(%d)", int(tf))
}

// Valid reports whether tf is a supported timeframe.
func (tf Timeframe) Valid() bool {
	_, _, ok := tf.spec()
	return ok
}

// Seconds is the candle width in seconds; zero for an invalid timeframe.
func (tf Timeframe) Seconds() int64 {
	_, sec, _ := tf.spec()
	return sec
}

// Duration is the candle width.
func (tf Timeframe) Duration() time.Duration { return time.Duration(tf.Seconds()) * time.Second }

// Align returns the open time (Unix seconds) of the candle that contains
// unix. Candles are aligned to the Unix epoch in UTC, so a 1d candle opens
// at 00:00 UTC.
func (tf Timeframe) Align(unix int64) int64 {
	w := tf.Seconds()
	if w == 0 {
		return unix
	}
	r := unix % w
	if r < 0 {
		r += w
	}
	return unix - r
}

// Side is the direction of a trade: CALL bets the price rises, PUT that it
// falls. On margin brokers CALL is a buy and PUT a sell.
type Side int

// The two trade directions. The zero value is invalid.
const (
	Call Side = iota + 1
	Put
)

// ErrInvalidSide is returned for a direction other than CALL or PUT.
var ErrInvalidSide = errors.New("market: invalid side")

// ParseSide parses "CALL" or "PUT" (case-sensitive, as in the API).
func ParseSide(s string) (Side, error) {
	switch s {
	case "CALL":
		return Call, nil
	case "PUT":
		return Put, nil
	}
	return 0, fmt.Errorf("%w %q (want CALL or PUT)", ErrInvalidSide, s)
}

// String returns "CALL", "PUT" or "invalid(N)".
func (s Side) String() string {
	switch s {
	case Call:
		return "CALL"
	case Put:
		return "PUT"
	}
	return fmt.Sprintf("invalid(%d)", int(s))
}

// Candle is one OHLCV bar. Time is the open time in Unix seconds.
type Candle struct {
	Time   int64
	Open   float64
	High   float64
	Low    float64
	Close  float64
	Volume float64
}

// ErrInvalidCandle is wrapped by Candle.Validate's errors.
var ErrInvalidCandle = errors.New("market: invalid candle")

// Validate checks that c is a well-formed candle of timeframe tf: finite,
// positive prices, low ≤ open, close ≤ high, non-negative volume and an open
// time aligned to tf.
func (c Candle) Validate(tf Timeframe) error {
	for _, p := range [...]float64{c.Open, c.High, c.Low, c.Close} {
		if math.IsNaN(p) || math.IsInf(p, 0) || p <= 0 {
			return fmt.Errorf("%w: non-finite or non-positive price at %d", ErrInvalidCandle, c.Time)
		}
	}
	if math.IsNaN(c.Volume) || math.IsInf(c.Volume, 0) || c.Volume < 0 {
		return fmt.Errorf("%w: bad volume at %d", ErrInvalidCandle, c.Time)
	}
	if c.High < c.Low {
		return fmt.Errorf("%w: high %v < low %v at %d", ErrInvalidCandle, c.High, c.Low, c.Time)
	}
	if c.Open < c.Low || c.Open > c.High || c.Close < c.Low || c.Close > c.High {
		return fmt.Errorf("%w: open/close outside [low, high] at %d", ErrInvalidCandle, c.Time)
	}
	if tf.Valid() && tf.Align(c.Time) != c.Time {
		return fmt.Errorf("%w: time %d not aligned to %s", ErrInvalidCandle, c.Time, tf)
	}
	return nil
}

// Series is a run of candles, oldest first.
type Series []Candle

// Closes returns the close prices of s in order.
func (s Series) Closes() []float64 {
	out := make([]float64, len(s))
	for i, c := range s {
		out[i] = c.Close
	}
	return out
}

// Last returns the newest candle and false when s is empty.
func (s Series) Last() (Candle, bool) {
	if len(s) == 0 {
		return Candle{}, false
	}
	return s[len(s)-1], true
}
