package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/jmoiron/sqlx"
)

// TxHook is work a caller attaches to a transaction opened by Update: it
// runs when the transaction's function has returned nil. BeforeCommit runs
// inside the transaction as its last statements (an error rolls it back
// and is returned by Update); AfterCommit runs once the commit succeeded.
// The event log uses it to write a change's events in the change's own
// transaction, after every other lock the transaction takes.
type TxHook interface {
	BeforeCommit(ctx context.Context, tx *sqlx.Tx) error
	AfterCommit()
}

// txHooks holds the hooks attached to transactions in flight, keyed by
// the transaction. Only Update's transactions have an entry.
type txHooks struct {
	mu sync.Mutex
	m  map[*sqlx.Tx][]attached
}

type attached struct {
	key  any
	hook TxHook
}

// Attach returns the hook attached to tx under key, attaching the one mk
// makes on first use, so several changes in one transaction share a hook.
// tx must be a transaction Update handed to its function; Attach panics
// otherwise, because a hook on any other transaction would never run.
func (s *Store) Attach(tx *sqlx.Tx, key any, mk func() TxHook) TxHook {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	list, ok := s.hooks.m[tx]
	if !ok {
		panic("store: Attach needs a transaction opened by Update")
	}
	for _, a := range list {
		if a.key == key {
			return a.hook
		}
	}
	h := mk()
	s.hooks.m[tx] = append(list, attached{key: key, hook: h})
	return h
}

func (s *Store) openHooks(tx *sqlx.Tx) {
	s.hooks.mu.Lock()
	if s.hooks.m == nil {
		s.hooks.m = make(map[*sqlx.Tx][]attached)
	}
	s.hooks.m[tx] = nil
	s.hooks.mu.Unlock()
}

// takeHooks removes and returns tx's hooks.
func (s *Store) takeHooks(tx *sqlx.Tx) []attached {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	list := s.hooks.m[tx]
	delete(s.hooks.m, tx)
	return list
}

func runBeforeCommit(ctx context.Context, tx *sqlx.Tx, list []attached) error {
	for _, a := range list {
		if err := a.hook.BeforeCommit(ctx, tx); err != nil {
			return fmt.Errorf("store: before commit: %w", err)
		}
	}
	return nil
}
