package paper_test

import (
	"testing"
	"time"

	"github.com/stc-trading/stc/plugins/broker/paper"
	"github.com/stc-trading/stc/sdk/broker/brokertest"
)

// The paper broker passes the broker kit over the real gRPC shim, with a
// fast clock so the test order settles within the test.
func TestConformance(t *testing.T) {
	m, err := paper.New(paper.Config{DataDir: t.TempDir(), TimeScale: 120})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	brokertest.Conformance(t, m.Factory(), brokertest.Options{
		Credentials:    map[string]string{"username": "conformance", "password": "correct horse"},
		BadCredentials: map[string]string{"username": "conformance", "password": "wrong"},
		Symbol:         "EURUSD-OTC",
		SettleTimeout:  30 * time.Second,
		Now:            m.Now,
	})
}
