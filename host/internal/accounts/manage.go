package accounts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
)

// Get returns one of userID's accounts with its live status and balance;
// ErrNotFound when it does not exist or belongs to another user.
func (m *Manager) Get(ctx context.Context, userID, accountID int64) (Account, error) {
	r, err := m.row(ctx, userID, accountID)
	if err != nil {
		return Account{}, err
	}
	return m.live(ctx, r.account()), nil
}

// List returns userID's accounts, oldest first. Connected accounts are
// checked live and concurrently, each within a short timeout: one that
// does not answer shows StatusError with a reason and no balance.
func (m *Manager) List(ctx context.Context, userID int64) ([]Account, error) {
	var rs []row
	err := m.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		var err error
		rs, err = listRows(tx, userID)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Account, len(rs))
	sem := make(chan struct{}, liveConcurrency)
	var wg sync.WaitGroup
	for i, r := range rs {
		out[i] = r.account()
		if out[i].Status != StatusConnected {
			continue
		}
		wg.Go(func() { // owned by List, which waits below
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = m.live(ctx, out[i])
		})
	}
	wg.Wait()
	return out, nil
}

// live asks the broker for a connected account's balance, which also
// proves the session works. Other statuses are returned as stored.
func (m *Manager) live(ctx context.Context, a Account) Account {
	if a.Status != StatusConnected {
		return a
	}
	ctx, cancel := context.WithTimeout(ctx, liveTimeout)
	defer cancel()
	h, err := m.handle(ctx, a.Broker)
	if err == nil {
		var bal broker.Balance
		if bal, err = h.Session(SessionID(a.ID)).Balance(ctx); err == nil {
			a.Balance, a.Currency, a.BalanceKnown = bal.Amount, bal.Currency, true
			return a
		}
	}
	a.Status, a.StatusReason = StatusError, reason(err)
	m.log.Debug("live account check failed", "user_id", a.UserID, "account_id", a.ID, "broker", a.Broker, "reason", a.StatusReason)
	return a
}

// Session returns the connected session of one of userID's accounts, for
// trading, with the account as stored. It fails with ErrNotFound for an
// unknown or foreign account, and with an error wrapping
// broker.ErrSessionNotFound when the account is not connected. The
// returned Broker's Close does nothing: the session belongs to the
// account, and only Disconnect ends it.
func (m *Manager) Session(ctx context.Context, userID, accountID int64) (broker.Broker, Account, error) {
	r, err := m.row(ctx, userID, accountID)
	if err != nil {
		return nil, Account{}, err
	}
	a := r.account()
	if a.Status != StatusConnected {
		return nil, Account{}, fmt.Errorf("accounts: account %d is %s: %w", accountID, a.Status, broker.ErrSessionNotFound)
	}
	h, err := m.handle(ctx, a.Broker)
	if err != nil {
		return nil, Account{}, err
	}
	return accountSession{h.Session(SessionID(accountID))}, a, nil
}

// accountSession is the session proxy handed to traders: everything but
// Close goes to the plugin.
type accountSession struct{ broker.Broker }

// Close does nothing: a trader finishing with the session must not log
// the account out under the other users of it (bots, the API).
func (accountSession) Close(context.Context) error { return nil }

// PlaceOrders forwards a batch in one call when the plugin session can
// take one (embedding the interface would hide that it can).
func (s accountSession) PlaceOrders(ctx context.Context, reqs []broker.OrderRequest) ([]broker.OrderResult, error) {
	return broker.PlaceOrders(ctx, s.Broker, reqs)
}

// Disconnect closes the account's session, marks it disconnected and
// erases its sealed credentials, then runs the disconnect hooks
// (Dependents). Disconnecting a disconnected account succeeds; another
// user's account is ErrNotFound; an account with trades in flight is
// ErrBusy (Dependents.OpenTrades).
func (m *Manager) Disconnect(ctx context.Context, userID, accountID int64) error {
	if err := m.disconnectOne(ctx, userID, accountID); err != nil {
		return err
	}
	// The hooks run after the user's lock is released: pausing bots waits
	// for their orders in flight, which must not hold up the user's other
	// account operations.
	return m.disconnected(ctx, userID, accountID)
}

func (m *Manager) disconnectOne(ctx context.Context, userID, accountID int64) error {
	unlock, err := m.lockUser(ctx, userID)
	if err != nil {
		return err
	}
	defer unlock()
	r, err := m.row(ctx, userID, accountID)
	if err != nil {
		return err
	}
	if err := m.checkIdle(ctx, userID, r.ID); err != nil {
		return err
	}
	return m.disconnect(ctx, userID, r)
}

// DisconnectBroker disconnects every account userID has at brokerName and
// returns how many were not disconnected already. When any of them has
// trades in flight it disconnects none (ErrBusy). The disconnect hooks
// run for every account at the broker that is now disconnected.
func (m *Manager) DisconnectBroker(ctx context.Context, userID int64, brokerName string) (int, error) {
	n, done, err := m.disconnectBroker(ctx, userID, brokerName)
	if herr := m.disconnected(ctx, userID, done...); herr != nil {
		err = errors.Join(err, herr)
	}
	return n, err
}

// disconnectBroker is DisconnectBroker under the user's lock; done are
// the accounts at the broker that are disconnected now.
func (m *Manager) disconnectBroker(ctx context.Context, userID int64, brokerName string) (n int, done []int64, err error) {
	if err := validateBrokerName(brokerName); err != nil {
		return 0, nil, err
	}
	unlock, err := m.lockUser(ctx, userID)
	if err != nil {
		return 0, nil, err
	}
	defer unlock()
	var rs []row
	err = m.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		var err error
		rs, err = listRows(tx, userID)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	rs = slices.DeleteFunc(rs, func(r row) bool { return r.Broker != brokerName })
	// Every account is checked before any is disconnected: all or none.
	for _, r := range rs {
		if err := m.checkIdle(ctx, userID, r.ID); err != nil {
			return 0, nil, err
		}
	}
	var errs []error
	for _, r := range rs {
		if r.Status != string(StatusDisconnected) {
			if err := m.disconnect(ctx, userID, r); err != nil {
				errs = append(errs, err)
				continue
			}
			n++
		}
		done = append(done, r.ID)
	}
	return n, done, errors.Join(errs...)
}

// disconnect erases the credentials first and closes the session second:
// if the close fails or the plugin restarts in between, a re-open finds no
// credentials, so the account cannot come back to life.
func (m *Manager) disconnect(ctx context.Context, userID int64, r row) error {
	err := m.st.Update(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		_, err := m.changeState(tx, userID, r.ID, nil, func() error { return eraseCredentials(tx, userID, r.ID) })
		return err
	})
	if err != nil {
		return err
	}
	log := m.log.With("user_id", userID, "account_id", r.ID, "broker", r.Broker)
	h, err := m.handle(ctx, r.Broker)
	if err == nil {
		err = h.CloseSession(ctx, SessionID(r.ID))
	}
	if err != nil {
		// The account is disconnected either way: the plugin session is
		// gone with the process, or cannot be re-opened without credentials.
		log.Warn("could not close the session of a disconnected account", "error", err)
	}
	log.Info("broker account disconnected")
	return nil
}

// row reads one of userID's accounts without its credentials.
func (m *Manager) row(ctx context.Context, userID, accountID int64) (row, error) {
	if userID <= 0 || accountID <= 0 {
		return row{}, fmt.Errorf("%w: account %d", ErrNotFound, accountID)
	}
	var r row
	err := m.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		var err error
		r, err = getRow(tx, userID, accountID, publicColumns)
		return err
	})
	return r, err
}
