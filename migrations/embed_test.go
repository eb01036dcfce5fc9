package migrations_test

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/migrations"
)

var fileName = regexp.MustCompile(`^\d{4}_[a-z0-9_]+\.sql$`)

// Both dialects must hold the same numbered files, each with an Up and a
// Down section, so the two stores always sit at the same version.
func TestDialectsHaveTheSameMigrations(t *testing.T) {
	names := map[string][]string{}
	for _, d := range []string{migrations.Postgres, migrations.SQLite} {
		fsys, err := migrations.FS(d)
		require.NoError(t, err)
		entries, err := fs.ReadDir(fsys, ".")
		require.NoError(t, err)
		for _, e := range entries {
			assert.Regexp(t, fileName, e.Name(), "%s/%s", d, e.Name())
			body, err := fs.ReadFile(fsys, e.Name())
			require.NoError(t, err)
			assert.Contains(t, string(body), "-- +goose Up", "%s/%s", d, e.Name())
			assert.Contains(t, string(body), "-- +goose Down", "%s/%s", d, e.Name())
			names[d] = append(names[d], e.Name())
		}
	}
	require.NotEmpty(t, names[migrations.Postgres])
	assert.Equal(t, names[migrations.Postgres], names[migrations.SQLite])
}

func TestUnknownDialect(t *testing.T) {
	_, err := migrations.FS("mysql")
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "mysql"))
}
