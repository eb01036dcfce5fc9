package rsi_test

import (
	"context"
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/stc-trading/stc/plugins/strategy/rsi"
	"github.com/stc-trading/stc/sdk/indicator"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/schema"
	"github.com/stc-trading/stc/sdk/strategy"
	"github.com/stc-trading/stc/sdk/strategy/strategytest"
)

// The helpers below adapt strategytest's in-process helpers to this
// package's strategy and hourly test data.

func configure(t *testing.T, params map[string]string) (strategy.Strategy, int) {
	t.Helper()
	return strategytest.Configure(t, rsi.New, params, market.H1)
}

func closes(cs ...float64) market.Series { return strategytest.FromCloses(cs...) }

func onCandle(t *testing.T, s strategy.Strategy, w market.Series) strategy.Signal {
	t.Helper()
	return strategytest.Eval(t, s, w)
}

func load(t *testing.T, name string) market.Series {
	t.Helper()
	s, err := strategytest.LoadCSV("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func vectorized(t *testing.T, params map[string]string, series market.Series, n int) []strategy.Signal {
	t.Helper()
	return strategytest.RunVectorized(t, rsi.New, params, series, n)
}

func TestMetadataDefaults(t *testing.T) {
	_, warmup := configure(t, nil)
	if want := indicator.RSIWarmup(14); warmup != want {
		t.Errorf("default warm-up = %d, want RSIWarmup(14) = %d", warmup, want)
	}
	if got := rsi.New().Metadata().Name; got != "rsi" {
		t.Errorf("name = %q, want rsi", got)
	}
}

func TestConfigureRejects(t *testing.T) {
	meta := rsi.New().Metadata()
	for _, raw := range []map[string]string{
		{"period": "1"}, {"period": "501"}, {"oversold": "-1"}, {"overbought": "100.5"}, {"period": "x"},
	} {
		if _, err := schema.Resolve(meta.Params, raw); !errors.Is(err, schema.ErrInvalid) {
			t.Errorf("%v: err = %v, want schema.ErrInvalid", raw, err)
		}
	}
	for _, raw := range []map[string]string{
		{"oversold": "70", "overbought": "70"},
		{"oversold": "80", "overbought": "20"},
		{"oversold": "75"}, // above the default overbought
	} {
		p, err := schema.Resolve(meta.Params, raw)
		if err != nil {
			t.Fatalf("%v: %v", raw, err)
		}
		_, err = rsi.New().Configure(context.Background(), strategy.ConfigureRequest{Params: p, Timeframe: market.H1})
		if !errors.Is(err, strategy.ErrInvalidParams) {
			t.Errorf("%v: err = %v, want strategy.ErrInvalidParams", raw, err)
		}
	}
}

func TestRule(t *testing.T) {
	// With period 2 the RSI of three closes is 100·gain/(gain+loss) over
	// the two changes, so the levels below are exact.
	tests := []struct {
		name   string
		params map[string]string
		closes []float64
		want   strategy.Signal
	}{
		{"too short to define RSI", nil, []float64{10, 9, 8}, strategy.Hold()},
		{"falling hard", map[string]string{"period": "2"}, []float64{10, 9, 8}, strategy.Call("rsi 0.00 <= 30")},
		{"rising hard", map[string]string{"period": "2"}, []float64{8, 9, 10}, strategy.Put("rsi 100.00 >= 70")},
		{"rsi 25", map[string]string{"period": "2"}, []float64{10, 11, 8}, strategy.Call("rsi 25.00 <= 30")},
		{"rsi 75", map[string]string{"period": "2"}, []float64{10, 13, 12}, strategy.Put("rsi 75.00 >= 70")},
		{"rsi 50 holds", map[string]string{"period": "2"}, []float64{10, 11, 10}, strategy.Hold()},
		{"flat market holds", map[string]string{"period": "2"}, []float64{10, 10, 10, 10}, strategy.Hold()},
		{"oversold is inclusive", map[string]string{"period": "2", "oversold": "25"}, []float64{10, 11, 8}, strategy.Call("rsi 25.00 <= 25")},
		{"overbought is inclusive", map[string]string{"period": "2", "overbought": "75"}, []float64{10, 13, 12}, strategy.Put("rsi 75.00 >= 75")},
		{"just above oversold", map[string]string{"period": "2", "oversold": "24.99"}, []float64{10, 11, 8}, strategy.Hold()},
		{"just below overbought", map[string]string{"period": "2", "overbought": "75.01"}, []float64{10, 13, 12}, strategy.Hold()},
		{"fractional thresholds", map[string]string{"period": "2", "oversold": "25.5", "overbought": "60"}, []float64{10, 11, 8}, strategy.Call("rsi 25.00 <= 25.5")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := configure(t, tt.params)
			if got := onCandle(t, s, closes(tt.closes...)); got != tt.want {
				t.Errorf("OnCandle = %+v, want %+v", got, tt.want)
			}
			if got := vectorized(t, tt.params, closes(tt.closes...), 1); got[len(got)-1] != tt.want {
				t.Errorf("OnCandles = %+v, want %+v", got[len(got)-1], tt.want)
			}
		})
	}
}

