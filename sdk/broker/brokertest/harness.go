// Package brokertest is the test kit for broker integrators. Conformance
// runs an adapter over the real gRPC shim, in-process, and checks what the
// host relies on: sessions, instruments, paginated candles, streams,
// idempotent orders, settlement and error mapping.
//
//	func TestConformance(t *testing.T) {
//		brokertest.Conformance(t, myadapter.New, brokertest.Options{Credentials: ...})
//	}
//
// Against a real broker, gate the test on an environment variable and use
// a demo account; against a protocol-faithful fake server it runs always.
package brokertest

import (
	"testing"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
)

// Harness serves one adapter over an in-process gRPC connection and
// exposes the host's typed client.
type Harness struct {
	Client *plugin.BrokerClient
}

// New serves f and returns a harness that is torn down with t.
func New(t testing.TB, f broker.Factory) *Harness {
	t.Helper()
	client, server := goplugin.TestPluginGRPCConn(t, false, map[string]goplugin.Plugin{
		"broker": &plugin.BrokerPlugin{Factory: f},
	})
	// Server first: the other order races inside go-plugin v1.8.0.
	t.Cleanup(func() {
		server.Stop()
		_ = client.Close()
	})
	raw, err := client.Dispense("broker")
	if err != nil {
		t.Fatalf("brokertest: dispense: %v", err)
	}
	c, ok := raw.(*plugin.BrokerClient)
	if !ok {
		t.Fatalf("brokertest: dispensed %T, want *plugin.BrokerClient", raw)
	}
	return &Harness{Client: c}
}
