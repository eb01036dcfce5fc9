// Command stc-broker-iqoption is the IQ Option broker plugin. It declares
// its settings (iqoption.Settings: STC_IQOPTION_AUTH_URL,
// STC_IQOPTION_VERIFY_URL, STC_IQOPTION_WS_URL,
// STC_IQOPTION_REQUEST_TIMEOUT, STC_IQOPTION_DIAL_TIMEOUT,
// STC_IQOPTION_TIMESYNC_TIMEOUT, STC_IQOPTION_CATALOG_TTL and
// STC_IQOPTION_HEARTBEAT_REPLY), which the host passes when the operator
// sets them, and journals orders in the host's STC_PLUGIN_DATA_DIR.
package main

import (
	"fmt"
	"os"

	"github.com/stc-trading/stc/plugins/broker/iqoption"
	"github.com/stc-trading/stc/sdk/plugin"
)

func main() {
	cfg, err := iqoption.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stc-broker-iqoption:", err) // stderr: stdout is the plugin handshake channel
		os.Exit(1)
	}
	a, err := iqoption.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stc-broker-iqoption:", err)
		os.Exit(1)
	}
	plugin.ServeBroker(a.Factory(), plugin.WithSettings(iqoption.Settings...))
}
