package strategytest

import (
	"context"
	"testing"

	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/schema"
	"github.com/stc-trading/stc/sdk/strategy"
)

// In-process helpers for unit tests of a strategy's rules: they call the
// author's code directly (no gRPC), configured exactly as the SDK would.

// Configure builds an instance of f with params resolved against its
// schema (defaults, bounds), configures it for timeframe tf and returns it
// with its warm-up. It fails t on any error.
func Configure(t testing.TB, f strategy.Factory, params map[string]string, tf market.Timeframe) (strategy.Strategy, int) {
	t.Helper()
	s := f()
	p, err := schema.Resolve(s.Metadata().Params, params)
	if err != nil {
		t.Fatalf("strategytest: resolve %v: %v", params, err)
	}
	resp, err := s.Configure(context.Background(), strategy.ConfigureRequest{Params: p, Symbol: "TEST", Timeframe: tf})
	if err != nil {
		t.Fatalf("strategytest: configure %v: %v", params, err)
	}
	return s, resp.Warmup
}

// FromCloses turns close prices into consecutive hourly candles whose
// other prices equal the close, for rules that read closes only.
func FromCloses(closes ...float64) market.Series {
	out := make(market.Series, len(closes))
	for i, c := range closes {
		out[i] = market.Candle{Time: 1_700_000_000/3600*3600 + int64(i)*3600, Open: c, High: c, Low: c, Close: c, Volume: 1}
	}
	return out
}

// Eval calls s.OnCandle on window and fails t on error.
func Eval(t testing.TB, s strategy.Strategy, window market.Series) strategy.Signal {
	t.Helper()
	sig, err := s.OnCandle(context.Background(), strategy.CandleRequest{Window: window})
	if err != nil {
		t.Fatalf("strategytest: OnCandle: %v", err)
	}
	return sig
}

// RunVectorized runs a fresh instance's OnCandles over series in chunks of
// n, as a backtest does, and returns one signal per candle.
func RunVectorized(t testing.TB, f strategy.Factory, params map[string]string, series market.Series, n int) []strategy.Signal {
	t.Helper()
	s, _ := Configure(t, f, params, market.H1)
	v, ok := s.(strategy.Vectorized)
	if !ok {
		t.Fatalf("strategytest: %T does not implement strategy.Vectorized", s)
	}
	out := make([]strategy.Signal, len(series))
	for lo := 0; lo < len(series); lo += n {
		hi := min(lo+n, len(series))
		if err := v.OnCandles(context.Background(), series[lo:hi], out[lo:hi]); err != nil {
			t.Fatalf("strategytest: OnCandles: %v", err)
		}
	}
	return out
}

// RunLive evaluates every candle of series with OnCandle on the sliding
// window of the instance's warm-up, as the live path does.
func RunLive(t testing.TB, f strategy.Factory, params map[string]string, series market.Series) []strategy.Signal {
	t.Helper()
	s, warmup := Configure(t, f, params, market.H1)
	out := make([]strategy.Signal, len(series))
	for i := range series {
		out[i] = Eval(t, s, series[max(0, i-warmup+1):i+1])
	}
	return out
}
