package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// AppRole is the PostgreSQL role the host's queries run as. It owns no
// table and is neither superuser nor BYPASSRLS, so the tenant tables'
// row-level security policies apply to it; migrations (owner) create it.
const AppRole = "stc_app"

// roleConnector opens lib/pq connections and switches each new one to
// role before the pool hands it out. The role lasts for the connection's
// life (SET, not SET LOCAL), and database/sql never reuses a connection
// across pools.
type roleConnector struct {
	base driver.Connector
	role string
}

func (c roleConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		_ = conn.Close()
		return nil, fmt.Errorf("store: postgres driver connection cannot execute statements")
	}
	if _, err := ex.ExecContext(ctx, "SET ROLE "+pq.QuoteIdentifier(c.role), nil); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("store: switch to role %s: %w", c.role, err)
	}
	return conn, nil
}

func (c roleConnector) Driver() driver.Driver { return c.base.Driver() }

// enterAppRole grants AppRole what the host needs on the current schema
// and moves the store's query pools to connections running as AppRole,
// keeping the owner pool for migrations. When the role is missing, or the
// login cannot switch to it, queries stay on the login role, and a login
// that bypasses row-level security (superuser, BYPASSRLS, table owner) is
// reported loudly: the application filters still scope every query, but
// the backstop is off.
func (s *Store) enterAppRole(ctx context.Context, url string, maxOpen int) error {
	var canSwitch, bypass bool
	const q = `SELECT
		EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AND pg_has_role(current_user, $1, 'MEMBER'),
		(SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user)
		  OR EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'broker_accounts' AND tableowner = current_user)`
	if err := s.owner.QueryRowContext(ctx, q, AppRole).Scan(&canSwitch, &bypass); err != nil {
		return fmt.Errorf("store: inspect roles: %w", err)
	}
	if !canSwitch {
		if bypass {
			s.log.Warn("ROW-LEVEL SECURITY IS NOT ENFORCED: the database login owns the tables or bypasses RLS and cannot switch to the application role; create it (see docs/CONFIG.md)", "role", AppRole)
		}
		return nil
	}
	s.appRole = true
	if err := s.grantAppRole(ctx); err != nil {
		return err
	}
	base, err := pq.NewConnector(url)
	if err != nil {
		return fmt.Errorf("store: postgres connector: %w", err)
	}
	app := sqlx.NewDb(sql.OpenDB(roleConnector{base: base, role: AppRole}), "postgres")
	app.SetMaxOpenConns(maxOpen)
	app.SetMaxIdleConns(maxOpen)
	app.SetConnMaxIdleTime(5 * time.Minute)
	if err := app.PingContext(ctx); err != nil {
		_ = app.Close()
		return fmt.Errorf("store: connect as %s: %w", AppRole, err)
	}
	s.db, s.rdb = app, app
	// The owner pool now only migrates and cancels; let it hold nothing
	// while idle.
	s.owner.SetMaxIdleConns(0)
	return nil
}

// grantAppRole gives AppRole what the host needs on every table and
// sequence of the schema; MigrateUp runs it again so new tables are covered.
// Concurrent GRANTs on one schema fail with "tuple concurrently updated",
// so hosts starting together take turns on an advisory lock.
func (s *Store) grantAppRole(ctx context.Context) error {
	schema := pq.QuoteIdentifier(s.lockSpace)
	role := pq.QuoteIdentifier(AppRole)
	tx, err := s.owner.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: grant the application role: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, stmt := range []string{
		fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", lockID(s.lockSpace, "grant")),
		"GRANT USAGE ON SCHEMA " + schema + " TO " + role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + schema + " TO " + role,
		"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA " + schema + " TO " + role,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("store: grant the application role: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: grant the application role: %w", err)
	}
	return nil
}
