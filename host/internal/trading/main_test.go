package trading

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/stc-trading/stc/host/internal/catalog"
)

// pluginDir holds the paper broker plugin and its SHA256SUMS. TestMain
// writes it before any test runs; tests only read it.
var pluginDir string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "trading-test-")
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
	flags = append(flags, "-o", filepath.Join(pluginDir, "stc-broker-paper"),
		"github.com/stc-trading/stc/plugins/broker/paper/cmd/stc-broker-paper")
	if out, err := exec.Command("go", flags...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build paper plugin: %v\n%s", err, out)
		return 1
	}
	if err := catalog.WriteManifest(pluginDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if code == 0 {
		// Every test stops its service, managers and stores; nothing may
		// outlive them.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			return 1
		}
	}
	return code
}
