package pluginsettings

import (
	"os"
	"testing"

	"github.com/stc-trading/stc/host/internal/plugintest"
)

// pluginDir holds the real plugins TestMain builds: the envprobe test
// strategy and the paper broker. Written before any test runs.
var pluginDir string

func TestMain(m *testing.M) {
	os.Exit(plugintest.Main(m, &pluginDir,
		"github.com/stc-trading/stc/host/internal/pluginsettings/testdata/stc-strategy-envprobe", plugintest.Paper))
}
