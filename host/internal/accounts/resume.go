package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
)

// ResumeOptions shape ResumeAll.
type ResumeOptions struct {
	// First are accounts to re-open before all others: those that running
	// bots trade on, so the bots can start while the other accounts are
	// still resuming. Ids that are not resumable are ignored.
	First []int64
	// FirstDone, when set, is called once every account of First has been
	// tried (at once when there are none, and also when listing the
	// accounts fails), before any other account is.
	FirstDone func()
	// Concurrency bounds the logins in flight; default 8.
	Concurrency int
}

// ResumeAll re-opens, at host start, the session of every account that
// should have one (connected, or in error or interrupted while connecting
// when the host stopped). The accounts of opts.First go first, then the
// others; within each group the users take turns (one account of each
// user, then the next of each), and a user's accounts resume side by side
// (they share the user's lock), so a user with many accounts delays
// neither the bots of others nor their accounts by more than their share
// of the opts.Concurrency logins in flight.
//
// Each account's outcome is recorded on it: connected,
// second_factor_required (the broker wants a code again: the user must
// reconnect) or error with a reason; failed counts the latter two (an
// account disconnected meanwhile counts as neither). err reports only a
// failure to list the accounts.
func (m *Manager) ResumeAll(ctx context.Context, opts ResumeOptions) (resumed, failed int, err error) {
	firstDone := func() {
		if f := opts.FirstDone; f != nil {
			opts.FirstDone = nil
			f()
		}
	}
	defer firstDone()
	var rs []row
	if err := m.st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
		var err error
		rs, err = resumableRows(tx)
		return err
	}); err != nil {
		return 0, 0, err
	}
	first, rest := splitFirst(rs, opts.First)
	workers := opts.Concurrency
	if workers <= 0 {
		workers = resumeConcurrency
	}
	var (
		mu    sync.Mutex
		tally = func(ok, skipped bool) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case skipped:
			case ok:
				resumed++
			default:
				failed++
			}
		}
	)
	for i, group := range [][]row{fairOrder(first), fairOrder(rest)} {
		if i == 1 {
			firstDone()
		}
		m.resumeGroup(ctx, group, workers, tally)
	}
	m.log.Info("resumed broker sessions", "resumed", resumed, "failed", failed, "first", len(first))
	return resumed, failed, nil
}

// resumeGroup resumes rs in order with at most workers logins at once,
// and returns when all have been tried.
func (m *Manager) resumeGroup(ctx context.Context, rs []row, workers int, tally func(ok, skipped bool)) {
	queue := make(chan row)
	var wg sync.WaitGroup
	for range min(workers, len(rs)) {
		wg.Go(func() { // owned by resumeGroup, which waits below
			for r := range queue {
				tally(m.resume(ctx, r))
			}
		})
	}
	for _, r := range rs {
		queue <- r
	}
	close(queue)
	wg.Wait()
}

