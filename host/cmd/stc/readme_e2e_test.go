package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// walkthrough returns the README's curl walk-through: the sh block after
// the walkthrough marker.
func walkthrough(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("../../../README.md")
	require.NoError(t, err)
	_, after, ok := strings.Cut(string(readme), "<!-- walkthrough:")
	require.True(t, ok, "README.md lost its walkthrough marker")
	_, block, ok := strings.Cut(after, "```sh\n")
	require.True(t, ok)
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok)
	return block
}

// TestReadmeWalkthrough runs the README's five-minute walk-through, as a
// newcomer would paste it, against the real host (paper time 60× faster so
// the test takes seconds, not minutes), and checks it ends with a settled
// manual trade and a settled bot trade.
func TestReadmeWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("the README walk-through needs %s", tool)
			}
			t.Skipf("the README walk-through needs %s", tool)
		}
	}
	bin, pluginDir := buildBinaries(t)
	data, err := os.MkdirTemp("", "stcrd") //nolint:usetesting // t.TempDir paths are too long for the plugin sockets under it
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(data) })
	addr := freeAddr(t)
	h := startHost(t, bin, hostEnv(addr, data, pluginDir, "", "STC_PAPER_TIME_SCALE=60"))

	script := strings.ReplaceAll(walkthrough(t), "localhost:8080", addr)
	cmd := exec.Command("bash", "-euxo", "pipefail", "-c", script+"\necho\necho \"TOKEN=$TOKEN\"\n")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the walk-through failed:\n%s", out)
	m := regexp.MustCompile(`TOKEN=(stc_s_\S+)`).FindStringSubmatch(string(out))
	require.NotNil(t, m, "the walk-through did not sign up:\n%s", out)
	token := m[1]
	require.Contains(t, string(out), `"status":"running"`, "the bot started:\n%s", out)

	waitFor(t, h, "a settled manual trade and a settled bot trade", 2*time.Minute, func() bool {
		var manual, bot bool
		for _, tr := range allTrades(t, h, token) {
			if tr["status"] == "won" || tr["status"] == "lost" || tr["status"] == "draw" {
				if tr["bot_id"] == nil {
					manual = true
				} else {
					bot = true
				}
			}
		}
		return manual && bot
	})
}
