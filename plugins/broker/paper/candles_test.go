package paper

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

func TestCandlesWellFormed(t *testing.T) {
	now := wednesdayNoon().Add(17*time.Minute + 23*time.Second)
	m := newMarket(t, t.TempDir(), newFakeClock(now))
	for _, tf := range market.Timeframes() {
		for _, sym := range []string{"EURUSD", "EURJPY-OTC"} {
			t.Run(sym+"/"+tf.String(), func(t *testing.T) {
				w := tf.Seconds()
				from := now.Unix() - 48*w + 7 // unaligned on purpose
				page, err := m.candles(context.Background(), broker.CandlesRequest{Symbol: sym, Timeframe: tf, From: from})
				require.NoError(t, err)
				require.NotEmpty(t, page.Candles)
				assert.Empty(t, page.NextPageToken)
				prev := int64(0)
				for _, c := range page.Candles {
					require.NoError(t, c.Validate(tf))
					require.GreaterOrEqual(t, c.Time, from)
					require.LessOrEqual(t, c.Time+w, now.Unix(), "closed candles only")
					require.Greater(t, c.Time, prev, "ascending")
					require.Positive(t, c.Volume)
					prev = c.Time
				}
				last, _ := page.Candles.Last()
				assert.Equal(t, tf.Align(now.Unix())-w, last.Time, "the newest closed candle is included")
			})
		}
	}
}

func TestCandlesPagination(t *testing.T) {
	now := wednesdayNoon()
	m := newMarket(t, t.TempDir(), newFakeClock(now))
	ctx := context.Background()
	// Four days including a weekend, through several pages.
	req := broker.CandlesRequest{Symbol: "GBPUSD", Timeframe: market.M5, From: now.AddDate(0, 0, -5).Unix(), To: now.AddDate(0, 0, -1).Unix()}
	big := req
	big.PageSize = maxPageSize
	whole, err := m.candles(ctx, big)
	require.NoError(t, err)
	require.Empty(t, whole.NextPageToken)

	req.PageSize = 97
	var got market.Series
	for pages := 0; ; pages++ {
		require.Less(t, pages, 100, "pagination must terminate")
		page, err := m.candles(ctx, req)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Candles), 97)
		got = append(got, page.Candles...)
		if page.NextPageToken == "" {
			break
		}
		req.PageToken = page.NextPageToken
	}
	assert.Equal(t, whole.Candles, got)
}

func TestCandlesPageSizeLimits(t *testing.T) {
	m := newMarket(t, t.TempDir(), newFakeClock(wednesdayNoon()))
	ctx := context.Background()
	page, err := m.candles(ctx, broker.CandlesRequest{Symbol: "EURUSD-OTC", Timeframe: market.M1})
	require.NoError(t, err)
	assert.Len(t, page.Candles, defaultPageSize)
	assert.NotEmpty(t, page.NextPageToken)
	assert.Equal(t, originUnix, page.Candles[0].Time, "history starts at the origin")

	page, err = m.candles(ctx, broker.CandlesRequest{Symbol: "EURUSD-OTC", Timeframe: market.M1, PageSize: 1_000_000})
	require.NoError(t, err)
	assert.Len(t, page.Candles, maxPageSize)

	_, err = m.candles(ctx, broker.CandlesRequest{Symbol: "EURUSD-OTC", Timeframe: market.M1, PageToken: "garbage"})
	require.ErrorContains(t, err, "invalid page token")
}

func TestCandlesErrors(t *testing.T) {
	m := newMarket(t, t.TempDir(), newFakeClock(wednesdayNoon()))
	s := m.Factory()() // never opened: market data is anonymous
	ctx := context.Background()
	_, err := s.Candles(ctx, broker.CandlesRequest{Symbol: "XAUUSD", Timeframe: market.M1})
	require.ErrorIs(t, err, broker.ErrUnknownInstrument)
	_, err = s.Candles(ctx, broker.CandlesRequest{Symbol: "EURUSD", Timeframe: market.Timeframe(99)})
	require.ErrorIs(t, err, broker.ErrUnsupported)
	require.ErrorIs(t, err, market.ErrInvalidTimeframe)
	_, err = s.SubscribeCandles(ctx, broker.SubscribeRequest{Symbol: "XAUUSD", Timeframe: market.M1})
	require.ErrorIs(t, err, broker.ErrUnknownInstrument)
	_, err = s.SubscribeCandles(ctx, broker.SubscribeRequest{Symbol: "EURUSD", Timeframe: 0})
	require.ErrorIs(t, err, broker.ErrUnsupported)
}

