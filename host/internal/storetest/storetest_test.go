package storetest_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/stc-trading/stc/host/internal/storetest"
)

// recorder is a testing.TB whose Skipf and Fatalf record the outcome and
// stop the goroutine, as the real ones do, without ending the outer test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func run(t *testing.T) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		storetest.NewSchema(r)
	}()
	<-done
	return r
}

// An unreachable server skips on a laptop and fails under CI=true.
func TestUnreachablePostgres(t *testing.T) {
	// Port 1 on loopback refuses at once.
	t.Setenv("STC_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")

	t.Setenv("CI", "")
	r := run(t)
	assert.Contains(t, r.skipped, "unreachable")
	assert.Empty(t, r.failed)

	t.Setenv("CI", "true")
	r = run(t)
	assert.Contains(t, r.failed, "CI=true")
	assert.Empty(t, r.skipped)
}

// Each schema is new, empty and dropped afterwards.
func TestNewSchemaIsDroppedOnCleanup(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		s := storetest.OpenPostgres(t)
		assert.Equal(t, "postgres", s.Dialect())
		var n int
		assert.NoError(t, s.DB().Get(&n, "SELECT count(*) FROM candles"))
		assert.NoError(t, s.DB().Get(&name, "SELECT current_schema()"))
	})
	if name == "" {
		t.Skip("PostgreSQL half skipped")
	}
	assert.Equal(t, "sqlite", storetest.OpenSQLite(t).Dialect())
	admin := storetest.OpenPostgres(t)
	var exists bool
	assert.NoError(t, admin.DB().Get(&exists, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", name))
	assert.False(t, exists, "schema %s left behind", name)
}
