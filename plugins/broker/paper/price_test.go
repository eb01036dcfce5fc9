package paper

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

func seedMarket(t *testing.T, seed uint64) *Market {
	t.Helper()
	return newMarket(t, t.TempDir(), newFakeClock(wednesdayNoon()), func(c *Config) { c.Seed = seed })
}

func series(t *testing.T, m *Market, symbol string, tf market.Timeframe, from, to int64) market.Series {
	t.Helper()
	page, err := m.candles(context.Background(), broker.CandlesRequest{Symbol: symbol, Timeframe: tf, From: from, To: to, PageSize: maxPageSize})
	require.NoError(t, err)
	return page.Candles
}

func TestDeterministicAcrossMarkets(t *testing.T) {
	a, b := seedMarket(t, 7), seedMarket(t, 7)
	from := wednesdayNoon().Add(-36 * time.Hour).Unix()
	to := wednesdayNoon().Unix()
	for _, sym := range []string{"EURUSD", "USDJPY-OTC", "GBPJPY"} {
		for _, tf := range []market.Timeframe{market.M1, market.M15, market.H4} {
			sa, sb := series(t, a, sym, tf, from, to), series(t, b, sym, tf, from, to)
			require.NotEmpty(t, sa)
			assert.Equal(t, sa, sb, "%s %s", sym, tf)
		}
	}
}

func TestSeedsAndOTCDiffer(t *testing.T) {
	a, b := seedMarket(t, 1), seedMarket(t, 2)
	from := wednesdayNoon().Add(-2 * time.Hour).Unix()
	to := wednesdayNoon().Unix()
	assert.NotEqual(t, series(t, a, "EURUSD", market.M1, from, to).Closes(), series(t, b, "EURUSD", market.M1, from, to).Closes(), "seeds")
	assert.NotEqual(t, series(t, a, "EURUSD", market.M1, from, to).Closes(), series(t, a, "EURUSD-OTC", market.M1, from, to).Closes(), "OTC twin")
}

// TestRandomAccessMatchesRuns checks that a single second, computed by its
// own descent, equals the same second inside a long run, across midnight.
func TestRandomAccessMatchesRuns(t *testing.T) {
	m := seedMarket(t, 3)
	p := m.bySymbol["AUDUSD"].path
	from := time.Date(2024, 3, 5, 23, 58, 0, 0, time.UTC).Unix()
	run := make([]int64, 400)
	p.fill(from, from+int64(len(run)), run)
	for i, v := range run {
		require.Equal(t, v, p.at(from+int64(i)), "second %d", i)
	}
}

func TestPricesPlausible(t *testing.T) {
	m := seedMarket(t, 1)
	bands := map[string][2]float64{"EURUSD": {0.85, 1.35}, "USDJPY": {110, 200}, "GBPJPY": {140, 250}, "EURUSD-OTC": {0.85, 1.35}}
	for sym, band := range bands {
		in := m.bySymbol[sym]
		for d := int64(0); d < 12*365; d += 13 { // 2020–2031
			p := in.priceOf(in.path.at(originUnix + d*daySeconds + 12345))
			require.False(t, math.IsNaN(p))
			require.Truef(t, p >= band[0] && p <= band[1], "%s on day %d: %v", sym, d, p)
		}
	}
}

// TestIntradaySeasonality: the London/New York overlap moves more than the
// Asian morning on EURUSD.
func TestIntradaySeasonality(t *testing.T) {
	m := seedMarket(t, 1)
	in := m.bySymbol["EURUSD"]
	var asia, overlap float64
	for d := 0; d < 40; d++ {
		day := time.Date(2024, 1, 8, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d)
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for _, c := range series(t, m, in.symbol, market.M1, day.Add(2*time.Hour).Unix(), day.Add(4*time.Hour).Unix()) {
			asia += c.High - c.Low
		}
		for _, c := range series(t, m, in.symbol, market.M1, day.Add(13*time.Hour).Unix(), day.Add(15*time.Hour).Unix()) {
			overlap += c.High - c.Low
		}
	}
	assert.Greater(t, overlap, 1.3*asia)
}
