// Package keylock is a set of locks keyed by an id (a user's), created on
// demand and dropped when nobody holds or waits for them, so the set does
// not grow with every id ever seen. Waiting honours a context.
//
// A key is locked exclusively (Lock) or shared (RLock). The account
// manager serializes one user's connects and disconnects with Lock, and
// re-opens the user's sessions at host start under RLock, so a user with
// many accounts resumes them side by side; the trading service serializes
// one user's order inserts (so a burst of one user's orders waits here,
// not holding database connections while it waits for the user's row
// lock).
package keylock

import (
	"context"
	"sync"

	"golang.org/x/sync/semaphore"
)

// exclusive is the weight Lock takes: the whole semaphore, so it excludes
// every other holder. RLock takes one unit of it.
const exclusive = 1 << 30

// Map is the set of locks. The zero value is ready to use; a Map must not
// be copied after first use.
type Map struct {
	mu sync.Mutex
	m  map[int64]*entry
}

type entry struct {
	// sem is FIFO: a waiting Lock is not overtaken by later RLocks, so
	// shared holders cannot starve an exclusive one.
	sem  *semaphore.Weighted
	refs int // holders and waiters
}

// Lock locks key exclusively and returns its unlock func, or ctx's error
// (unwrapped, for the caller to wrap) when ctx ends first.
func (k *Map) Lock(ctx context.Context, key int64) (unlock func(), err error) {
	return k.acquire(ctx, key, exclusive)
}

// RLock locks key shared: any number of RLock holders at once, none while
// a Lock is held. It returns the unlock func, or ctx's error.
func (k *Map) RLock(ctx context.Context, key int64) (unlock func(), err error) {
	return k.acquire(ctx, key, 1)
}

func (k *Map) acquire(ctx context.Context, key, weight int64) (func(), error) {
	k.mu.Lock()
	if k.m == nil {
		k.m = make(map[int64]*entry)
	}
	l := k.m[key]
	if l == nil {
		l = &entry{sem: semaphore.NewWeighted(exclusive)}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()

	if err := l.sem.Acquire(ctx, weight); err != nil {
		k.release(key, l)
		return nil, err
	}
	return func() {
		l.sem.Release(weight)
		k.release(key, l)
	}, nil
}

// Len is the number of keys held or waited for.
func (k *Map) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}

func (k *Map) release(key int64, l *entry) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l.refs--
	if l.refs == 0 {
		delete(k.m, key)
	}
}
