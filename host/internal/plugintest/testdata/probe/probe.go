// Package probe is plugintest's test strategy: before serving, it writes
// its whole environment to environ.json in its data directory, and to
// STC_PROBE_REPORT when that is set (for a test that does not know the
// data directory), so a test can check what the fixture passed.
package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/strategy"
)

type probe struct{ name string }

func (p probe) Metadata() strategy.Metadata {
	return strategy.Metadata{Name: p.name, Version: "1.0.0", Description: "test strategy: reports its environment"}
}

func (probe) Configure(context.Context, strategy.ConfigureRequest) (strategy.ConfigureResponse, error) {
	return strategy.ConfigureResponse{Warmup: 1}, nil
}

func (probe) OnCandle(context.Context, strategy.CandleRequest) (strategy.Signal, error) {
	return strategy.Hold(), nil
}

// Main records the environment and serves the strategy name.
func Main(name string) {
	raw, err := json.Marshal(os.Environ())
	if err == nil {
		err = os.WriteFile(filepath.Join(os.Getenv(plugin.DataDirEnv), "environ.json"), raw, 0o600)
	}
	if report := os.Getenv("STC_PROBE_REPORT"); report != "" && err == nil {
		err = os.WriteFile(report, raw, 0o600)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stc-strategy-"+name+":", err)
		os.Exit(1)
	}
	plugin.ServeStrategy(func() strategy.Strategy { return probe{name: name} })
}
