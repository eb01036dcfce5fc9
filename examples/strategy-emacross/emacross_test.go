package emacross_test

import (
	"testing"

	emacross "github.com/stc-trading/stc/examples/strategy-emacross"
	"github.com/stc-trading/stc/sdk/strategy/strategytest"
)

func TestConformance(t *testing.T) { strategytest.Conformance(t, emacross.New, strategytest.Sine(500)) }
