package macd_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/stc-trading/stc/plugins/strategy/macd"
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
	return strategytest.Configure(t, macd.New, params, market.H1)
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
	return strategytest.RunVectorized(t, macd.New, params, series, n)
}

func live(t *testing.T, params map[string]string, series market.Series) []strategy.Signal {
	t.Helper()
	return strategytest.RunLive(t, macd.New, params, series)
}

func TestMetadataDefaults(t *testing.T) {
	_, warmup := configure(t, nil)
	if want := indicator.MACDWarmup(12, 26, 9) + 1; warmup != want {
		t.Errorf("default warm-up = %d, want MACDWarmup(12, 26, 9)+1 = %d", warmup, want)
	}
	if got := macd.New().Metadata().Name; got != "macd" {
		t.Errorf("name = %q, want macd", got)
	}
}

func TestConfigureRejects(t *testing.T) {
	meta := macd.New().Metadata()
	for _, raw := range []map[string]string{
		{"fast": "1"}, {"slow": "501"}, {"signal": "1"}, {"rule": "histogram"}, {"rule": ""},
	} {
		if _, err := schema.Resolve(meta.Params, raw); !errors.Is(err, schema.ErrInvalid) {
			t.Errorf("%v: err = %v, want schema.ErrInvalid", raw, err)
		}
	}
	for _, raw := range []map[string]string{
		{"fast": "26", "slow": "26"},
		{"fast": "30", "slow": "20"},
		{"fast": "40"}, // above the default slow
	} {
		p, err := schema.Resolve(meta.Params, raw)
		if err != nil {
			t.Fatalf("%v: %v", raw, err)
		}
		_, err = macd.New().Configure(context.Background(), strategy.ConfigureRequest{Params: p, Timeframe: market.H1})
		if !errors.Is(err, strategy.ErrInvalidParams) {
			t.Errorf("%v: err = %v, want strategy.ErrInvalidParams", raw, err)
		}
	}
}

// small periods keep the hand-made series short: MACD(2, 3, 2) is defined
// from the fourth close on, and a cross needs a fifth.
var (
	small     = map[string]string{"fast": "2", "slow": "3", "signal": "2"}
	smallZero = map[string]string{"fast": "2", "slow": "3", "signal": "2", "rule": "zero"}
)

