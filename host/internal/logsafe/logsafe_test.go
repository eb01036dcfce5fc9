package logsafe_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/logsafe"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"/api/v2/bots/1":         "/api/v2/bots/1",
		"a b\\n":                 "a b\\n",
		"ünïcode €":              "ünïcode €",
		"1\n2026 [ERROR] stc: x": `1\n2026 [ERROR] stc: x`,
		"cr\rlf\r\n":             `cr\rlf\r\n`,
		"nul\x00del\x7f":         `nul\u0000del\u007f`,
		"bad\xffutf8":            `bad\xffutf8`,
		"rtl\u202eevil":          `rtl\u202eevil`,
		"zero\u200bwidth\ufeff":  `zero\u200bwidth\ufeff`,
		"line\u2028para\u2029":   `line\u2028para\u2029`,
		"c1\u0085next":           `c1\u0085next`,
		"tag\U000e0001":          `tag\U000e0001`,
		"tab\there":              `tab\there`,
	} {
		assert.Equal(t, want, logsafe.Escape(in), "%q", in)
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

// A client-controlled value cannot start a line of its own: whatever the
// argument's type, the whole event stays on one line.
func TestWrappedLoggerKeepsEachEventOnOneLine(t *testing.T) {
	var buf bytes.Buffer
	base := hclog.New(&hclog.LoggerOptions{Name: "stc", Output: &buf, Level: hclog.Trace})
	log := logsafe.Wrap(base)
	assert.Same(t, log, logsafe.Wrap(log), "wrapping twice is harmless")
	forged := "1\n2026-12-07T12:00:00.000Z [ERROR] stc: FORGED"
	log.Info("request", "path", forged)
	log.Named("http").With("remote", forged).Warn("x", "err", errors.New(forged), "s", stringer(forged), "slice", []string{forged})
	log.Error(forged)
	log.Log(hclog.Debug, "m", "v", hclog.Fmt("%s", forged))
	log.StandardLogger(nil).Print(forged)
	out := buf.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 5, out)
	for _, l := range lines {
		assert.True(t, strings.HasPrefix(l, "20"), "every line is an event of its own: %q", l)
		assert.NotContains(t, l, "\n2026")
		assert.Contains(t, l, `1\n2026-12-07T12:00:00.000Z [ERROR] stc: FORGED`)
	}
	// Safe values print exactly as before.
	buf.Reset()
	log.Info("request", "path", "/api/v2/bots/1", "status", 404)
	assert.Contains(t, buf.String(), "path=/api/v2/bots/1 status=404")
}
