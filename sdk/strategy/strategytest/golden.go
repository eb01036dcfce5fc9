package strategytest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/strategy"
)

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
