// Command stc-strategy-emacross serves the EMA-cross example strategy as an
// STC plugin. The host starts it; never print to stdout here.
package main

import (
	emacross "github.com/stc-trading/stc/examples/strategy-emacross"
	"github.com/stc-trading/stc/sdk/plugin"
)

func main() {
	plugin.ServeStrategy(emacross.New)
}
