package macd_test

import (
	"testing"

	"github.com/stc-trading/stc/plugins/strategy/macd"
	"github.com/stc-trading/stc/sdk/strategy/strategytest"
)

// TestConformance runs the SDK's conformance suite over the gRPC shim on
// real BTC candles: metadata, parameter checks, determinism, and the
// vectorized backtest agreeing with the live path. The live path costs two
// RPCs per candle, so it gets the first 1,500 candles (over 1,100 live
// decisions) to stay well inside the kit's time limit under -race;
// TestVectorizedMatchesOnCandle covers every candle in process.
func TestConformance(t *testing.T) {
	strategytest.Conformance(t, macd.New, load(t, "btcusdt_1h.csv")[:1500])
}

// TestGolden pins both rules' signals with default periods on the
// reference BTC and ETH data; STC_UPDATE_GOLDEN=1 rewrites the files after
// an intended change to a rule.
func TestGolden(t *testing.T) {
	for _, name := range []string{"btcusdt_1h", "ethusdt_1h"} {
		for _, rule := range []string{macd.RuleCrossover, macd.RuleZero} {
			t.Run(name+"/"+rule, func(t *testing.T) {
				golden := "testdata/" + name + "_macd_" + rule + ".golden"
				strategytest.Golden(t, macd.New, map[string]string{macd.ParamRule: rule}, load(t, name+".csv"), golden)
			})
		}
	}
}