// splitFirst separates the rows whose id is in ids, keeping the order.
func splitFirst(rs []row, ids []int64) (first, rest []row) {
	want := make(map[int64]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	for _, r := range rs {
		if want[r.ID] {
			first = append(first, r)
		} else {
			rest = append(rest, r)
		}
	}
	return first, rest
}

// fairOrder orders rs so that users take turns: the first account of each
// user (users in the order they first appear), then the second of each,
// and so on. A user with hundreds of accounts then takes one place in each
// round rather than the whole front of the queue.
func fairOrder(rs []row) []row {
	var users []int64
	byUser := make(map[int64][]row)
	for _, r := range rs {
		if _, ok := byUser[r.UserID]; !ok {
			users = append(users, r.UserID)
		}
		byUser[r.UserID] = append(byUser[r.UserID], r)
	}
	out := make([]row, 0, len(rs))
	for round := 0; len(out) < len(rs); round++ {
		for _, u := range users {
			if list := byUser[u]; round < len(list) {
				out = append(out, list[round])
			}
		}
	}
	return out
}

// resume re-opens one account's session from its stored credentials and
// records the outcome in the account owner's scope. It holds the user's
// lock shared throughout (so the user's other accounts resume alongside,
// while a Connect or Disconnect of the user waits) and re-reads the row
// first, so an account disconnected since the listing is left alone (and
// counted as neither).
func (m *Manager) resume(ctx context.Context, listed row) (ok, skipped bool) {
	log := m.log.With("user_id", listed.UserID, "account_id", listed.ID, "broker", listed.Broker)
	unlock, err := m.users.RLock(ctx, listed.UserID)
	if err != nil {
		log.Warn("could not resume broker session", "reason", reason(err))
		return false, false
	}
	defer unlock()
	var r row
	err = m.st.View(ctx, store.Tenant(listed.UserID), func(tx *sqlx.Tx) error {
		var err error
		r, err = getRow(tx, listed.UserID, listed.ID, allColumns)
		return err
	})
	if errors.Is(err, ErrNotFound) || (err == nil && (!r.Credentials.Valid || r.Status == string(StatusDisconnected) ||
		r.Status == string(StatusSecondFactorRequired))) {
		return false, true
	}
	var acct broker.Account
	if err == nil {
		acct, err = m.reopen(ctx, r)
	}
	status, why := StatusConnected, ""
	switch {
	case err == nil:
	case errors.Is(err, broker.ErrSecondFactorRequired):
		status, why = StatusSecondFactorRequired, reason(err)
	default:
		status, why = StatusError, reason(err)
	}
	if err != nil {
		// The reason is enough to act on; the error text stays out of the
		// log because adapters may echo what they were sent.
		log.Warn("could not resume broker session", "reason", why)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	var bal *broker.Balance
	if err == nil {
		bal = &broker.Balance{Amount: acct.Balance, Currency: acct.Currency}
	}
	if uerr := m.st.Update(cctx, store.Tenant(r.UserID), func(tx *sqlx.Tx) error {
		_, err := m.changeState(tx, r.UserID, r.ID, bal, func() error {
			return setStatus(tx, r.UserID, r.ID, status, why)
		})
		return err
	}); uerr != nil {
		m.balances.forget(r.ID)
		log.Error("could not record the resumed session's status", "error", uerr)
	}
	return err == nil, false
}

// reopen opens account r's session from its stored credentials and
// returns what the broker says of the account (its balance).
func (m *Manager) reopen(ctx context.Context, r row) (broker.Account, error) {
	mode, err := broker.ParseMode(r.Mode)
	if err != nil {
		return broker.Account{}, fmt.Errorf("accounts: account %d: %w", r.ID, err)
	}
	h, err := m.handle(ctx, r.Broker)
	if err != nil {
		return broker.Account{}, err
	}
	acct, err := h.OpenSession(ctx, SessionID(r.ID), m.reopenFunc(r.UserID, r.ID, mode, nil))
	if err != nil {
		return broker.Account{}, fmt.Errorf("accounts: resume account %d: %w", r.ID, err)
	}
	return acct, nil
}

// ReopenFailed records that the plugin manager could not re-open the
// session sessionID ("acct-<id>") after its broker plugin restarted
// (pluginmgr.EventInstanceRecreateFailed) because the broker wants a
// second-factor code again: the account, if still connected, becomes
// second_factor_required, so the user sees why and answers with Connect
// and the code, as after a host restart. Other failures change nothing
// (the account shows the live error; the next host start tries again).
// It reports whether it changed the account.
func (m *Manager) ReopenFailed(ctx context.Context, sessionID string, cause error) (bool, error) {
	if !errors.Is(cause, broker.ErrSecondFactorRequired) {
		return false, nil
	}
	id, ok := accountOfSession(sessionID)
	if !ok {
		return false, nil
	}
	var userID int64
	err := m.st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
		return tx.Get(&userID, tx.Rebind(`SELECT user_id FROM broker_accounts WHERE id = ?`), id)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("accounts: find account %d: %w", id, err)
	}
	unlock, err := m.lockUser(ctx, userID)
	if err != nil {
		return false, err
	}
	defer unlock()
	changed := false
	err = m.st.Update(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		r, err := m.lockRow(tx, userID, id)
		if err != nil || r.Status != string(StatusConnected) {
			return err // disconnected or reconnected meanwhile: theirs to say
		}
		changed = true
		if err := setStatus(tx, userID, id, StatusSecondFactorRequired, reason(cause)); err != nil {
			return err
		}
		_, err = m.recordState(tx, userID, id, &r, nil)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("accounts: record account %d's failed re-open: %w", id, err)
	}
	if changed {
		m.log.Warn("broker wants a second factor again after a plugin restart", "user_id", userID, "account_id", id)
	}
	return changed, nil
}
