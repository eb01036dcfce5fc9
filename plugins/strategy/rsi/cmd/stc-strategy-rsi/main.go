// Command stc-strategy-rsi serves the RSI strategy (package rsi) as an STC
// plugin. The host starts it; run by hand it only explains that.
package main

import (
	"github.com/stc-trading/stc/plugins/strategy/rsi"
	"github.com/stc-trading/stc/sdk/plugin"
)

func main() {
	plugin.ServeStrategy(rsi.New)
}
