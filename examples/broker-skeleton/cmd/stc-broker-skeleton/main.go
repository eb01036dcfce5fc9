// Command stc-broker-skeleton serves the skeleton example adapter as an
// STC broker plugin. Its one setting is STC_SKELETON_VENUE_URL; without
// it the plugin starts, answers GetInfo and refuses every venue call with
// broker.ErrUnavailable, so installing it never stops a host from
// starting. Never print to stdout here: it is the plugin handshake
// channel.
package main

import (
	"fmt"
	"os"

	skeleton "github.com/stc-trading/stc/examples/broker-skeleton"
	"github.com/stc-trading/stc/sdk/plugin"
)

func main() {
	cfg, err := skeleton.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stc-broker-skeleton:", err) // stderr: stdout is the handshake channel
		os.Exit(1)
	}
	plugin.ServeBroker(skeleton.New(cfg).Factory(), plugin.WithSettings(skeleton.Settings...))
}
