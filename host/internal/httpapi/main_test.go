package httpapi_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/plugintest"
)

// pluginDir holds the paper broker the tests connect accounts through, the IQ Option broker (which the free plan does not include), the RSI strategy their bots run and their SHA256SUMS. TestMain writes it before any
// test runs; tests only read it.
var pluginDir string

func TestMain(m *testing.M) {
	code := plugintest.Main(m, &pluginDir, plugintest.Paper, plugintest.IQOption, plugintest.RSI)
	if testing.Verbose() {
		fmt.Print(httpapi.OpenAPIReport())
	}
	os.Exit(code)
}
