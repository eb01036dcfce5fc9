// Command stc-broker-paper is the paper (practice) broker plugin. The host
// passes its settings explicitly: STC_PAPER_DATA_DIR, STC_PAPER_TIME_SCALE,
// STC_PAPER_SEED, STC_PAPER_REQUIRE_2FA and STC_PAPER_2FA_CODE.
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
	plugin.ServeBroker(m.Factory())
}
