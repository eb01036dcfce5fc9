package httpapi_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stc-trading/stc/host/internal/catalog"
)

// pluginDir holds the paper broker plugin the tests connect accounts
// through and the RSI strategy their bots run; TestMain writes it before
// any test runs.
var pluginDir string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "httpapi-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	pluginDir = filepath.Join(tmp, "plugins")
	flags := []string{"build", "-ldflags=-s -w"}
	if raceEnabled {
		flags = append(flags, "-race")
	}
	flags = append(flags, "-o", pluginDir+string(filepath.Separator),
		"github.com/stc-trading/stc/plugins/broker/paper/cmd/stc-broker-paper",
		"github.com/stc-trading/stc/plugins/strategy/rsi/cmd/stc-strategy-rsi")
	if out, err := exec.Command("go", flags...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build paper plugin: %v\n%s", err, out)
		return 1
	}
	if err := catalog.WriteManifest(pluginDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
