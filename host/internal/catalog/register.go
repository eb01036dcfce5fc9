package catalog

import (
	"context"
	"errors"
	"fmt"

	"github.com/stc-trading/stc/sdk/plugin"
)

// ErrFingerprintMismatch is returned when a binary reports a kind or name
// other than its file name promises. The file name is what operators and
// subscriptions refer to, so a binary that disagrees is refused rather
// than trusted under a name it does not answer to.
var ErrFingerprintMismatch = errors.New("plugin fingerprint does not match its file name")

// Fingerprinter launches a plugin once and returns its GetInfo answer.
// pluginmgr.Manager implements it; catalog cannot import pluginmgr, which
// already depends on this package.
type Fingerprinter interface {
	Fingerprint(ctx context.Context, e Entry) (plugin.Info, error)
}

// Plugin is a registered plugin: the trusted binary and its fingerprint
// (version, fields schema, capabilities, multiplexing).
type Plugin struct {
	Entry
	Info plugin.Info
}

// Register fingerprints e with fp and checks that the binary is what its
// file name says it is.
func Register(ctx context.Context, fp Fingerprinter, e Entry) (Plugin, error) {
	info, err := fp.Fingerprint(ctx, e)
	if err != nil {
		return Plugin{}, fmt.Errorf("fingerprint %s: %w", e.File, err)
	}
	if err := CheckInfo(e, info); err != nil {
		return Plugin{}, err
	}
	return Plugin{Entry: e, Info: info}, nil
}

// CheckInfo reports ErrFingerprintMismatch when info's kind or name differ
// from e's, or when info has no version.
func CheckInfo(e Entry, info plugin.Info) error {
	switch {
	case info.Kind != e.Kind:
		return fmt.Errorf("%w: %s reports kind %s, its file name says %s", ErrFingerprintMismatch, e.File, info.Kind, e.Kind)
	case info.Name != e.Name:
		return fmt.Errorf("%w: %s reports name %q, its file name says %q", ErrFingerprintMismatch, e.File, info.Name, e.Name)
	case info.Version == "":
		return fmt.Errorf("%w: %s reports no version", ErrFingerprintMismatch, e.File)
	}
	return nil
}
