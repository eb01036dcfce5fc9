package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/host/internal/config"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
)

// listPlugins launches each trusted plugin once and prints its
// fingerprint, and lists the binaries that are not trusted and why.
func listPlugins(ctx context.Context, args []string) error {
	cfg, err := config.Load(args, os.Getenv)
	if err != nil {
		return err
	}
	found, err := catalog.Discover(cfg.PluginDir)
	if err != nil {
		return err
	}
	log := newLogger("warn")
	m, err := pluginmgr.New(found.Entries, log, pluginmgr.Options{})
	if err != nil {
		return err
	}
	defer func() { _ = m.Close(context.Background()) }()
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KIND\tNAME\tVERSION\tPROTOCOL\tMULTIPLEX\tSTATUS")
	for _, e := range found.Entries {
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		info, err := m.Fingerprint(fctx, e)
		cancel()
		if err != nil {
			fmt.Fprintf(w, "%s\t%s\t-\t-\t-\terror: %v\n", e.Kind, e.Name, err)
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t1.%d\t%v\tok\n", e.Kind, e.Name, info.Version, info.ProtocolMinor, info.Multiplexing)
	}
	for _, p := range found.Problems {
		fmt.Fprintf(w, "-\t%s\t-\t-\t-\tnot trusted: %v\n", p.File, p.Err)
	}
	return w.Flush()
}
