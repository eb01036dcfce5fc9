package accounts

import (
	"fmt"
	"sync"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/sdk/broker"
)

// EventLog is the per-user event log behind the stream; *events.Log
// satisfies it. Add records obj as userID's next event when tx commits;
// it must be called inside the store.Update that made the change, and it
// writes nothing outside tx (the embedded store has one writer
// connection, so any write beside an open transaction would wait on it
// for ever).
type EventLog interface {
	Add(tx *sqlx.Tx, userID int64, obj any) error
}

// SetEvents gives the manager the event log that every account state
// change is recorded in, in the change's own transaction. Call it before
// the manager serves requests; nil (the default) records nothing.
func (m *Manager) SetEvents(l EventLog) {
	if l == nil {
		m.events.Store(nil)
		return
	}
	m.events.Store(&l)
}

// eventLog returns what SetEvents gave, or nil.
func (m *Manager) eventLog() EventLog {
	if p := m.events.Load(); p != nil {
		return *p
	}
	return nil
}

// recordState returns account id's state as tx holds it after the
// caller's write, and adds it to userID's event log: the object GET /api/v2/user/accounts
// returns once tx commits, with bal when the caller has just asked the
// broker. Nothing is added when the status and reason equal prev's and no
// balance comes with them: the write changed nothing users see. It also
// keeps the balance memory (see balanceMemory) in step: an account that
// is not connected forgets its balance. A caller passing bal must forget
// the account's balance when its transaction fails.
func (m *Manager) recordState(tx *sqlx.Tx, userID, id int64, prev *row, bal *broker.Balance) (Account, error) {
	r, err := getRow(tx, userID, id, publicColumns)
	if err != nil {
		return Account{}, err
	}
	a := r.account()
	if a.Status != StatusConnected {
		bal = nil
		m.balances.forget(id)
	}
	if bal != nil {
		a.Balance, a.Currency, a.BalanceKnown = bal.Amount, bal.Currency, true
		m.balances.set(id, *bal)
	}
	if prev != nil && bal == nil && prev.Status == r.Status && prev.StatusReason == r.StatusReason {
		return a, nil
	}
	return a, m.addEvent(tx, a)
}

// recordRemoved adds the last event of an account whose row tx has just
// deleted (a connect that never completed failed): r as it was, now
// disconnected with the failure's reason and marked Removed.
func (m *Manager) recordRemoved(tx *sqlx.Tx, r row, why string) error {
	m.balances.forget(r.ID)
	a := r.account()
	a.Status, a.StatusReason, a.Removed = StatusDisconnected, why, true
	return m.addEvent(tx, a)
}

// changeState runs write, a status write on account id inside tx, and
// records the account's new state (recordState), which it returns. The row is locked and
// read first, so the event tells a change from a write that changed
// nothing users see.
func (m *Manager) changeState(tx *sqlx.Tx, userID, id int64, bal *broker.Balance, write func() error) (Account, error) {
	before, err := m.lockRow(tx, userID, id)
	if err != nil {
		return Account{}, err
	}
	if err := write(); err != nil {
		return Account{}, err
	}
	return m.recordState(tx, userID, id, &before, bal)
}

func (m *Manager) addEvent(tx *sqlx.Tx, a Account) error {
	l := m.eventLog()
	if l == nil {
		return nil
	}
	if err := l.Add(tx, a.UserID, a); err != nil {
		return fmt.Errorf("accounts: record account %d's event: %w", a.ID, err)
	}
	return nil
}

// balanceMemory is, per account, the last balance an event of this host
// carried for it. The balance watcher compares what the broker says with
// it and records an event only on a difference. Entries are set and
// compared inside the transaction that writes the event, after the
// account's row is locked, so the memory follows the order in which the
// events commit; a failed transaction forgets its account (the next check
// then records the balance again rather than never).
type balanceMemory struct {
	mu sync.Mutex
	m  map[int64]broker.Balance
}

func (b *balanceMemory) same(id int64, bal broker.Balance) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	old, ok := b.m[id]
	return ok && old.Currency == bal.Currency && old.Amount.Equal(bal.Amount)
}

func (b *balanceMemory) set(id int64, bal broker.Balance) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = make(map[int64]broker.Balance)
	}
	b.m[id] = broker.Balance{Amount: bal.Amount, Currency: bal.Currency}
}

func (b *balanceMemory) forget(id int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, id)
}
