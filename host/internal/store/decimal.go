package store

import (
	"fmt"
	"math"
	"strconv"
)

// The seed's DECIMAL columns keep 8 decimals for prices and 4 for volume.
// Both stores round to these scales the same way, so they return the same
// float64 for the same input: PostgreSQL receives the rounded digits as
// text, SQLite the float64 nearest to them.
const (
	priceDigits  = 8
	volumeDigits = 4
	priceScale   = 1e8
	volumeScale  = 1e4
)

// maxExact is 2^53: below it a float64 holds every integer exactly.
const maxExact = 1 << 53

// pow10 holds 10^i for the scales above.
func pow10(digits int) int64 {
	p := int64(1)
	for range digits {
		p *= 10
	}
	return p
}

// scaled returns v·scale rounded to an integer, and false when that
// integer would not be exact in a float64. Above 2^53/scale a float64's
// spacing is already about 1/scale, so rounding to the scale cannot change
// the value and callers fall back to v as it is.
func scaled(v, scale float64) (int64, bool) {
	x := v * scale
	if !(math.Abs(x) < maxExact) {
		return 0, false
	}
	return int64(math.Round(x)), true
}

// roundPrice rounds v to a price column's 8 decimals.
func roundPrice(v float64) float64 { return roundScale(v, priceScale) }

// roundVolume rounds v to the volume column's 4 decimals.
func roundVolume(v float64) float64 { return roundScale(v, volumeScale) }

func roundScale(v, scale float64) float64 {
	n, ok := scaled(v, scale)
	if !ok {
		return v
	}
	return float64(n) / scale
}

// appendDecimal appends v rounded to digits decimals as plain decimal
// text. It is the COPY hot path: an integer split instead of
// strconv.AppendFloat's general algorithm, which cost a third of the
// client's CPU per row.
func appendDecimal(b []byte, v float64, scale float64, digits int) []byte {
	n, ok := scaled(v, scale)
	if !ok {
		return strconv.AppendFloat(b, v, 'f', digits, 64)
	}
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	p := pow10(digits)
	b = strconv.AppendInt(b, n/p, 10)
	b = append(b, '.')
	var frac [8]byte
	f := n % p
	for i := digits - 1; i >= 0; i-- {
		frac[i] = byte('0' + f%10)
		f /= 10
	}
	return append(b, frac[:digits]...)
}

// decimalFloat scans a DECIMAL column into a float64. lib/pq hands NUMERIC
// over as text bytes; parsing them here avoids database/sql's generic
// conversion (a string copy and reflection per value). SQLite returns REAL
// as float64.
type decimalFloat float64

// Scan implements sql.Scanner.
func (d *decimalFloat) Scan(src any) error {
	switch v := src.(type) {
	case []byte:
		// The conversion does not escape, so the compiler keeps it off
		// the heap for values this short.
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return fmt.Errorf("store: decimal %q: %w", v, err)
		}
		*d = decimalFloat(f)
	case float64:
		*d = decimalFloat(v)
	case int64:
		*d = decimalFloat(v)
	case string:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("store: decimal %q: %w", v, err)
		}
		*d = decimalFloat(f)
	case nil:
		// Only volume is nullable; a missing volume reads as 0, its
		// default.
		*d = 0
	default:
		return fmt.Errorf("store: cannot scan %T into a decimal", src)
	}
	return nil
}

// decimalText is appendDecimal as a string.
func decimalText(v float64, scale float64, digits int) string {
	var b [32]byte
	return string(appendDecimal(b[:0], v, scale, digits))
}
