// Command host is a minimal STC host for pluginmgr's orphan test: it
// starts strategy "echo" from the plugin directory given as its argument,
// prints "PID <plugin pid>" to stdout and blocks until it is killed.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/stc-trading/stc/host/internal/catalog"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "host:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := catalog.Discover(os.Args[1])
	if err != nil {
		return err
	}
	m, err := pluginmgr.New(res.Entries, nil, pluginmgr.Options{})
	if err != nil {
		return err
	}
	defer m.Close(context.Background())
	if _, err := m.Strategy(ctx, "echo"); err != nil {
		return err
	}
	for _, st := range m.Status() {
		fmt.Printf("PID %d\n", st.PID)
	}
	<-ctx.Done()
	return nil
}
