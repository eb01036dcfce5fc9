// Command stc-strategy-envprobe is pluginsettings' test strategy: it
// declares three settings, reads them with the SDK in main, and writes
// what it sees (its whole environment and the values it read) to
// environ.json in its data directory, so a test can check what the host
// passed.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/schema"
	"github.com/stc-trading/stc/sdk/strategy"
)

var settings = []plugin.Setting{
	{Name: "greeting", Type: schema.String, Default: "hello", Description: "a plain setting with a default"},
	{Name: "token", Type: schema.String, Required: true, Sensitive: true, Description: "a required secret"},
	{Name: "speed", Type: schema.Float, Default: "1", Max: schema.Bound(10), Description: "a bounded number"},
}

// Seen is what environ.json holds.
type Seen struct {
	Environ  []string          `json:"environ"`
	Settings map[string]string `json:"settings"`
}

type probe struct{}

func (probe) Metadata() strategy.Metadata {
	return strategy.Metadata{Name: "envprobe", Version: "1.0.0", Description: "test strategy: reports its environment"}
}

func (probe) Configure(context.Context, strategy.ConfigureRequest) (strategy.ConfigureResponse, error) {
	return strategy.ConfigureResponse{Warmup: 1}, nil
}

func (probe) OnCandle(context.Context, strategy.CandleRequest) (strategy.Signal, error) {
	return strategy.Hold(), nil
}

func main() {
	values, err := plugin.LoadSettings("envprobe", settings, os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stc-strategy-envprobe:", err)
		os.Exit(1)
	}
	seen, err := json.Marshal(Seen{Environ: os.Environ(), Settings: values.Map()})
	if err == nil {
		err = os.WriteFile(filepath.Join(os.Getenv(plugin.DataDirEnv), "environ.json"), seen, 0o600)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stc-strategy-envprobe:", err)
		os.Exit(1)
	}
	plugin.ServeStrategy(func() strategy.Strategy { return probe{} }, plugin.WithSettings(settings...))
}
