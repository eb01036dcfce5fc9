package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/stc-trading/stc/host/internal/app"
	"github.com/stc-trading/stc/host/internal/auth"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/users"
)

// userCmd runs `stc user create --email E [--admin]`, reading the password
// from standard input (never from a flag, which ps would show). An
// existing email with --admin is promoted instead.
func userCmd(ctx context.Context, args []string, stdin io.Reader) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: stc user create --email EMAIL [--admin] < password")
	}
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	email := fs.String("email", "", "the user's email")
	admin := fs.Bool("admin", false, "give the user the admin role (promotes an existing user)")
	dbURL := fs.String("database-url", os.Getenv("STC_DATABASE_URL"), "postgres:// URL; empty = embedded store")
	dataDir := fs.String("data-dir", envOr("STC_DATA_DIR", "./data"), "data directory of the embedded store")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *email == "" {
		return errors.New("--email is required")
	}
	fmt.Fprintln(os.Stderr, "password (read from standard input, one line):")
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	s, err := store.Open(ctx, *dbURL, *dataDir, newLogger("warn"))
	if err != nil {
		return err
	}
	defer func() { _ = s.Close() }()
	hasher, err := app.NewHasher()
	if err != nil {
		return err
	}
	svc := users.NewService(s, hasher, auth.NewThrottle(auth.DefaultThrottleConfig()), users.Options{}, nil)
	role := users.RoleUser
	if *admin {
		role = users.RoleAdmin
	}
	u, err := svc.CreateUser(ctx, *email, password, role)
	if errors.Is(err, users.ErrEmailTaken) && *admin {
		if u, err = svc.SetRole(ctx, *email, role); err == nil {
			fmt.Printf("promoted user %d (%s) to admin\n", u.ID, u.Email)
		}
		return err
	}
	if err != nil {
		return err
	}
	fmt.Printf("created user %d (%s), role %s\n", u.ID, u.Email, u.Role)
	return nil
}
