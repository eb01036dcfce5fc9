package bots_test

import (
	"os"
	"testing"

	"github.com/stc-trading/stc/host/internal/plugintest"
)

// pluginDir holds the rsi and macd strategy plugins and the paper broker and their SHA256SUMS. TestMain writes it before any
// test runs; tests only read it.
var pluginDir string

func TestMain(m *testing.M) {
	os.Exit(plugintest.Main(m, &pluginDir, plugintest.RSI, plugintest.MACD, plugintest.Paper))
}
