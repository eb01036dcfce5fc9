package pluginmgr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stc-trading/stc/host/internal/catalog"
)

// Errors of the manager. Every error it returns wraps at most one of them
// (plus the underlying cause), so callers branch with errors.Is.
var (
	// ErrChecksumMismatch: the binary differs from its SHA256SUMS line.
	ErrChecksumMismatch = errors.New("plugin binary checksum mismatch")
	// ErrPluginStdout: the plugin printed to stdout before the handshake.
	ErrPluginStdout = errors.New("plugin wrote to stdout")
	// ErrStartTimeout: the plugin did not complete the handshake in time.
	ErrStartTimeout = errors.New("plugin start timed out")
	// ErrPluginExited: the process serving the call is gone. The call may
	// or may not have taken effect; the manager never resends it.
	ErrPluginExited = errors.New("plugin process exited")
	// ErrPluginUnavailable: no process could serve the call, so it was
	// never sent: the crash-loop breaker is open, the plugin cannot start,
	// a restart outlasted the call's deadline, or the manager is closed.
	ErrPluginUnavailable = errors.New("plugin unavailable")
	// ErrUnknownPlugin: no catalog entry has that kind and name.
	ErrUnknownPlugin = errors.New("unknown plugin")
	// ErrClosed: the manager has been closed.
	ErrClosed = errors.New("plugin manager closed")
	// ErrMarketDataBusy: every market-data slot of the process stayed
	// taken until the call's deadline (Options.MarketDataConcurrency), so
	// the call was never sent.
	ErrMarketDataBusy = errors.New("plugin market-data calls busy")
)

// stdoutPrefix is how go-plugin reports a first stdout line that is not
// its handshake line (client.go Start).
const stdoutPrefix = "Unrecognized remote plugin message: "

// StdoutError is the ErrPluginStdout error; Line is what the plugin printed.
type StdoutError struct {
	File string
	Line string
}

// Error explains the rule, because the raw go-plugin message sends authors
// looking for a protocol bug instead of a stray fmt.Println.
func (e *StdoutError) Error() string {
	return fmt.Sprintf("plugin %s wrote to stdout before the go-plugin handshake: %q. "+
		"Plugins must never write to stdout: it is the handshake channel between host and plugin. "+
		"Log to stderr instead (plugin.Logger(ctx), or an hclog logger on os.Stderr)", e.File, e.Line)
}

// Unwrap makes errors.Is(err, ErrPluginStdout) true.
func (e *StdoutError) Unwrap() error { return ErrPluginStdout }

// startError turns go-plugin's start failures, which are mostly plain
// strings, into errors an operator can act on.
func startError(e catalog.Entry, startTimeout time.Duration, err error) error {
	if errors.Is(err, goplugin.ErrChecksumsDoNotMatch) {
		return fmt.Errorf("%w: %s (%s) does not match its %s line: the binary changed since the manifest was written; rebuild with `make build`",
			ErrChecksumMismatch, e.File, e.Path, catalog.ManifestName)
	}
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, stdoutPrefix):
		line, _, _ := strings.Cut(strings.TrimPrefix(msg, stdoutPrefix), "\n")
		if line != "" {
			return &StdoutError{File: e.File, Line: line}
		}
		// Nothing was printed: the process ended before the handshake.
		// go-plugin's diagnosis (architecture, permissions) follows in its
		// message; the caller logs that, the error stays one line.
		return fmt.Errorf("plugin %s exited before the go-plugin handshake without printing anything (does main call plugin.ServeStrategy or plugin.ServeBroker? see its stderr log)", e.File)
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		return fmt.Errorf("%w: %s did not complete the handshake within %s; keep main cheap (no network I/O before Serve) or raise StartTimeout",
			ErrStartTimeout, e.File, startTimeout)
	case strings.Contains(msg, "plugin exited before we could connect"):
		return fmt.Errorf("plugin %s exited before the go-plugin handshake (see its stderr log): %w", e.File, err)
	}
	return fmt.Errorf("start plugin %s: %w", e.File, err)
}

// permanent reports errors that a restart cannot fix: retrying only burns
// the restart budget and hides the real message behind "crash loop".
func permanent(err error) bool {
	return errors.Is(err, ErrChecksumMismatch) || errors.Is(err, ErrPluginStdout) ||
		errors.Is(err, catalog.ErrFingerprintMismatch)
}

// isTimeout reports a call that ran out of time. The SDK turns a
// DeadlineExceeded status into context.DeadlineExceeded.
func isTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded
}

// maybeTransport reports errors that a dying process produces before
// go-plugin notices the exit: the connection breaks first.
func maybeTransport(ctx context.Context, err error) bool {
	switch status.Code(err) {
	case codes.Unavailable:
		return true
	case codes.Canceled:
		return ctx.Err() == nil // cancelled by the transport, not by the caller
	}
	return false
}
