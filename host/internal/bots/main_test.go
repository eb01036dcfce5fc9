package bots_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/stc-trading/stc/host/internal/catalog"
)

// pluginDir holds the rsi and macd strategy plugins, the paper broker and
// their SHA256SUMS. TestMain writes it before any test runs.
var pluginDir string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "bots-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	pluginDir = filepath.Join(tmp, "plugins")
	for name, pkg := range map[string]string{
		"stc-strategy-rsi":  "github.com/stc-trading/stc/plugins/strategy/rsi/cmd/stc-strategy-rsi",
		"stc-strategy-macd": "github.com/stc-trading/stc/plugins/strategy/macd/cmd/stc-strategy-macd",
		"stc-broker-paper":  "github.com/stc-trading/stc/plugins/broker/paper/cmd/stc-broker-paper",
	} {
		flags := []string{"build", "-ldflags=-s -w"}
		if raceEnabled {
			flags = append(flags, "-race")
		}
		flags = append(flags, "-o", filepath.Join(pluginDir, name), pkg)
		if out, err := exec.Command("go", flags...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", name, err, out)
			return 1
		}
	}
	if err := catalog.WriteManifest(pluginDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			return 1
		}
	}
	return code
}
