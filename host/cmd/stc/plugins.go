package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/host/internal/config"
	"github.com/stc-trading/stc/host/internal/pluginsettings"
	"github.com/stc-trading/stc/sdk/plugin"
)

// listPlugins launches each trusted plugin once and prints its
// fingerprint and the settings it declares with their current values
// (secrets masked), lists the binaries that are not trusted and why, and
// fails when the settings would stop `stc serve`.
func listPlugins(ctx context.Context, args []string) error {
	cfg, err := config.Load(args, os.Getenv)
	if err != nil {
		return err
	}
	found, err := catalog.Discover(cfg.PluginDir)
	if err != nil {
		return err
	}
	res, err := pluginsettings.Inspect(ctx, found.Entries, pluginsettings.Options{
		DataDir: cfg.DataDir, LogLevel: "warn", Log: newLogger("warn"),
		Sources: pluginsettings.Sources{Environ: os.Environ(), File: cfg.PluginSettings},
	})
	if err != nil {
		return err
	}
	if err := printPlugins(os.Stdout, res, found.Problems); err != nil {
		return err
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("`stc serve` would refuse these plugin settings:\n%w", err)
	}
	return nil
}

// printPlugins writes the plugin table, the settings table and the
// warnings.
func printPlugins(out io.Writer, res *pluginsettings.Resolution, untrusted []catalog.Problem) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KIND\tNAME\tVERSION\tPROTOCOL\tMULTIPLEX\tSTATUS")
	for _, p := range res.Plugins {
		if p.Err != nil {
			fmt.Fprintf(w, "%s\t%s\t-\t-\t-\terror: %v\n", p.Entry.Kind, p.Entry.Name, p.Err)
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t1.%d\t%v\tok\n", p.Entry.Kind, p.Entry.Name, p.Info.Version, p.Info.ProtocolMinor, p.Info.Multiplexing)
	}
	for _, p := range untrusted {
		fmt.Fprintf(w, "-\t%s\t-\t-\t-\tnot trusted: %v\n", p.File, p.Err)
	}
	if err := w.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(out)
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PLUGIN\tSETTING\tVALUE\tSOURCE\tDESCRIPTION")
	for _, p := range res.Plugins {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Entry.Key(), plugin.DataDirEnv, res.DataDir(p.Entry), "host", "the plugin's own data directory")
		for _, v := range p.Values {
			desc := v.Setting.Description
			if v.Setting.Required {
				desc = "(required) " + desc
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Entry.Key(), v.Var, v.Display(), v.Source, desc)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, warning := range res.Warnings {
		fmt.Fprintln(out, "warning:", warning)
	}
	return nil
}
