// Package plugintest builds real plugin binaries for tests that run plugin
// processes, the way `make build` does: into one directory with a
// SHA256SUMS manifest the catalog trusts. A test binary built with -race
// builds its plugins with -race too, which also reuses its compiled
// packages. Manager then runs them under a real plugin manager, closed
// when the test ends.
//
// pluginmgr's own tests cannot use Manager (this package imports
// pluginmgr), and pluginmgr must not import this package.
package plugintest

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/stc-trading/stc/host/internal/catalog"
)

// Import paths of the repository's plugin commands.
const (
	Paper    = "github.com/stc-trading/stc/plugins/broker/paper/cmd/stc-broker-paper"
	IQOption = "github.com/stc-trading/stc/plugins/broker/iqoption/cmd/stc-broker-iqoption"
	RSI      = "github.com/stc-trading/stc/plugins/strategy/rsi/cmd/stc-strategy-rsi"
	MACD     = "github.com/stc-trading/stc/plugins/strategy/macd/cmd/stc-strategy-macd"
)

// Build compiles pkgs (plugin main packages) into dir, in one go build so
// they share compile work, and writes the manifest.
func Build(dir string, pkgs ...string) error {
	args := []string{"build", "-ldflags=-s -w"}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "-o", dir+string(filepath.Separator))
	cmd := exec.Command("go", append(args, pkgs...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("plugintest: go build %v: %w\n%s", pkgs, err, out)
	}
	if err := catalog.WriteManifest(dir); err != nil {
		return fmt.Errorf("plugintest: %w", err)
	}
	return nil
}

// Main is a TestMain body: it builds pkgs into a fresh directory, stores
// its path in *dir, runs the tests, and when they pass fails the run if a
// goroutine outlived them (every test must stop its managers, services
// and stores). It returns the exit code for os.Exit.
func Main(m *testing.M, dir *string, pkgs ...string) int {
	return run(m, os.Stderr, dir, pkgs)
}

func run(m *testing.M, stderr io.Writer, dir *string, pkgs []string) int {
	tmp, err := os.MkdirTemp("", "stc-plugins-")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	*dir = filepath.Join(tmp, "plugins")
	if err := Build(*dir, pkgs...); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(stderr, "goroutine leak:", err)
			return 1
		}
	}
	return code
}
