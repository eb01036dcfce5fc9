package billing_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/stc-trading/stc/host/internal/billing"
)

// CheckBroker is the one rule accounts and trading ask: the plan must list
// the broker, and real money needs live trading.
func TestCheckBroker(t *testing.T) {
	t.Parallel()
	practice := billing.Entitlements{PlanID: "practice", Brokers: []string{"paper"}}
	pro := billing.Entitlements{PlanID: "pro", Brokers: []string{billing.Wildcard}, LiveTrading: true}
	assert.NoError(t, practice.CheckBroker("paper", false))
	assert.ErrorContains(t, practice.CheckBroker("paper", true), "practice trading only")
	assert.ErrorContains(t, practice.CheckBroker("iqoption", false), "does not include the iqoption broker")
	assert.NoError(t, pro.CheckBroker("iqoption", true))
	assert.Error(t, pro.CheckBroker("", false), "no broker is never allowed")
}
