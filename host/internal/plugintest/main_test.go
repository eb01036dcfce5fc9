package plugintest

import (
	"os"
	"testing"
)

// Import paths of the test strategies, two so that a test sees two
// plugins side by side.
const (
	probeA = "github.com/stc-trading/stc/host/internal/plugintest/testdata/stc-strategy-probea"
	probeB = "github.com/stc-trading/stc/host/internal/plugintest/testdata/stc-strategy-probeb"
)

// pluginDir holds probea and probeb and their SHA256SUMS. TestMain
// writes it before any test runs; tests only read it.
var pluginDir string

func TestMain(m *testing.M) {
	os.Exit(Main(m, &pluginDir, probeA, probeB))
}
