// Package strategytest is the test kit for strategy authors. One line runs
// the whole conformance suite over the real gRPC shim, in-process:
//
//	func TestConformance(t *testing.T) { strategytest.Conformance(t, mystrategy.New, strategytest.Sine(500)) }
//
// Golden compares a backtest's signals with a file; LoadCSV and Sine give
// input series.
package strategytest

import (
	"testing"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/strategy"
)

// Harness serves one strategy over an in-process gRPC connection and
// exposes the host's typed client, so tests exercise the same conversions
// and error mapping as a real plugin process.
type Harness struct {
	Client *plugin.StrategyClient
}

// New serves f and returns a harness that is torn down with t.
func New(t testing.TB, f strategy.Factory) *Harness {
	t.Helper()
	client, server := goplugin.TestPluginGRPCConn(t, false, map[string]goplugin.Plugin{
		"strategy": &plugin.StrategyPlugin{Factory: f},
	})
	// Stop the server before closing the client: the other order races
	// inside go-plugin v1.8.0's GRPCServer.Stop under -race.
	t.Cleanup(func() {
		server.Stop()
		_ = client.Close()
	})
	raw, err := client.Dispense("strategy")
	if err != nil {
		t.Fatalf("strategytest: dispense: %v", err)
	}
	c, ok := raw.(*plugin.StrategyClient)
	if !ok {
		t.Fatalf("strategytest: dispensed %T, want *plugin.StrategyClient", raw)
	}
	return &Harness{Client: c}
}
