package iqoption_test

import (
	"testing"
	"time"

	"github.com/stc-trading/stc/plugins/broker/iqoption/iqfake"
	"github.com/stc-trading/stc/sdk/broker/brokertest"
)

// conformanceOptions are the kit's options against fk (a scaled clock, so
// the test order settles within the test).
func conformanceOptions(fk *iqfake.Server) brokertest.Options {
	return brokertest.Options{
		Credentials:    creds(),
		BadCredentials: map[string]string{"identifier": testUser, "password": "wrong"},
		Symbol:         "EURUSD-OTC",
		SettleTimeout:  60 * time.Second,
		Now:            fk.Now,
	}
}

// The adapter passes the broker kit in-process (race detector on the
// adapter) against the fake.
func TestConformanceInProcess(t *testing.T) {
	fk, _ := startFake(t, iqfake.Config{Scale: 30, Seed: 3})
	brokertest.Conformance(t, adapter(t, fk).Factory(), conformanceOptions(fk))
}
