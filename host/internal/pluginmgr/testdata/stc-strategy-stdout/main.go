// Command stc-strategy-stdout breaks the plugin rules on purpose: it
// prints to stdout before the go-plugin handshake.
package main

import (
	"context"
	"fmt"

	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/strategy"
)

func init() {
	fmt.Println("hello from init")
}

type hold struct{}

func (hold) Metadata() strategy.Metadata {
	return strategy.Metadata{Name: "stdout", Version: "1.0.0"}
}

func (hold) Configure(context.Context, strategy.ConfigureRequest) (strategy.ConfigureResponse, error) {
	return strategy.ConfigureResponse{Warmup: 1}, nil
}

func (hold) OnCandle(context.Context, strategy.CandleRequest) (strategy.Signal, error) {
	return strategy.Hold(), nil
}

func main() { plugin.ServeStrategy(func() strategy.Strategy { return hold{} }) }
