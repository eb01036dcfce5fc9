package store

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// PostgreSQL stores the digits appendDecimal writes; SQLite stores
// roundScale's float64. Reading either back must give the same number.
func TestDecimalTextAndRoundingAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	values := []float64{0, 1e-8, 0.5, 1.1, 1.23456789, 1.123456789, 99999.99999999, 89999999.99999999, 9e7, 123456789.123, 9999999999.99, 0.00005}
	for range 100000 {
		switch r.IntN(3) {
		case 0: // on the 8-decimal grid, as brokers send prices
			values = append(values, float64(r.Int64N(1e15))/1e8)
		case 1: // anything
			values = append(values, r.Float64()*math.Pow(10, float64(r.IntN(11))))
		default: // volumes
			values = append(values, float64(r.Int64N(1e12))/1e4)
		}
	}
	for _, v := range values {
		for _, sc := range []struct {
			scale  float64
			digits int
		}{{priceScale, priceDigits}, {volumeScale, volumeDigits}} {
			text := string(appendDecimal(nil, v, sc.scale, sc.digits))
			parsed, err := strconv.ParseFloat(text, 64)
			require.NoError(t, err)
			require.Equal(t, roundScale(v, sc.scale), parsed, "%v at %d digits: %s", v, sc.digits, text)
			if math.Abs(v*sc.scale) < maxExact {
				// Same digits as the general algorithm, except where v·scale
				// sits within a rounding error of a tie.
				want := strconv.FormatFloat(v, 'f', sc.digits, 64)
				if text != want {
					frac := v*sc.scale - math.Floor(v*sc.scale)
					assert.InDelta(t, 0.5, frac, 1e-6, "%v: %s vs %s", v, text, want)
				}
			}
		}
	}
	assert.Equal(t, "1.10000000", string(appendDecimal(nil, 1.1, priceScale, priceDigits)))
	assert.Equal(t, "0.00000001", string(appendDecimal(nil, 1e-8, priceScale, priceDigits)))
	assert.Equal(t, "12.5000", string(appendDecimal(nil, 12.5, volumeScale, volumeDigits)))
}

func TestDecimalScanDoesNotAllocate(t *testing.T) {
	var d decimalFloat
	var src any = []byte("12345.12345678") // boxed once, as database/sql does
	allocs := testing.AllocsPerRun(1000, func() {
		if err := d.Scan(src); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
	assert.Equal(t, decimalFloat(12345.12345678), d)
	for _, src := range []any{float64(2.5), int64(3), "4.25", nil} {
		require.NoError(t, d.Scan(src))
	}
	assert.Zero(t, float64(d), "NULL volume reads as 0")
	assert.Error(t, d.Scan(true))
	assert.Error(t, d.Scan([]byte("x")))
}