func TestRule(t *testing.T) {
	// After a flat stretch the MACD line and the signal are both exactly
	// 0, so a move off it is a cross from "equal" (previous x ≤ y). For a
	// jump of +1 from 10: fast EMA 10+2/3, slow EMA 10.5, MACD 1/6, signal
	// (1/6)·(2/3) = 1/9.
	tests := []struct {
		name   string
		params map[string]string
		closes []float64
		want   strategy.Signal
	}{
		{"MACD undefined", small, []float64{10, 10, 11}, strategy.Hold()},
		{"previous MACD undefined", small, []float64{10, 10, 10, 11}, strategy.Hold()},
		{"jump up crosses the signal", small, []float64{10, 10, 10, 10, 11}, strategy.Call("macd 0.1667 crossed above signal 0.1111")},
		{"drop crosses the signal", small, []float64{10, 10, 10, 10, 9}, strategy.Put("macd -0.1667 crossed below signal -0.1111")},
		{"no cross on the next candle", small, []float64{10, 10, 10, 10, 11, 11}, strategy.Hold()},
		{"flat never crosses", small, []float64{10, 10, 10, 10, 10, 10}, strategy.Hold()},
		{"jump up crosses zero", smallZero, []float64{10, 10, 10, 10, 11}, strategy.Call("macd 0.1667 crossed above 0")},
		{"drop crosses zero", smallZero, []float64{10, 10, 10, 10, 9}, strategy.Put("macd -0.1667 crossed below 0")},
		{"stays above zero", smallZero, []float64{10, 10, 10, 10, 11, 11}, strategy.Hold()},
		{"default periods need 35 closes", nil, []float64{10, 10, 10, 10, 11}, strategy.Hold()},
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

// TestRuleOnSwings checks the rules' shape on a V and a Λ: each turn gives
// one signal per rule, and the MACD line crosses its signal line before it
// crosses zero (the signal line lags the MACD line).
func TestRuleOnSwings(t *testing.T) {
	var cs []float64
	for range 10 {
		cs = append(cs, 100)
	}
	for i := range 20 { // down 20, up 40, down 40
		cs = append(cs, 99-float64(i))
	}
	for i := range 40 {
		cs = append(cs, 81+float64(i))
	}
	for i := range 40 {
		cs = append(cs, 119-float64(i))
	}
	series := closes(cs...)
	type event struct {
		at     int
		action strategy.Action
	}
	events := func(params map[string]string) []event {
		var out []event
		for i, s := range live(t, params, series) {
			if s.Action != strategy.ActionHold {
				out = append(out, event{i, s.Action})
			}
		}
		return out
	}
	cross, zero := events(small), events(smallZero)
	want := []strategy.Action{strategy.ActionPut, strategy.ActionCall, strategy.ActionPut}
	for _, got := range [][]event{cross, zero} {
		if len(got) != len(want) {
			t.Fatalf("signals %v, want actions %v", got, want)
		}
		for i := range want {
			if got[i].action != want[i] {
				t.Fatalf("signals %v, want actions %v", got, want)
			}
		}
	}
	if cross[0].at != 10 || zero[0].at != 10 {
		t.Errorf("the first drop off the flat stretch must signal on candle 10: crossover %v, zero %v", cross, zero)
	}
	for i := 1; i < len(want); i++ {
		if turn := []int{0, 30, 70}[i]; cross[i].at < turn || cross[i].at >= zero[i].at {
			t.Errorf("turn at %d: crossover signal at %d, zero signal at %d; want turn <= crossover < zero", turn, cross[i].at, zero[i].at)
		}
	}
}

// TestRuleMatchesBatchMACD checks the crossover rule against an
// independent reading of indicator.MACD's histogram over the full history,
// which the streaming backtest path reproduces bit for bit.
func TestRuleMatchesBatchMACD(t *testing.T) {
	series := load(t, "btcusdt_1h.csv")
	_, _, hist := indicator.MACD(series.Closes(), 12, 26, 9)
	got := vectorized(t, nil, series, 1000)
	for i := 1; i < len(series); i++ {
		want := strategy.ActionHold
		switch {
		case hist[i-1] <= 0 && hist[i] > 0:
			want = strategy.ActionCall
		case hist[i-1] >= 0 && hist[i] < 0:
			want = strategy.ActionPut
		}
		if got[i].Action != want {
			t.Errorf("candle %d: %v, histogram %g → %g wants %v", i, got[i], hist[i-1], hist[i], want)
		}
	}
}

// paramSets are the configurations the real-data agreement tests run.
var paramSets = []map[string]string{
	nil,
	{"rule": "zero"},
	{"fast": "5", "slow": "35", "signal": "5"},
	{"fast": "3", "slow": "10", "signal": "16", "rule": "zero"},
	{"fast": "8", "slow": "17", "signal": "9"},
}

// TestVectorizedMatchesOnCandle checks the documented agreement: the
// streaming backtest path and the live path fed a sliding window of the
// warm-up give the same signal, reason included, on every candle of the
// reference data.
func TestVectorizedMatchesOnCandle(t *testing.T) {
	for _, file := range []string{"btcusdt_1h.csv", "ethusdt_1h.csv"} {
		series := load(t, file)
		for _, params := range paramSets {
			got := vectorized(t, params, series, 97)
			want := live(t, params, series)
			var signals int
			for i := range series {
				if got[i] != want[i] {
					t.Errorf("%s %v candle %d (time %d): OnCandles %+v, OnCandle %+v", file, params, i, series[i].Time, got[i], want[i])
				}
				if want[i].Action != strategy.ActionHold {
					signals++
				}
			}
			t.Logf("%s %v: %d candles, %d signals agree", file, params, len(series), signals)
		}
	}
}

// TestWarmupMargin shows why the paths agree: on the reference data the
// window MACD differs from the full-history MACD by far less than the
// smallest value, on either side of a cross, of the histogram (crossover
// rule) or of the MACD line (zero rule).
func TestWarmupMargin(t *testing.T) {
	for _, file := range []string{"btcusdt_1h.csv", "ethusdt_1h.csv"} {
		cl := load(t, file).Closes()
		line, _, hist := indicator.MACD(cl, 12, 26, 9)
		w := indicator.MACDWarmup(12, 26, 9)
		var worst, scale float64
		margin := math.Inf(1)
		for i := w; i < len(cl); i++ {
			l, _, h := indicator.MACD(cl[i+1-w:i+1], 12, 26, 9)
			worst = max(worst, math.Abs(h[w-1]-hist[i]), math.Abs(l[w-1]-line[i]))
			scale = max(scale, math.Abs(line[i]))
			for _, x := range [][]float64{hist, line} {
				if (x[i-1] > 0) != (x[i] > 0) {
					margin = min(margin, math.Abs(x[i-1]), math.Abs(x[i]))
				}
			}
		}
		if worst > 1e-6*scale || worst >= margin {
			t.Errorf("%s: window/full gap %.3g (max|MACD| %.3g), closest value to a cross %.3g", file, worst, scale, margin)
		}
		t.Logf("%s: worst window/full gap %.3g = %.2g×max|MACD|; closest value to a cross %.3g", file, worst, worst/scale, margin)
	}
}

func TestOnCandlesBeforeConfigure(t *testing.T) {
	v, ok := macd.New().(strategy.Vectorized)
	if !ok {
		t.Fatal("macd does not implement strategy.Vectorized")
	}
	if err := v.OnCandles(context.Background(), closes(1, 2), make([]strategy.Signal, 2)); err == nil {
		t.Error("OnCandles on an unconfigured instance succeeded")
	}
}
