// Command stc is the STC host: one binary for serving the API and running
// plugins, and for operator tasks.
//
//	stc serve      start the host (HTTP API, plugin supervisor)
//	stc plugins    list the plugins in the plugin directory and fingerprint them
//	stc migrate    apply, roll back or list database migrations
//	stc candles    backfill candles from a broker, or import a CSV file
//	stc user       create users (the first admin)
//	stc keys       generate and rotate the credential encryption key
//	stc version    print the version
package main

import (
	"context"
	"fmt"
	"os"
)

// version is set by the build (-ldflags -X main.version=…).
var version = "dev"

func main() {
	os.Exit(run(context.Background(), os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		usage()
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:])
	case "plugins":
		err = listPlugins(ctx, args[1:])
	case "migrate":
		err = migrateCmd(ctx, args[1:])
	case "candles":
		err = candlesCmd(ctx, args[1:])
	case "user":
		err = userCmd(ctx, args[1:], os.Stdin)
	case "keys":
		err = keysCmd(ctx, args[1:])
	case "version", "-version", "--version":
		fmt.Println("stc", version)
	case "help", "-h", "--help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "stc: unknown command %q\n\n", args[0])
		usage()
		return 2
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stc:", err)
		return 1
	}
	return 0
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: stc <command> [flags]

commands:
  serve     start the host: HTTP API and plugin supervisor
  plugins   list and fingerprint the plugins in the plugin directory
  migrate   up | down [N] | status: database migrations
  candles   backfill --broker B --symbol S --timeframe TF --from DATE [--to DATE]
            import --broker B --symbol S --timeframe TF FILE.csv
  user      create --email E [--admin] < password: add a user (or promote one)
  keys      generate [--id ID]: print a new STC_ENCRYPTION_KEY
            rotate: re-wrap stored credentials with the active key
  version   print the version

Run 'stc serve -h' for the settings; docs/CONFIG.md describes them all.
`)
}
