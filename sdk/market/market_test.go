package market_test

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/market"
)

func TestTimeframeRoundTrip(t *testing.T) {
	for _, tf := range market.Timeframes() {
		got, err := market.ParseTimeframe(tf.String())
		require.NoError(t, err)
		assert.Equal(t, tf, got)
		assert.Positive(t, tf.Seconds())
	}
	_, err := market.ParseTimeframe("2m")
	assert.True(t, errors.Is(err, market.ErrInvalidTimeframe))
	assert.False(t, market.Timeframe(0).Valid())
}

func TestAlign(t *testing.T) {
	assert.Equal(t, int64(1_700_000_040), market.M1.Align(1_700_000_059))
	assert.Equal(t, int64(1_699_920_000), market.D1.Align(1_700_000_000), "days open at 00:00 UTC")
	assert.Equal(t, int64(-60), market.M1.Align(-1), "negative times align down")
}

func TestCandleValidate(t *testing.T) {
	good := market.Candle{Time: 1_700_000_040, Open: 1.1, High: 1.2, Low: 1.0, Close: 1.15, Volume: 3}
	require.NoError(t, good.Validate(market.M1))
	tests := map[string]func(c *market.Candle){
		"high below low":     func(c *market.Candle) { c.High, c.Low = 1.0, 1.2 },
		"open above high":    func(c *market.Candle) { c.Open = 1.3 },
		"close below low":    func(c *market.Candle) { c.Close = 0.9 },
		"NaN price":          func(c *market.Candle) { c.Close = math.NaN() },
		"infinite price":     func(c *market.Candle) { c.High = math.Inf(1) },
		"zero price":         func(c *market.Candle) { c.Low = 0 },
		"negative volume":    func(c *market.Candle) { c.Volume = -1 },
		"misaligned (1m+1s)": func(c *market.Candle) { c.Time++ },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			c := good
			mutate(&c)
			assert.True(t, errors.Is(c.Validate(market.M1), market.ErrInvalidCandle))
		})
	}
}

func TestParseSide(t *testing.T) {
	s, err := market.ParseSide("PUT")
	require.NoError(t, err)
	assert.Equal(t, market.Put, s)
	_, err = market.ParseSide("call")
	assert.True(t, errors.Is(err, market.ErrInvalidSide), "sides are upper-case in the API")
}
