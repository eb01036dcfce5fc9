// Command stc-broker-paper is the paper (practice) broker plugin. It
// declares its settings (paper.Settings: STC_PAPER_TIME_SCALE,
// STC_PAPER_SEED, STC_PAPER_REQUIRE_2FA, STC_PAPER_2FA_CODE), which the
// host passes when the operator sets them, and keeps its accounts in the
// host's STC_PLUGIN_DATA_DIR.
package main

import (
	"fmt"
	"os"

	"github.com/stc-trading/stc/plugins/broker/paper"
	"github.com/stc-trading/stc/sdk/plugin"
)

func main() {
	cfg, err := paper.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stc-broker-paper:", err) // stderr: stdout is the plugin handshake channel
		os.Exit(1)
	}
	m, err := paper.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stc-broker-paper:", err)
		os.Exit(1)
	}
	defer func() { _ = m.Close() }()
	plugin.ServeBroker(m.Factory(), plugin.WithSettings(paper.Settings...))
}
