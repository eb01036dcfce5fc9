// Package keylock is a set of mutexes keyed by an id (a user's), created on
// demand and dropped when nobody holds or waits for them, so the set does
// not grow with every id ever seen. Waiting honours a context.
//
// The account manager serializes one user's connects and disconnects with
// it; the trading service one user's order inserts (so a burst of one
// user's orders waits here, not holding database connections while it
// waits for the user's row lock).
package keylock

import (
	"context"
	"sync"
)

// Map is the set of locks. The zero value is ready to use; a Map must not
// be copied after first use.
type Map struct {
	mu sync.Mutex
	m  map[int64]*entry
}

type entry struct {
	ch   chan struct{} // holds one token while locked
	refs int           // holders and waiters
}

// Lock locks key and returns its unlock func, or ctx's error (unwrapped,
// for the caller to wrap) when ctx ends first.
func (k *Map) Lock(ctx context.Context, key int64) (unlock func(), err error) {
	k.mu.Lock()
	if k.m == nil {
		k.m = make(map[int64]*entry)
	}
	l := k.m[key]
	if l == nil {
		l = &entry{ch: make(chan struct{}, 1)}
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
		return nil, ctx.Err()
	}
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
