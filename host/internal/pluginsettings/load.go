package pluginsettings

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/errgroup"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/sdk/plugin"
)

// fingerprintParallel bounds the plugins launched at once to read their
// declarations: launches are mostly waiting (exec, handshake), but the
// host may share a small machine.
const fingerprintParallel = 4

// fingerprintTimeout bounds one plugin's fingerprint, launch included.
const fingerprintTimeout = time.Minute

// Fingerprint launches every entry once through fp (catalog.Register:
// GetInfo, and the kind and name checked against the file name) and
// returns what each declares, in entry order. A plugin that fails has its
// Err set; the others are unaffected.
func Fingerprint(ctx context.Context, fp catalog.Fingerprinter, entries []catalog.Entry) []Declared {
	out := make([]Declared, len(entries))
	var g errgroup.Group
	g.SetLimit(fingerprintParallel)
	for i, e := range entries {
		out[i].Entry = e
		g.Go(func() error {
			if err := ctx.Err(); err != nil { // cancelled while waiting for a turn
				out[i].Err = err
				return nil
			}
			fctx, cancel := context.WithTimeout(ctx, fingerprintTimeout)
			defer cancel()
			p, err := catalog.Register(fctx, fp, e)
			out[i].Info, out[i].Err = p.Info, err
			return nil
		})
	}
	_ = g.Wait() // every failure is in its entry's Err
	return out
}

// Options configure Inspect and Load.
type Options struct {
	// DataDir is the host's data directory; each plugin's own is under it
	// (see DataDir).
	DataDir string
	// LogLevel is passed to every plugin as STC_PLUGIN_LOG_LEVEL.
	LogLevel string
	// SocketDir is where the fingerprint launches put their sockets
	// (pluginmgr.Options.SocketDir).
	SocketDir string
	// Sources are the operator's values.
	Sources Sources
	// Log receives the fingerprint launches' logs and, from Load, the
	// warnings. Nil discards them.
	Log hclog.Logger
}

// Inspect fingerprints every entry and resolves its settings. The
// fingerprint launches get the log level and a temporary data directory
// of their own, removed afterwards, and no setting at all: the host does
// not know yet which ones the plugin declares, and a plugin never sees a
// variable it did not declare, not even then. Inspect creates nothing
// under DataDir; only an unusable directory or socket directory is an
// error, every problem of a plugin is in the Resolution.
func Inspect(ctx context.Context, entries []catalog.Entry, opts Options) (*Resolution, error) {
	log := opts.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	root, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	tmp, err := os.MkdirTemp("", "stc-fingerprint-")
	if err != nil {
		return nil, fmt.Errorf("plugin fingerprint: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	for _, e := range entries {
		if err := os.MkdirAll(DataDir(tmp, e), 0o700); err != nil {
			return nil, fmt.Errorf("plugin fingerprint: %w", err)
		}
	}
	m, err := pluginmgr.New(entries, log.Named("fingerprint"), pluginmgr.Options{
		SocketDir: opts.SocketDir,
		Env: func(e catalog.Entry) map[string]string {
			return map[string]string{plugin.LogLevelEnv: opts.LogLevel, plugin.DataDirEnv: DataDir(tmp, e)}
		},
	})
	if err != nil {
		return nil, err
	}
	decls := Fingerprint(ctx, m, entries)
	// Fingerprint stops each process itself; Close removes the socket
	// directory and waits for anything left.
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := m.Close(closeCtx); err != nil {
		log.Warn("closing the fingerprint launches", "error", err)
	}
	return Resolve(decls, opts.Sources, root, opts.LogLevel), nil
}

// Load is Inspect for `stc serve`: it logs the warnings, fails on any
// error (a bad or missing setting stops the host at start, as a bad host
// setting does), and creates every plugin's data directory (mode 0700).
// Its Env is the plugin manager's.
func Load(ctx context.Context, entries []catalog.Entry, opts Options) (*Resolution, error) {
	r, err := Inspect(ctx, entries, opts)
	if err != nil {
		return nil, err
	}
	if opts.Log != nil {
		for _, w := range r.Warnings {
			opts.Log.Warn("plugin settings: " + w)
		}
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("plugin settings:\n%w", err)
	}
	var errs []error
	for _, e := range entries {
		if err := os.MkdirAll(DataDir(r.dataRoot, e), 0o700); err != nil {
			errs = append(errs, fmt.Errorf("%s data directory: %w", e.Key(), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}
