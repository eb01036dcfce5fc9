// Command stc-strategy-macd serves the MACD strategy (package macd) as an
// STC plugin. The host starts it; run by hand it only explains that.
package main

import (
	"github.com/stc-trading/stc/plugins/strategy/macd"
	"github.com/stc-trading/stc/sdk/plugin"
)

func main() {
	plugin.ServeStrategy(macd.New)
}
