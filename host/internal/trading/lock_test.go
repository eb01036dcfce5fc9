package trading

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A user's lock excludes, a waiter gives up with its context, other users
// are independent, and nothing is left in the map afterwards.
func TestUserLocks(t *testing.T) {
	t.Parallel()
	k := userLocks{m: make(map[int64]*userLock)}
	unlock, err := k.lock(context.Background(), 1)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = k.lock(ctx, 1)
	require.ErrorIs(t, err, context.Canceled)
	other, err := k.lock(context.Background(), 2)
	require.NoError(t, err)
	other()
	unlock()
	again, err := k.lock(context.Background(), 1)
	require.NoError(t, err)
	again()
	assert.Empty(t, k.m)
}
