package pluginmgr

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/stc-trading/stc/host/internal/catalog"
)

// bins holds the binaries TestMain builds once for the whole package; it
// is written before any test runs and only read afterwards.
var bins struct {
	pluginDir string // stc-* plugins and their SHA256SUMS
	host      string // testdata/host, for the orphan test
}

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "pluginmgr-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	bins.pluginDir = filepath.Join(tmp, "plugins")
	bins.host = filepath.Join(tmp, "host", "stc-test-host")
	// Two builds in parallel: one go build for the three plugins shares
	// the compile work; the host links separately.
	builds := [][]string{
		{"-o", bins.pluginDir + string(filepath.Separator), "./testdata/stc-strategy-echo", "./testdata/stc-broker-mock", "./testdata/stc-strategy-stdout"},
		{"-o", bins.host, "./testdata/host"},
	}
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, args := range builds {
		wg.Go(func() {
			flags := []string{"build", "-ldflags=-s -w"}
			if raceEnabled {
				flags = append(flags, "-race")
			}
			cmd := exec.Command("go", append(flags, args...)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("go build %v: %w\n%s", args, err, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if err := catalog.WriteManifest(bins.pluginDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if code == 0 {
		// Every test closes its manager; nothing may outlive them.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			return 1
		}
	}
	return code
}
