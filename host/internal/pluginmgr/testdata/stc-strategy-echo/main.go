// Command stc-strategy-echo is pluginmgr's test strategy. Its "mode"
// parameter makes OnCandle misbehave on purpose: hang (ignore the deadline
// forever, like deadlocked author code), panic, or exit the process.
// STC_TEST_EXIT_AT_START=1 makes every launch die before the handshake,
// for the crash-loop breaker.
package main

import (
	"context"
	"os"

	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/schema"
	"github.com/stc-trading/stc/sdk/strategy"
)

type echo struct {
	period int
	mode   string
	marker string
}

func (e *echo) Metadata() strategy.Metadata {
	return strategy.Metadata{
		Name:        "echo",
		Version:     "1.0.0",
		Description: "test strategy: CALL on a rising candle, PUT on a falling one",
		Params: []strategy.Param{
			{Name: "period", Type: strategy.Int, Default: "3", Min: schema.Bound(1), Max: schema.Bound(1000)},
			{Name: "mode", Type: strategy.String, Default: "normal", Options: []string{"normal", "hang", "panic", "exit"}},
			{Name: "marker", Type: strategy.String, Description: "file hang mode creates once it hangs"},
		},
	}
}

func (e *echo) Configure(_ context.Context, req strategy.ConfigureRequest) (strategy.ConfigureResponse, error) {
	e.period = req.Params.Int("period")
	e.mode = req.Params.String("mode")
	e.marker = req.Params.String("marker")
	return strategy.ConfigureResponse{Warmup: e.period}, nil
}

func (e *echo) OnCandle(_ context.Context, req strategy.CandleRequest) (strategy.Signal, error) {
	switch e.mode {
	case "hang":
		if e.marker != "" {
			_ = os.WriteFile(e.marker, []byte("hanging"), 0o644)
		}
		<-make(chan struct{}) // deadlocked author code: ignores ctx
	case "panic":
		panic("echo told to panic")
	case "exit":
		os.Exit(7)
	}
	last, _ := req.Window.Last()
	switch {
	case last.Close > last.Open:
		return strategy.Call("up, window %d", len(req.Window)), nil
	case last.Close < last.Open:
		return strategy.Put("down, window %d", len(req.Window)), nil
	}
	return strategy.Hold(), nil
}

func main() {
	if os.Getenv("STC_TEST_EXIT_AT_START") == "1" {
		os.Exit(1)
	}
	plugin.ServeStrategy(func() strategy.Strategy { return &echo{} })
}
