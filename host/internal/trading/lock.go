package trading

import (
	"context"
	"fmt"
	"sync"
)

// userLocks is one lock per user id, created on demand and dropped when
// nobody holds or waits for it. Place takes it around the insert
// transaction: the database lock on the user's row is what makes the risk
// checks safe (also across hosts), but without this one every concurrent
// Place of one user (a burst of bot signals on one candle close) would
// hold a pool connection while it waits for that row, starving every
// other user of connections.
type userLocks struct {
	mu sync.Mutex
	m  map[int64]*userLock
}

type userLock struct {
	ch   chan struct{} // holds one token while locked
	refs int           // holders and waiters
}

// lock locks userID and returns its unlock func, or ctx's error when ctx
// ends first.
func (k *userLocks) lock(ctx context.Context, userID int64) (func(), error) {
	k.mu.Lock()
	l := k.m[userID]
	if l == nil {
		l = &userLock{ch: make(chan struct{}, 1)}
		k.m[userID] = l
	}
	l.refs++
	k.mu.Unlock()

	select {
	case l.ch <- struct{}{}:
		return func() {
			<-l.ch
			k.release(userID, l)
		}, nil
	case <-ctx.Done():
		k.release(userID, l)
		return nil, fmt.Errorf("trading: waiting for the user's other trades: %w", ctx.Err())
	}
}

func (k *userLocks) release(userID int64, l *userLock) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l.refs--
	if l.refs == 0 {
		delete(k.m, userID)
	}
}
