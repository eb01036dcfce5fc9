package strategytest

import (
	"context"
	"errors"
	"fmt"
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
//
// Each check is a subtest, run in this order on instances "conf-a" and
// "conf-b" created with the default parameters:
//
//   - info: kind, a lower-case name equal to the metadata's, a semantic
//     version, valid parameter defaults;
//   - parameters: unknown names, a missing timeframe and values below a
//     declared minimum are refused with schema.ErrInvalid; re-creating an
//     instance with the same config gives the same warm-up;
//   - live path is deterministic and valid: OnCandle over the whole series
//     gives valid actions, and the same on two instances;
//   - short window: windows shorter than the warm-up give a signal, not an
//     error;
//   - unknown instance: strategy.ErrUnknownInstance for an id never
//     created;
//   - batch equals single calls: BatchOnCandle gives what OnCandle gave,
//     and ErrUnknownInstance for its item of a missing instance;
//   - batch of windows cut from one series equals single calls: windows of
//     several lengths ending at one candle, as the host sends its bots;
//   - backtest agrees with the live path: Backtest, in odd-sized chunks,
//     gives the live path's action for every candle after the warm-up;
//   - destroy: DestroyInstance is idempotent and the instance is gone.
//
// A failure the later checks cannot run without (GetInfo or creating an
// instance fails, or the warm-up does not fit the series) stops the run.
func Conformance(t *testing.T, f strategy.Factory, series market.Series) {
	t.Helper()
	h := New(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	r := &run{ctx: ctx, c: h.Client, meta: f().Metadata(), series: series}
	r.cfg = plugin.InstanceConfig{Symbol: "TEST", Timeframe: inferTimeframe(series)}

	info, err := r.c.Info(ctx)
	if err != nil {
		t.Fatalf("GetInfo: %v", err)
	}
	r.checkInfo(t, info)

	inst, err := r.c.CreateInstance(ctx, "conf-a", r.cfg)
	if err != nil {
		t.Fatalf("CreateInstance with default parameters: %v", err)
	}
	r.warmup = inst.Warmup
	if r.warmup < 1 || r.warmup >= len(series) {
		t.Fatalf("warm-up %d: want 1 <= warm-up < len(series)=%d (give a longer series)", r.warmup, len(series))
	}
	r.checkParameters(t)

	if _, err := r.c.CreateInstance(ctx, "conf-b", r.cfg); err != nil {
		t.Fatalf("CreateInstance conf-b: %v", err)
	}
	r.checkLivePath(t)
	r.checkShortWindow(t)
	r.checkUnknownInstance(t)
	r.checkBatch(t)
	r.checkBatchOfWindows(t)
	r.checkBacktest(t)
	r.checkDestroy(t)
}

// run is one conformance run: the client, the input and what the checks
// learn on the way.
type run struct {
	ctx    context.Context
	c      *plugin.StrategyClient
	meta   strategy.Metadata
	series market.Series
	cfg    plugin.InstanceConfig // default parameters
	warmup int                   // of the default parameters
	// live is the live path's signal of every candle from warmup-1 on,
	// filled by checkLivePath.
	live []strategy.Signal
}

func (r *run) checkInfo(t *testing.T, info plugin.Info) {
	t.Run("info", func(t *testing.T) {
		if info.Kind != plugin.KindStrategy {
			t.Errorf("kind = %v, want strategy", info.Kind)
		}
		if info.Name == "" || info.Name != r.meta.Name || strings.ToLower(info.Name) != info.Name {
			t.Errorf("name = %q: want the metadata name, non-empty and lower-case", info.Name)
		}
		if !semver.MatchString(info.Version) {
			t.Errorf("version %q is not a semantic version", info.Version)
		}
		if _, err := schema.Resolve(info.Fields, nil); err != nil {
			t.Errorf("the declared defaults are not valid: %v", err)
		}
	})
}

func (r *run) checkParameters(t *testing.T) {
	t.Run("parameters", func(t *testing.T) {
		ctx, c, tf := r.ctx, r.c, r.cfg.Timeframe
		bad := plugin.InstanceConfig{Symbol: "TEST", Timeframe: tf, Params: map[string]string{"no_such_parameter_xyz": "1"}}
		if _, err := c.CreateInstance(ctx, "conf-bad", bad); !errors.Is(err, schema.ErrInvalid) {
			t.Errorf("unknown parameter: err = %v, want schema.ErrInvalid", err)
		}
		if _, err := c.CreateInstance(ctx, "conf-bad", plugin.InstanceConfig{Symbol: "TEST"}); !errors.Is(err, schema.ErrInvalid) {
			t.Errorf("missing timeframe: err = %v, want schema.ErrInvalid", err)
		}
		for _, p := range r.meta.Params {
			if p.Min == nil || (p.Type != schema.Int && p.Type != schema.Float) {
				continue
			}
			below := fmt.Sprint(*p.Min - 1)
			cfg := plugin.InstanceConfig{Symbol: "TEST", Timeframe: tf, Params: map[string]string{p.Name: below}}
			if _, err := c.CreateInstance(ctx, "conf-bad", cfg); !errors.Is(err, schema.ErrInvalid) {
				t.Errorf("%s=%s below its minimum: err = %v, want schema.ErrInvalid", p.Name, below, err)
			}
		}
		again, err := c.CreateInstance(ctx, "conf-a", r.cfg)
		if err != nil || again.Warmup != r.warmup {
			t.Errorf("re-creating an instance with the same config: warm-up %d, err %v; want %d, nil", again.Warmup, err, r.warmup)
		}
	})
}

// checkLivePath runs the live path over the whole series on both
// instances and records its signals for the later checks.
func (r *run) checkLivePath(t *testing.T) {
	r.live = make([]strategy.Signal, len(r.series))
	t.Run("live path is deterministic and valid", func(t *testing.T) {
		for i := r.warmup - 1; i < len(r.series); i++ {
			w := r.series[i-r.warmup+1 : i+1]
			a, err := r.c.OnCandle(r.ctx, "conf-a", w)
			if err != nil {
				t.Fatalf("OnCandle at candle %d: %v", i, err)
			}
			b, err := r.c.OnCandle(r.ctx, "conf-b", w)
			if err != nil {
				t.Fatalf("OnCandle (second instance) at candle %d: %v", i, err)
			}
			if !a.Action.Valid() {
				t.Fatalf("candle %d: invalid action %v", i, a.Action)
			}
			if a != b {
				t.Fatalf("candle %d: two instances disagree: %+v vs %+v", i, a, b)
			}
			r.live[i] = a
		}
	})
}

func (r *run) checkShortWindow(t *testing.T) {
	t.Run("short window", func(t *testing.T) {
		for _, n := range []int{1, 2, r.warmup / 2} {
			if n < 1 || n > len(r.series) {
				continue
			}
			if _, err := r.c.OnCandle(r.ctx, "conf-a", r.series[:n]); err != nil {
				t.Errorf("a %d-candle window must give a signal (usually hold), got %v", n, err)
			}
		}
	})
}

func (r *run) checkUnknownInstance(t *testing.T) {
	t.Run("unknown instance", func(t *testing.T) {
		if _, err := r.c.OnCandle(r.ctx, "conf-missing", r.series[:r.warmup]); !errors.Is(err, strategy.ErrUnknownInstance) {
			t.Errorf("err = %v, want strategy.ErrUnknownInstance", err)
		}
	})
}

func (r *run) checkBatch(t *testing.T) {
	t.Run("batch equals single calls", func(t *testing.T) {
		series, warmup := r.series, r.warmup
		var items []plugin.BatchItem
		var want []strategy.Signal
		for i := warmup - 1; i < len(series) && len(items) < 50; i += max(1, (len(series)-warmup)/50) {
			items = append(items, plugin.BatchItem{InstanceID: "conf-a", Window: series[i-warmup+1 : i+1]})
			want = append(want, r.live[i])
		}
		items = append(items, plugin.BatchItem{InstanceID: "conf-missing", Window: series[:warmup]})
		res, err := r.c.BatchOnCandle(r.ctx, items)
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
}

func (r *run) checkBatchOfWindows(t *testing.T) {
	t.Run("batch of windows cut from one series equals single calls", func(t *testing.T) {
		// As a host sends its bots of one candle key: every window ends at
		// the same candle, the longer ones reaching further back (the SDK
		// sends the series once; each instance still sees its own window).
		// The windows end at the last candle with a trade signal, so that a
		// window cut from the wrong place would show.
		series, warmup := r.series, r.warmup
		end := len(series)
		for i := len(series) - 1; i >= warmup; i-- {
			if r.live[i].Action == strategy.ActionCall || r.live[i].Action == strategy.ActionPut {
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
		res, err := r.c.BatchOnCandle(r.ctx, items)
		if err != nil {
			t.Fatalf("BatchOnCandle: %v", err)
		}
		for i, it := range items {
			want, err := r.c.OnCandle(r.ctx, it.InstanceID, it.Window)
			if err != nil {
				t.Fatalf("OnCandle with a %d-candle window: %v", len(it.Window), err)
			}
			if res[i].Err != nil || res[i].Signal != want {
				t.Errorf("batch item %d (%d candles): %+v (err %v), want %+v", i, len(it.Window), res[i].Signal, res[i].Err, want)
			}
		}
	})
}

func (r *run) checkBacktest(t *testing.T) {
	t.Run("backtest agrees with the live path", func(t *testing.T) {
		series, warmup := r.series, r.warmup
		bt, err := r.c.Backtest(r.ctx, r.cfg, series, 97) // an odd chunk size exercises chunk boundaries
		if err != nil {
			t.Fatalf("Backtest: %v", err)
		}
		if bt.Warmup != warmup || len(bt.Signals) != len(series) {
			t.Fatalf("backtest: warm-up %d, %d signals; want %d, %d", bt.Warmup, len(bt.Signals), warmup, len(series))
		}
		mismatches := 0
		for i := warmup - 1; i < len(series); i++ {
			if bt.Signals[i].Action != r.live[i].Action {
				if mismatches < 5 {
					t.Errorf("candle %d (time %d): backtest %v, live %v", i, series[i].Time, bt.Signals[i].Action, r.live[i].Action)
				}
				mismatches++
			}
		}
		if mismatches > 0 {
			t.Errorf("%d of %d candles disagree between backtest and live path", mismatches, len(series)-warmup+1)
		}
	})
}

func (r *run) checkDestroy(t *testing.T) {
	t.Run("destroy", func(t *testing.T) {
		if err := r.c.DestroyInstance(r.ctx, "conf-b"); err != nil {
			t.Fatalf("DestroyInstance: %v", err)
		}
		if err := r.c.DestroyInstance(r.ctx, "conf-b"); err != nil {
			t.Errorf("destroying twice must succeed, got %v", err)
		}
		if _, err := r.c.OnCandle(r.ctx, "conf-b", r.series[:r.warmup]); !errors.Is(err, strategy.ErrUnknownInstance) {
			t.Errorf("after destroy: err = %v, want strategy.ErrUnknownInstance", err)
		}
	})
}
