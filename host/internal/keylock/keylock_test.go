package keylock_test

import (
	"context"
	"runtime"
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

// RLock holders of one key hold it together; a Lock waits for all of them
// and keeps later RLocks out until it has had its turn.
func TestRLockShares(t *testing.T) {
	t.Parallel()
	var k keylock.Map
	ctx := context.Background()
	r1, err := k.RLock(ctx, 1)
	require.NoError(t, err)
	r2, err := k.RLock(ctx, 1)
	require.NoError(t, err, "a second shared holder does not wait for the first")

	locked := make(chan func())
	go func() {
		unlock, err := k.Lock(ctx, 1)
		assert.NoError(t, err)
		locked <- unlock
	}()
	// A later RLock queues behind the waiting Lock: shared holders cannot
	// starve an exclusive one. Wait until the Lock is queued (a third
	// reference to the key), then check that the RLock cannot get in.
	for k.Refs(1) < 3 {
		runtime.Gosched()
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = k.RLock(short, 1)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "an RLock after a waiting Lock waits for it")

	r1()
	select {
	case <-locked:
		t.Fatal("Lock got in while a shared holder remained")
	default:
	}
	r2()
	unlock := <-locked
	short2, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel2()
	_, err = k.RLock(short2, 1)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "no shared holder while the Lock is held")
	unlock()
	r3, err := k.RLock(ctx, 1)
	require.NoError(t, err)
	r3()
	assert.Zero(t, k.Len(), "idle locks are dropped")
}
