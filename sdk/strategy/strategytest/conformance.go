package strategytest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/schema"
	"github.com/stc-trading/stc/sdk/strategy"
)

var semver = regexp.MustCompile(`^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// Conformance checks that f behaves as the host relies on, over the real
// gRPC shim. series must be longer than the strategy's default warm-up;
// Sine(500) suits most strategies, real data is better.
func Conformance(t *testing.T, f strategy.Factory, series market.Series) {
	t.Helper()
	h := New(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	c := h.Client
	tf := inferTimeframe(series)
	cfg := plugin.InstanceConfig{Symbol: "TEST", Timeframe: tf}

	info, err := c.Info(ctx)
	if err != nil {
		t.Fatalf("GetInfo: %v", err)
	}
	meta := f().Metadata()
	t.Run("info", func(t *testing.T) {
		if info.Kind != plugin.KindStrategy {
			t.Errorf("kind = %v, want strategy", info.Kind)
		}
		if info.Name == "" || info.Name != meta.Name || strings.ToLower(info.Name) != info.Name {
			t.Errorf("name = %q: want the metadata name, non-empty and lower-case", info.Name)
		}
		if !semver.MatchString(info.Version) {
			t.Errorf("version %q is not a semantic version", info.Version)
		}
		if _, err := schema.Resolve(info.Fields, nil); err != nil {
			t.Errorf("the declared defaults are not valid: %v", err)
		}
	})

	inst, err := c.CreateInstance(ctx, "conf-a", cfg)
	if err != nil {
		t.Fatalf("CreateInstance with default parameters: %v", err)
	}
	warmup := inst.Warmup
	if warmup < 1 || warmup >= len(series) {
		t.Fatalf("warm-up %d: want 1 <= warm-up < len(series)=%d (give a longer series)", warmup, len(series))
	}

	t.Run("parameters", func(t *testing.T) {
		bad := plugin.InstanceConfig{Symbol: "TEST", Timeframe: tf, Params: map[string]string{"no_such_parameter_xyz": "1"}}
		if _, err := c.CreateInstance(ctx, "conf-bad", bad); !errors.Is(err, schema.ErrInvalid) {
			t.Errorf("unknown parameter: err = %v, want schema.ErrInvalid", err)
		}
		if _, err := c.CreateInstance(ctx, "conf-bad", plugin.InstanceConfig{Symbol: "TEST"}); !errors.Is(err, schema.ErrInvalid) {
			t.Errorf("missing timeframe: err = %v, want schema.ErrInvalid", err)
		}
		for _, p := range meta.Params {
			if p.Min == nil || (p.Type != schema.Int && p.Type != schema.Float) {
				continue
			}
			below := fmt.Sprint(*p.Min - 1)
			cfg := plugin.InstanceConfig{Symbol: "TEST", Timeframe: tf, Params: map[string]string{p.Name: below}}
			if _, err := c.CreateInstance(ctx, "conf-bad", cfg); !errors.Is(err, schema.ErrInvalid) {
				t.Errorf("%s=%s below its minimum: err = %v, want schema.ErrInvalid", p.Name, below, err)
			}
		}
		again, err := c.CreateInstance(ctx, "conf-a", cfg)
		if err != nil || again.Warmup != warmup {
			t.Errorf("re-creating an instance with the same config: warm-up %d, err %v; want %d, nil", again.Warmup, err, warmup)
		}
	})

	// The live path over the whole series, on two instances.
	if _, err := c.CreateInstance(ctx, "conf-b", cfg); err != nil {
		t.Fatalf("CreateInstance conf-b: %v", err)
	}
	live := make([]strategy.Signal, len(series))
	t.Run("live path is deterministic and valid", func(t *testing.T) {
		for i := warmup - 1; i < len(series); i++ {
			w := series[i-warmup+1 : i+1]
			a, err := c.OnCandle(ctx, "conf-a", w)
			if err != nil {
				t.Fatalf("OnCandle at candle %d: %v", i, err)
			}
			b, err := c.OnCandle(ctx, "conf-b", w)
			if err != nil {
				t.Fatalf("OnCandle (second instance) at candle %d: %v", i, err)
			}
			if !a.Action.Valid() {
				t.Fatalf("candle %d: invalid action %v", i, a.Action)
			}
			if a != b {
				t.Fatalf("candle %d: two instances disagree: %+v vs %+v", i, a, b)
			}
			live[i] = a
		}
	})

	t.Run("short window", func(t *testing.T) {
		for _, n := range []int{1, 2, warmup / 2} {
			if n < 1 || n > len(series) {
				continue
			}
			if _, err := c.OnCandle(ctx, "conf-a", series[:n]); err != nil {
				t.Errorf("a %d-candle window must give a signal (usually hold), got %v", n, err)
			}
		}
	})

	t.Run("unknown instance", func(t *testing.T) {
		if _, err := c.OnCandle(ctx, "conf-missing", series[:warmup]); !errors.Is(err, strategy.ErrUnknownInstance) {
			t.Errorf("err = %v, want strategy.ErrUnknownInstance", err)
		}
	})

	t.Run("batch equals single calls", func(t *testing.T) {
		var items []plugin.BatchItem
		var want []strategy.Signal
		for i := warmup - 1; i < len(series) && len(items) < 50; i += max(1, (len(series)-warmup)/50) {
			items = append(items, plugin.BatchItem{InstanceID: "conf-a", Window: series[i-warmup+1 : i+1]})
			want = append(want, live[i])
		}
		items = append(items, plugin.BatchItem{InstanceID: "conf-missing", Window: series[:warmup]})
		res, err := c.BatchOnCandle(ctx, items)
		if err != nil {
			t.Fatalf("BatchOnCandle: %v", err)
		}
		for i, w := range want {
			if res[i].Err != nil || res[i].Signal != w {
				t.Errorf("batch item %d: %+v (err %v), want %+v", i, res[i].Signal, res[i].Err, w)
			}
		}
		if last := res[len(res)-1]; !errors.Is(last.Err, strategy.ErrUnknownInstance) {
			t.Errorf("batch item for a missing instance: err = %v, want strategy.ErrUnknownInstance", last.Err)
		}
	})

	t.Run("batch of windows cut from one series equals single calls", func(t *testing.T) {
		// As a host sends its bots of one candle key: every window ends at
		// the same candle, the longer ones reaching further back (the SDK
		// sends the series once; each instance still sees its own window).
		// The windows end at the last candle with a trade signal, so that a
		// window cut from the wrong place would show.
		end := len(series)
		for i := len(series) - 1; i >= warmup; i-- {
			if live[i].Action == strategy.ActionCall || live[i].Action == strategy.ActionPut {
				end = i + 1
				break
			}
		}
		var items []plugin.BatchItem
		for k, n := range []int{warmup, end, warmup / 2, 1, warmup} {
			if n < 1 {
				continue
			}
			id := "conf-a"
			if k%2 == 1 {
				id = "conf-b"
			}
			items = append(items, plugin.BatchItem{InstanceID: id, Window: series[end-n : end]})
		}
		res, err := c.BatchOnCandle(ctx, items)
		if err != nil {
			t.Fatalf("BatchOnCandle: %v", err)
		}
		for i, it := range items {
			want, err := c.OnCandle(ctx, it.InstanceID, it.Window)
			if err != nil {
				t.Fatalf("OnCandle with a %d-candle window: %v", len(it.Window), err)
			}
			if res[i].Err != nil || res[i].Signal != want {
				t.Errorf("batch item %d (%d candles): %+v (err %v), want %+v", i, len(it.Window), res[i].Signal, res[i].Err, want)
			}
		}
	})

	t.Run("backtest agrees with the live path", func(t *testing.T) {
		bt, err := c.Backtest(ctx, cfg, series, 97) // an odd chunk size exercises chunk boundaries
		if err != nil {
			t.Fatalf("Backtest: %v", err)
		}
		if bt.Warmup != warmup || len(bt.Signals) != len(series) {
			t.Fatalf("backtest: warm-up %d, %d signals; want %d, %d", bt.Warmup, len(bt.Signals), warmup, len(series))
		}
		mismatches := 0
		for i := warmup - 1; i < len(series); i++ {
			if bt.Signals[i].Action != live[i].Action {
				if mismatches < 5 {
					t.Errorf("candle %d (time %d): backtest %v, live %v", i, series[i].Time, bt.Signals[i].Action, live[i].Action)
				}
				mismatches++
			}
		}
		if mismatches > 0 {
			t.Errorf("%d of %d candles disagree between backtest and live path", mismatches, len(series)-warmup+1)
		}
	})

	t.Run("destroy", func(t *testing.T) {
		if err := c.DestroyInstance(ctx, "conf-b"); err != nil {
			t.Fatalf("DestroyInstance: %v", err)
		}
		if err := c.DestroyInstance(ctx, "conf-b"); err != nil {
			t.Errorf("destroying twice must succeed, got %v", err)
		}
		if _, err := c.OnCandle(ctx, "conf-b", series[:warmup]); !errors.Is(err, strategy.ErrUnknownInstance) {
			t.Errorf("after destroy: err = %v, want strategy.ErrUnknownInstance", err)
		}
	})
}

// inferTimeframe guesses the series' timeframe from its smallest step, so
// instances are configured like the host would configure them.
func inferTimeframe(s market.Series) market.Timeframe {
	step := int64(0)
	for i := 1; i < len(s); i++ {
		if d := s[i].Time - s[i-1].Time; d > 0 && (step == 0 || d < step) {
			step = d
		}
	}
	for _, tf := range market.Timeframes() {
		if tf.Seconds() == step {
			return tf
		}
	}
	return market.H1
}

// Golden backtests f with params over series through the shim and compares
// every non-hold signal ("time action reason" lines) with goldenPath. Run
// with STC_UPDATE_GOLDEN=1 to rewrite the file after an intended change.
func Golden(t *testing.T, f strategy.Factory, params map[string]string, series market.Series, goldenPath string) {
	t.Helper()
	h := New(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := plugin.InstanceConfig{Params: params, Symbol: "TEST", Timeframe: inferTimeframe(series)}
	bt, err := h.Client.Backtest(ctx, cfg, series, 0)
	if err != nil {
		t.Fatalf("Backtest: %v", err)
	}
	var b strings.Builder
	for i, s := range bt.Signals {
		if s.Action != strategy.ActionHold {
			fmt.Fprintf(&b, "%d %s %s\n", series[i].Time, s.Action, s.Reason)
		}
	}
	got := b.String()
	if os.Getenv("STC_UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll(filepath.Dir(goldenPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenPath, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("read golden file (create it with STC_UPDATE_GOLDEN=1): %v", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\n(%d signals now, %d in the file; STC_UPDATE_GOLDEN=1 rewrites it)", goldenPath, i+1, g, w, len(gl)-1, len(wl)-1)
			}
		}
	}
}
