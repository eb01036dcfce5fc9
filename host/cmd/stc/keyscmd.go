package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/stc-trading/stc/host/internal/accounts"
	"github.com/stc-trading/stc/host/internal/app"
	"github.com/stc-trading/stc/host/internal/config"
	"github.com/stc-trading/stc/host/internal/secrets"
	"github.com/stc-trading/stc/host/internal/store"
)

// keysCmd runs `stc keys generate [--id ID]` and `stc keys rotate`.
//
// Rotation: put a new key first in STC_ENCRYPTION_KEY, keeping the old
// one after it ("new:…,old:…"), run `stc keys rotate` to re-wrap every
// stored credential with the new key, then drop the old key.
func keysCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: stc keys generate [--id ID] | rotate")
	}
	switch args[0] {
	case "generate":
		fs := flag.NewFlagSet("keys generate", flag.ContinueOnError)
		id := fs.String("id", "k1", "key id, stored with every credential it seals")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		spec, err := secrets.GenerateKeySpec(*id)
		if err != nil {
			return err
		}
		fmt.Println(spec)
		return nil
	case "rotate":
		fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
		dbURL := fs.String("database-url", os.Getenv("STC_DATABASE_URL"), "postgres:// URL; empty = embedded store")
		dataDir := fs.String("data-dir", envOr("STC_DATA_DIR", "./data"), "data directory of the embedded store")
		dev := fs.Bool("dev", os.Getenv("STC_DEV") == "true", "use the development key of the data directory")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		log := newLogger("warn")
		keys, err := app.LoadKeyring(config.Config{EncryptionKey: os.Getenv("STC_ENCRYPTION_KEY"), Dev: *dev, DataDir: *dataDir}, log)
		if err != nil {
			return err
		}
		s, err := store.Open(ctx, *dbURL, *dataDir, log)
		if err != nil {
			return err
		}
		defer func() { _ = s.Close() }()
		n, err := accounts.NewManager(s, keys, nil, nil, log).RotateKeys(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("re-wrapped %d credentials with key %q\n", n, keys.ActiveKeyID())
		return nil
	}
	return fmt.Errorf("unknown keys command %q", args[0])
}
