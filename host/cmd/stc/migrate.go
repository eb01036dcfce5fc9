package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/stc-trading/stc/host/internal/store"
)

// migrateCmd runs `stc migrate up|down [N]|status` against the configured
// store (STC_DATABASE_URL, or the embedded store in STC_DATA_DIR).
func migrateCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	dbURL := fs.String("database-url", os.Getenv("STC_DATABASE_URL"), "postgres:// URL; empty = embedded store")
	dataDir := fs.String("data-dir", envOr("STC_DATA_DIR", "./data"), "data directory of the embedded store")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("usage: stc migrate up | down [steps] | status")
	}
	s, err := store.Open(ctx, *dbURL, *dataDir, newLogger("warn"), store.WithoutMigrations())
	if err != nil {
		return err
	}
	defer func() { _ = s.Close() }()
	switch fs.Arg(0) {
	case "up":
		res, err := s.MigrateUp(ctx)
		for _, r := range res {
			fmt.Printf("applied %s (%s)\n", r.Name, r.Duration)
		}
		if err == nil && len(res) == 0 {
			fmt.Println("already up to date")
		}
		return err
	case "down":
		steps := 1
		if fs.NArg() > 1 {
			if steps, err = strconv.Atoi(fs.Arg(1)); err != nil || steps < 1 {
				return fmt.Errorf("down: steps must be a positive integer, got %q", fs.Arg(1))
			}
		}
		res, err := s.MigrateDown(ctx, steps)
		for _, r := range res {
			fmt.Printf("rolled back %s (%s)\n", r.Name, r.Duration)
		}
		return err
	case "status":
		st, err := s.MigrateStatus(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "VERSION\tNAME\tAPPLIED")
		for _, m := range st {
			applied := "pending"
			if m.Applied {
				applied = m.AppliedAt.UTC().Format("2006-01-02 15:04:05")
			}
			fmt.Fprintf(w, "%d\t%s\t%s\n", m.Version, m.Name, applied)
		}
		return w.Flush()
	}
	return fmt.Errorf("unknown migrate command %q (want up, down or status)", fs.Arg(0))
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
