package app

import (
	"io"

	"github.com/hashicorp/go-hclog"

	"github.com/stc-trading/stc/host/internal/logsafe"
)

// NewLogger is the host's logger, writing to w at level. Every value
// logged through it is escaped (logsafe): request paths, symbols, e-mail
// addresses and broker messages come from clients, and none may start a
// log line of its own.
func NewLogger(level string, w io.Writer) hclog.Logger {
	return logsafe.Wrap(hclog.New(&hclog.LoggerOptions{Name: "stc", Level: hclog.LevelFromString(level), Output: w}))
}
