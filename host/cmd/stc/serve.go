package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/stc-trading/stc/host/internal/app"
	"github.com/stc-trading/stc/host/internal/config"
)

// serve runs `stc serve`: the host package app builds and runs, until
// SIGINT or SIGTERM.
func serve(ctx context.Context, args []string) error {
	cfg, err := config.Load(args, os.Getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	host, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	return host.Run(ctx)
}
