package main

import (
	"os"

	"github.com/hashicorp/go-hclog"

	"github.com/stc-trading/stc/host/internal/app"
)

// newLogger is the operator commands' logger: the host's, on standard
// error.
func newLogger(level string) hclog.Logger { return app.NewLogger(level, os.Stderr) }
