package trading

import (
	"os"
	"testing"

	"github.com/stc-trading/stc/host/internal/plugintest"
)

// pluginDir holds the paper broker plugin and their SHA256SUMS. TestMain writes it before any
// test runs; tests only read it.
var pluginDir string

func TestMain(m *testing.M) {
	os.Exit(plugintest.Main(m, &pluginDir, plugintest.Paper))
}
