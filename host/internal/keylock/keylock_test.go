package keylock_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/keylock"
)

func TestLock(t *testing.T) {
	t.Parallel()
	var k keylock.Map
	ctx := context.Background()
	unlock1, err := k.Lock(ctx, 1)
	require.NoError(t, err)
	unlock2, err := k.Lock(ctx, 2)
	require.NoError(t, err, "another key is not blocked")
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = k.Lock(short, 1)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "a held key waits until the context ends")
	unlock1()
	unlock2()
	unlock1, err = k.Lock(ctx, 1)
	require.NoError(t, err)
	unlock1()
	assert.Zero(t, k.Len(), "idle locks are dropped")
}

// Holders of one key never overlap.
func TestLockExcludes(t *testing.T) {
	t.Parallel()
	var (
		k      keylock.Map
		wg     sync.WaitGroup
		inside int
		most   int
		mu     sync.Mutex
	)
	for range 50 {
		wg.Go(func() {
			unlock, err := k.Lock(context.Background(), 7)
			if !assert.NoError(t, err) {
				return
			}
			mu.Lock()
			inside++
			most = max(most, inside)
			mu.Unlock()
			mu.Lock()
			inside--
			mu.Unlock()
			unlock()
		})
	}
	wg.Wait()
	assert.Equal(t, 1, most)
	assert.Zero(t, k.Len())
}