// TestRuleOnComputedRSI pins the rule to indicator.RSI on real closes: a
// threshold set to the exact RSI value of a candle must fire on it.
func TestRuleOnComputedRSI(t *testing.T) {
	series := load(t, "btcusdt_1h.csv")[:400]
	v := indicator.RSI(series.Closes(), 14)[len(series)-1]
	text := strconv.FormatFloat(v, 'g', -1, 64) // round-trips exactly
	s, _ := configure(t, map[string]string{"oversold": text, "overbought": "99"})
	if got := onCandle(t, s, series); got.Action != strategy.ActionCall {
		t.Errorf("oversold = RSI %s: got %v, want call", text, got)
	}
	s, _ = configure(t, map[string]string{"overbought": text, "oversold": "1"})
	if got := onCandle(t, s, series); got.Action != strategy.ActionPut {
		t.Errorf("overbought = RSI %s: got %v, want put", text, got)
	}
}

// paramSets are the configurations the real-data agreement tests run.
var paramSets = []map[string]string{
	nil,
	{"period": "2", "oversold": "10", "overbought": "90"},
	{"period": "2", "oversold": "20", "overbought": "80"},
	{"period": "2", "oversold": "25", "overbought": "75"},
	{"period": "2"},
	{"period": "7", "oversold": "20", "overbought": "80"},
	{"period": "21", "oversold": "35", "overbought": "65"},
}

// TestVectorizedMatchesOnCandle checks the documented agreement: the
// streaming backtest path and the live path fed a sliding window of the
// warm-up give the same signal, reason included, on every candle of the
// reference data.
func TestVectorizedMatchesOnCandle(t *testing.T) {
	for _, file := range []string{"btcusdt_1h.csv", "ethusdt_1h.csv"} {
		series := load(t, file)
		for _, params := range paramSets {
			live, warmup := configure(t, params)
			got := vectorized(t, params, series, 97)
			var signals int
			for i := range series {
				want := onCandle(t, live, series[max(0, i+1-warmup):i+1])
				if got[i] != want {
					t.Errorf("%s %v candle %d (time %d): OnCandles %+v, OnCandle %+v", file, params, i, series[i].Time, got[i], want)
				}
				if want.Action != strategy.ActionHold {
					signals++
				}
			}
			t.Logf("%s %v: %d candles, %d signals agree", file, params, len(series), signals)
		}
	}
}

// TestWarmupMargin shows why the paths agree: on the reference data the
// window RSI differs from the full-history RSI by far less than the
// distance from any threshold-crossing value to its threshold.
func TestWarmupMargin(t *testing.T) {
	for _, file := range []string{"btcusdt_1h.csv", "ethusdt_1h.csv"} {
		cl := load(t, file).Closes()
		full := indicator.RSI(cl, 14)
		w := indicator.RSIWarmup(14)
		var worst float64
		margin := math.Inf(1)
		for i := w; i < len(cl); i++ {
			win := indicator.RSI(cl[i+1-w:i+1], 14)
			worst = max(worst, math.Abs(win[w-1]-full[i]))
			margin = min(margin, math.Abs(full[i]-30), math.Abs(full[i]-70))
		}
		if worst > 1e-6 {
			t.Errorf("%s: window RSI differs from full-history RSI by %.3g, want <= 1e-6", file, worst)
		}
		if worst >= margin {
			t.Errorf("%s: gap %.3g reaches the closest approach to a threshold %.3g", file, worst, margin)
		}
		t.Logf("%s: worst window/full gap %.3g, closest RSI to 30 or 70 is %.3g away", file, worst, margin)
	}
}

func TestOnCandlesBeforeConfigure(t *testing.T) {
	v, ok := rsi.New().(strategy.Vectorized)
	if !ok {
		t.Fatal("rsi does not implement strategy.Vectorized")
	}
	if err := v.OnCandles(context.Background(), closes(1, 2), make([]strategy.Signal, 2)); err == nil {
		t.Error("OnCandles on an unconfigured instance succeeded")
	}
}
