package bots_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/strategy"
)

// refData is the reference data the indicator package tests against (real
// Binance candles and TA-Lib values; see its README). It is part of the
// repository, so a missing file is a broken checkout, not a reason to skip.
const refData = "../../../sdk/indicator/testdata/"

func readCSV(t *testing.T, name string) [][]float64 {
	t.Helper()
	f, err := os.Open(refData + name)
	if err != nil {
		t.Fatalf("reference data: %v", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	out := make([][]float64, 0, len(recs)-1)
	for _, rec := range recs[1:] {
		row := make([]float64, len(rec))
		for i, v := range rec {
			row[i], err = strconv.ParseFloat(v, 64)
			require.NoError(t, err)
		}
		out = append(out, row)
	}
	return out
}

func loadSeries(t *testing.T, name string) market.Series {
	t.Helper()
	var s market.Series
	for _, r := range readCSV(t, name) {
		s = append(s, market.Candle{Time: int64(r[0]), Open: r[1], High: r[2], Low: r[3], Close: r[4], Volume: r[5]})
	}
	return s
}

// seriesFeed is a broker whose market data is a fixed series, released one
// candle at a time: candles before the release point are history, and each
// release is a closed candle on the live stream. Only the market-data
// methods are implemented.
type seriesFeed struct {
	broker.Broker
	symbol string
	series market.Series

	mu       sync.Mutex
	released int
	subs     []chan broker.CandleEvent
	subbed   chan struct{}
}

func (f *seriesFeed) MarketData(context.Context, string) (broker.Broker, error) { return f, nil }

func (f *seriesFeed) Instruments(context.Context) ([]broker.Instrument, error) {
	return []broker.Instrument{{Symbol: f.symbol, Open: true}}, nil
}

func (f *seriesFeed) Candles(_ context.Context, req broker.CandlesRequest) (broker.CandlesPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out market.Series
	for _, c := range f.series[:f.released] {
		if c.Time >= req.From && (req.To == 0 || c.Time < req.To) {
			out = append(out, c)
		}
	}
	return broker.CandlesPage{Candles: out}, nil
}

func (f *seriesFeed) SubscribeCandles(context.Context, broker.SubscribeRequest) (<-chan broker.CandleEvent, error) {
	c := make(chan broker.CandleEvent, len(f.series))
	f.mu.Lock()
	f.subs = append(f.subs, c)
	if len(f.subs) == 1 {
		close(f.subbed)
	}
	f.mu.Unlock()
	return c, nil
}

// release publishes the next candle.
func (f *seriesFeed) release() market.Candle {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.series[f.released]
	f.released++
	for _, s := range f.subs {
		s <- broker.CandleEvent{Candle: c, Closed: true}
	}
	return c
}

// TestWarmupParity feeds real BTC 1h candles through the candle service to
// a running RSI bot and a running MACD bot, one closed candle at a time,
// after 1,000 candles of history. Every live signal, reason included, must
// equal the signal of a backtest over the full history (the vectorized
// path, which carries its indicators from the first candle), and the RSI
// values in the reasons must equal TA-Lib's full-history RSI.
func TestWarmupParity(t *testing.T) {
	series := loadSeries(t, "btcusdt_1h.csv")
	const history = 1000
	feed := &seriesFeed{symbol: "BTCUSDT", series: series, released: history, subbed: make(chan struct{})}
	st := storetest.OpenSQLite(t)
	e := newEnv(t, st, envOpts{market: feed})
	ctx := ctxT(t)
	_, err := st.InsertCandles(ctx, "paper", "BTCUSDT", market.H1, series[:history])
	require.NoError(t, err)
	e.run()
	alice, acct := e.user("alice", "pro")

	specs := map[string]bots.Spec{}
	rsiSp := rsiSpec(acct)
	rsiSp.Symbol, rsiSp.Timeframe = "BTCUSDT", market.H1
	specs["rsi"] = rsiSp
	macdSp := rsiSp
	macdSp.Strategy, macdSp.Params = "macd", map[string]string{}
	specs["macd"] = macdSp
	ids := map[string]int64{}
	for name, sp := range specs {
		b, err := e.svc.Create(ctx, alice, sp)
		require.NoError(t, err)
		_, err = e.svc.Start(ctx, alice, b.ID)
		require.NoError(t, err)
		ids[name] = b.ID
	}
	select {
	case <-feed.subbed:
	case <-ctx.Done():
		t.Fatal("the candle service never subscribed")
	}

	live := map[int64]map[int64]bots.Event{} // bot → candle time → event
	for _, id := range ids {
		live[id] = map[int64]bots.Event{}
	}
	for i := history; i < len(series); i++ {
		c := feed.release()
		for _, id := range ids {
			evs := e.events.waitN(t, i-history+1, fmt.Sprintf("evaluation of candle %d", c.Time), func(ev bots.Event) bool {
				return ev.Kind == bots.EventEvaluated && ev.BotID == id
			})
			last := evs[len(evs)-1]
			require.Equal(t, c.Time, last.Candle.Time, "bot %d evaluated candles in order", id)
			require.NoError(t, last.Err)
			live[id][c.Time] = last
		}
	}

	for name, sp := range specs {
		t.Run(name, func(t *testing.T) {
			// A fresh hang guard: releasing thousands of candles one by
			// one may have used up the first one on a loaded machine.
			ctx := ctxT(t)
			h, err := e.pm.Strategy(ctx, sp.Strategy)
			require.NoError(t, err)
			bt, err := h.Backtest(ctx, plugin.InstanceConfig{Params: sp.Params, Symbol: sp.Symbol, Timeframe: sp.Timeframe}, series, 0)
			require.NoError(t, err)
			signals := 0
			for i := history; i < len(series); i++ {
				want := bt.Signals[i]
				got := live[ids[name]][series[i].Time].Signal
				require.Equal(t, want.Action, got.Action, "candle %d (%d)", i, series[i].Time)
				if want.Action != strategy.ActionHold {
					signals++
					assert.Equal(t, want.Reason, got.Reason, "candle %d", i)
				}
			}
			t.Logf("%s: %d live decisions equal the full-history backtest, %d of them signals", name, len(series)-history, signals)
			assert.Positive(t, signals)
		})
	}

	// The RSI values behind the live signals are TA-Lib's full-history
	// RSI(14), to the two decimals the reason prints.
	ref := map[int64]float64{}
	for _, r := range readCSV(t, "btcusdt_1h_rsi14.csv") {
		ref[int64(r[0])] = r[1]
	}
	checked := 0
	for tm, ev := range live[ids["rsi"]] {
		if ev.Signal.Action == strategy.ActionHold {
			continue
		}
		var v float64
		var op string
		var lvl float64
		_, err := fmt.Sscanf(ev.Signal.Reason, "rsi %f %s %g", &v, &op, &lvl)
		require.NoError(t, err, ev.Signal.Reason)
		assert.Equal(t, fmt.Sprintf("%.2f", ref[tm]), fmt.Sprintf("%.2f", v), "candle %d", tm)
		checked++
	}
	assert.Positive(t, checked)
}
