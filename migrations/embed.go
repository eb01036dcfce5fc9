// Package migrations holds STC's database schema as SQL files, one set per
// dialect, embedded into the binary so `stc serve` and `stc migrate` need no
// files on disk. The files use goose's annotations (-- +goose Up / Down).
//
// Rules for new files: never edit an applied migration, add the next
// NNNN_name.sql in both postgres/ and sqlite/ with the same number so the two
// stores stay at the same version, and keep the Down section the exact
// inverse of Up (the store tests run up, down, up on both dialects).
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
)

// files is read-only: embed.FS cannot be modified after build, so this is
// not mutable package state.
//
//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Dialects the schema exists for; the names match store.Dialect().
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// FS returns the migration files of dialect ("postgres" or "sqlite") with
// the NNNN_name.sql files at its root, as goose expects.
func FS(dialect string) (fs.FS, error) {
	switch dialect {
	case Postgres, SQLite:
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q (want %q or %q)", dialect, Postgres, SQLite)
	}
	sub, err := fs.Sub(files, dialect)
	if err != nil {
		return nil, fmt.Errorf("migrations: %s: %w", dialect, err)
	}
	return sub, nil
}