func TestWeekendClosedForRegularOpenForOTC(t *testing.T) {
	monday := time.Date(2024, 3, 11, 6, 0, 0, 0, time.UTC)
	m := newMarket(t, t.TempDir(), newFakeClock(monday))
	fridayClose := time.Date(2024, 3, 8, 21, 0, 0, 0, time.UTC)
	sundayOpen := time.Date(2024, 3, 10, 21, 0, 0, 0, time.UTC)
	from, to := fridayClose.Add(-time.Hour).Unix(), sundayOpen.Add(time.Hour).Unix()

	regular := series(t, m, "EURUSD", market.M1, from, to)
	require.Len(t, regular, 120, "one hour before the close and one after the open")
	for _, c := range regular {
		assert.True(t, c.Time < fridayClose.Unix() || c.Time >= sundayOpen.Unix(), "candle at %s", time.Unix(c.Time, 0).UTC())
	}
	assert.Len(t, series(t, m, "EURUSD-OTC", market.M1, from, to), int(to-from)/60)

	days := series(t, m, "EURUSD", market.D1, fridayClose.Add(-48*time.Hour).Unix(), monday.Unix())
	var weekdays []time.Weekday
	for _, c := range days {
		weekdays = append(weekdays, time.Unix(c.Time, 0).UTC().Weekday())
	}
	assert.Equal(t, []time.Weekday{time.Thursday, time.Friday, time.Sunday}, weekdays, "no Saturday candle; Sunday holds 21:00–24:00")

	// Instruments reflect the weekend.
	m2 := newMarket(t, t.TempDir(), newFakeClock(time.Date(2024, 3, 9, 12, 0, 0, 0, time.UTC)))
	list, err := m2.Factory()().Instruments(context.Background())
	require.NoError(t, err)
	for _, in := range list {
		assert.Equal(t, in.Market == "otc", in.Open, in.Symbol)
	}
}

// TestTimeframesAreConsistent: every larger candle is the aggregate of the
// 1m candles in its span, including the partial 4h and 1d candles around
// the weekend close.
func TestTimeframesAreConsistent(t *testing.T) {
	now := time.Date(2024, 3, 11, 3, 0, 0, 0, time.UTC) // Monday
	m := newMarket(t, t.TempDir(), newFakeClock(now))
	from := time.Date(2024, 3, 7, 0, 0, 0, 0, time.UTC).Unix() // Thursday
	to := time.Date(2024, 3, 11, 0, 0, 0, 0, time.UTC).Unix()
	for _, sym := range []string{"USDCHF", "NZDUSD-OTC"} {
		var minutes market.Series
		req := broker.CandlesRequest{Symbol: sym, Timeframe: market.M1, From: from, To: to, PageSize: maxPageSize}
		for {
			page, err := m.candles(context.Background(), req)
			require.NoError(t, err)
			minutes = append(minutes, page.Candles...)
			if page.NextPageToken == "" {
				break
			}
			req.PageToken = page.NextPageToken
		}
		for _, tf := range []market.Timeframe{market.M5, market.M15, market.M30, market.H1, market.H4, market.D1} {
			want := resample(minutes, tf)
			got := series(t, m, sym, tf, from, to)
			require.Equal(t, want, got, "%s %s", sym, tf)
		}
	}
}

// resample aggregates 1m candles into tf, the reference for consistency.
func resample(in market.Series, tf market.Timeframe) market.Series {
	var out market.Series
	for _, c := range in {
		t := tf.Align(c.Time)
		if n := len(out); n > 0 && out[n-1].Time == t {
			last := &out[n-1]
			last.High = max(last.High, c.High)
			last.Low = min(last.Low, c.Low)
			last.Close = c.Close
			last.Volume += c.Volume
			continue
		}
		c.Time = t
		out = append(out, c)
	}
	return out
}

func TestDayCacheIsBounded(t *testing.T) {
	c := newDayCache()
	v := &dayAggs{}
	for d := range int64(3 * dayCacheLimit) {
		c.put(dayKey{"EURUSD", d}, v)
		_, ok := c.get(dayKey{"EURUSD", 0}) // kept alive by use
		require.True(t, ok)
	}
	assert.LessOrEqual(t, len(c.cur)+len(c.old), dayCacheLimit)
	_, ok := c.get(dayKey{"EURUSD", 1})
	assert.False(t, ok, "unused old days are evicted")
}
