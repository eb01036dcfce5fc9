package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
)

// DefaultBalanceInterval is how often WatchBalances asks the brokers for
// the balances of watched accounts when its caller gives no interval.
const DefaultBalanceInterval = 5 * time.Second

// Bounds of the balance watcher.
const (
	// balanceConcurrency bounds the balance checks in flight.
	balanceConcurrency = 8
	// maxNudges bounds the accounts BalanceChanged remembers between two
	// checks; beyond it nudges are dropped (the next round sees them).
	maxNudges = 4096
	// watchChunk bounds the user ids of one listing query.
	watchChunk = 500
)

// ErrWatching: WatchBalances is already running on this manager.
var ErrWatching = errors.New("accounts: the balance watcher is already running")

// balanceWatch is the state BalanceChanged shares with the running
// WatchBalances.
type balanceWatch struct {
	mu      sync.Mutex
	running bool
	// pending are the nudged accounts not checked yet: account id → user id.
	pending map[int64]int64
	// wake tells the watcher that pending has entries; buffered by one.
	wake chan struct{}
}

func (w *balanceWatch) start() (<-chan struct{}, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running {
		return nil, ErrWatching
	}
	w.running = true
	w.pending = make(map[int64]int64)
	w.wake = make(chan struct{}, 1)
	return w.wake, nil
}

func (w *balanceWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running, w.pending, w.wake = false, nil, nil
}

// take returns and clears the nudged accounts.
func (w *balanceWatch) take() map[int64]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.pending
	if w.running {
		w.pending = make(map[int64]int64)
	}
	return p
}

// BalanceChanged asks the balance watcher to check one of userID's
// accounts now rather than at its next round: call it when something has
// changed the balance at the broker, such as a trade that was placed or
// settled. It never blocks. Nudges that arrive before the watcher gets to
// them merge; they are dropped while no WatchBalances runs, and the
// watcher ignores them for users who watch no stream on this host.
func (m *Manager) BalanceChanged(userID, accountID int64) {
	if userID <= 0 || accountID <= 0 {
		return
	}
	w := &m.watch
	w.mu.Lock()
	if !w.running || len(w.pending) >= maxNudges {
		w.mu.Unlock()
		return
	}
	w.pending[accountID] = userID
	wake := w.wake
	w.mu.Unlock()
	select {
	case wake <- struct{}{}:
	default: // a wake is pending already; it takes this nudge too
	}
}

// WatchBalances keeps the balances of watched accounts up to date in the
// event log until ctx ends, then returns nil. Balances are live (the
// broker's), never stored, so nothing else would tell a stream that one
// changed: every interval (DefaultBalanceInterval when <= 0), and at once
// for the accounts BalanceChanged names, it asks the broker the balance of
// every connected account of the users watched returns (the users with a
// stream open on this host: events.Log.WatchedUsers) and records an
// account event when it differs from the last balance this host's events
// carried for the account. An account this host has not told a balance
// of yet (connected on another host) gets one event at its first check.
//
// Checks run at most 8 at a time, each bounded by a short timeout; a
// broker that does not answer is skipped until the next round (the
// account's live state is the API's to show). Only one WatchBalances may
// run per manager (ErrWatching).
func (m *Manager) WatchBalances(ctx context.Context, watched func() []int64, interval time.Duration) error {
	if watched == nil {
		return errors.New("accounts: WatchBalances needs the watched users")
	}
	if interval <= 0 {
		interval = DefaultBalanceInterval
	}
	wake, err := m.watch.start()
	if err != nil {
		return err
	}
	defer m.watch.stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			m.checkBalances(ctx, m.watchedRows(ctx, watched(), nil))
		case <-wake:
			m.checkBalances(ctx, m.watchedRows(ctx, watched(), m.watch.take()))
		}
	}
}

// watchedRows returns the connected accounts of users; with nudged, only
// those of its accounts (id → user id) whose user is among users.
func (m *Manager) watchedRows(ctx context.Context, users []int64, nudged map[int64]int64) []row {
	if nudged != nil {
		watching := make(map[int64]bool, len(users))
		for _, u := range users {
			watching[u] = true
		}
		var only []int64
		for _, u := range nudged {
			if watching[u] {
				watching[u] = false // once per user
				only = append(only, u)
			}
		}
		users = only
	}
	var out []row
	for start := 0; start < len(users); start += watchChunk {
		part := users[start:min(start+watchChunk, len(users))]
		rs, err := m.connectedRows(ctx, part)
		if err != nil {
			if ctx.Err() == nil {
				m.log.Warn("could not list the watched accounts", "error", err)
			}
			return out
		}
		for _, r := range rs {
			if nudged == nil || nudged[r.ID] == r.UserID {
				out = append(out, r)
			}
		}
	}
	return out
}

// connectedRows lists the connected accounts of users (system scope: the
// watcher acts for every watching user at once, in one query per chunk).
func (m *Manager) connectedRows(ctx context.Context, users []int64) ([]row, error) {
	var rs []row
	err := m.st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
		q := `SELECT ` + publicColumns + ` FROM broker_accounts WHERE status = ? AND user_id IN (?` +
			strings.Repeat(", ?", len(users)-1) + `) ORDER BY id`
		args := make([]any, 0, len(users)+1)
		args = append(args, string(StatusConnected))
		for _, u := range users {
			args = append(args, u)
		}
		return tx.SelectContext(ctx, &rs, tx.Rebind(q), args...)
	})
	if err != nil {
		return nil, fmt.Errorf("accounts: list watched accounts: %w", store.MapError(err))
	}
	return rs, nil
}

// checkBalances checks rs, balanceConcurrency at a time, and returns when
// all are done, so the rounds of one watcher never overlap.
func (m *Manager) checkBalances(ctx context.Context, rs []row) {
	sem := make(chan struct{}, balanceConcurrency)
	var wg sync.WaitGroup
	for _, r := range rs {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() { // owned by checkBalances, which waits below
			defer func() { <-sem }()
			m.checkBalance(ctx, r)
		})
	}
	wg.Wait()
}

// checkBalance asks account r's balance and records an account event when
// it differs from the last one this host recorded. The comparison is made
// again in the transaction, once the row is locked and still connected, so
// a connect or disconnect of the account that commits meanwhile is never
// followed by a stale event.
func (m *Manager) checkBalance(ctx context.Context, r row) {
	ctx, cancel := context.WithTimeout(ctx, liveTimeout)
	defer cancel()
	h, err := m.handle(ctx, r.Broker)
	var got broker.Balance
	if err == nil {
		got, err = h.Session(SessionID(r.ID)).Balance(ctx)
	}
	if err != nil {
		m.log.Debug("balance check failed", "user_id", r.UserID, "account_id", r.ID, "broker", r.Broker, "reason", reason(err))
		return
	}
	bal := broker.Balance{Amount: got.Amount, Currency: got.Currency}
	if m.balances.same(r.ID, bal) {
		return
	}
	err = m.st.Update(ctx, store.Tenant(r.UserID), func(tx *sqlx.Tx) error {
		cur, err := m.lockRow(tx, r.UserID, r.ID)
		if err != nil {
			return err
		}
		if cur.Status != string(StatusConnected) || m.balances.same(r.ID, bal) {
			return nil
		}
		_, err = m.recordState(tx, r.UserID, r.ID, &cur, &bal)
		return err
	})
	if err != nil {
		m.balances.forget(r.ID)
		if !errors.Is(err, ErrNotFound) && ctx.Err() == nil {
			m.log.Warn("could not record a balance change", "user_id", r.UserID, "account_id", r.ID, "error", err)
		}
	}
}
