package accounts

import (
	"context"
	"fmt"
	"sync"
)

// keyedMutex is one mutex per key (a user id), created on demand and
// dropped when nobody holds or waits for it, so it does not grow with the
// number of users ever seen. Lock waits honour the context.
type keyedMutex struct {
	mu sync.Mutex
	m  map[int64]*keyedLock
}

type keyedLock struct {
	ch   chan struct{} // holds one token while locked
	refs int           // holders and waiters
}

// lock locks key and returns its unlock func, or ctx's error when ctx ends
// first.
func (k *keyedMutex) lock(ctx context.Context, key int64) (func(), error) {
	k.mu.Lock()
	l := k.m[key]
	if l == nil {
		l = &keyedLock{ch: make(chan struct{}, 1)}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()

	select {
	case l.ch <- struct{}{}:
		return func() {
			<-l.ch
			k.release(key, l)
		}, nil
	case <-ctx.Done():
		k.release(key, l)
		return nil, fmt.Errorf("accounts: waiting for the user's other account operation: %w", ctx.Err())
	}
}

func (k *keyedMutex) release(key int64, l *keyedLock) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l.refs--
	if l.refs == 0 {
		delete(k.m, key)
	}
}
