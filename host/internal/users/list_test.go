package users_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/host/internal/users"
)

// TestListUsers pages through every user, newest first, for the
// operator's user list.
func TestListUsers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		svc, _ := newService(t, s)
		for _, e := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			_, err := svc.Register(ctx, e, pw)
			require.NoError(t, err)
		}
		_, err := svc.CreateUser(ctx, "ops@example.com", pw, users.RoleAdmin)
		require.NoError(t, err)
		page, next, err := svc.ListUsers(ctx, 3, 0)
		require.NoError(t, err)
		require.Len(t, page, 3)
		assert.Equal(t, "ops@example.com", page[0].Email, "newest first")
		assert.Equal(t, users.RoleAdmin, page[0].Role)
		assert.Equal(t, "b@example.com", page[2].Email)
		require.NotZero(t, next)
		page, next, err = svc.ListUsers(ctx, 3, next)
		require.NoError(t, err)
		require.Len(t, page, 1)
		assert.Equal(t, "a@example.com", page[0].Email)
		assert.Zero(t, next, "the last page has no cursor")
	})
}
