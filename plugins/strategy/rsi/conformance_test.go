package rsi_test

import (
	"testing"

	"github.com/stc-trading/stc/plugins/strategy/rsi"
	"github.com/stc-trading/stc/sdk/strategy/strategytest"
)

// TestConformance runs the SDK's conformance suite over the gRPC shim on
// real BTC candles: metadata, parameter checks, determinism, and the
// vectorized backtest agreeing with the live path. The live path costs two
// RPCs per candle, so it gets the first 1,500 candles (over 1,100 live
// decisions) to stay well inside the kit's time limit under -race;
// TestVectorizedMatchesOnCandle covers every candle in process.
func TestConformance(t *testing.T) {
	strategytest.Conformance(t, rsi.New, load(t, "btcusdt_1h.csv")[:1500])
}

// TestGolden pins the default configuration's signals on the reference
// BTC and ETH data; STC_UPDATE_GOLDEN=1 rewrites the files after an
// intended change to the rule.
func TestGolden(t *testing.T) {
	for _, name := range []string{"btcusdt_1h", "ethusdt_1h"} {
		t.Run(name, func(t *testing.T) {
			strategytest.Golden(t, rsi.New, nil, load(t, name+".csv"), "testdata/"+name+"_rsi14.golden")
		})
	}
}
