package accounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/stc-trading/stc/host/internal/apperr"
)

// OpenTrades counts the trades on one of a user's accounts that the broker
// has still to resolve (pending, open, unknown); *trading.Service
// satisfies it.
type OpenTrades interface {
	ActiveOnAccount(ctx context.Context, userID, accountID int64) (int, error)
}

// DisconnectHook is told that one of userID's accounts has just been
// disconnected, so that a service holding state for it lets go at once
// instead of finding out at its next use (the trading service drops the
// checks it remembers, the bot service pauses the account's bots). Its
// error goes to the caller of Disconnect; the account stays disconnected.
type DisconnectHook func(ctx context.Context, userID, accountID int64) error

// Dependents are the services built on the manager that a disconnect
// concerns. They cannot be NewManager's arguments: they take the manager
// as a dependency of their own (trading and bots ask it for sessions), so
// SetDependents closes that loop once they exist.
type Dependents struct {
	// OpenTrades, when set, makes Disconnect and DisconnectBroker refuse an
	// account with trades the broker has still to resolve: without its
	// session they could be neither settled nor reconciled. The refusal
	// wraps ErrBusy; the user may retry once they have settled.
	OpenTrades OpenTrades
	// OnDisconnect run in order after every disconnect, each once per
	// account, even when the caller's context has ended: the account is
	// gone either way.
	OnDisconnect []DisconnectHook
}

// SetDependents gives the manager the services a disconnect concerns.
// Call it before the manager serves requests; a later call replaces the
// earlier one.
func (m *Manager) SetDependents(d Dependents) {
	d.OnDisconnect = append([]DisconnectHook(nil), d.OnDisconnect...)
	m.dependents.Store(&d)
}

// checkIdle refuses to disconnect an account with trades in flight.
func (m *Manager) checkIdle(ctx context.Context, userID, accountID int64) error {
	d := m.dependents.Load()
	if d == nil || d.OpenTrades == nil {
		return nil
	}
	n, err := d.OpenTrades.ActiveOnAccount(ctx, userID, accountID)
	if err != nil {
		return fmt.Errorf("accounts: open trades of account %d: %w", accountID, err)
	}
	if n > 0 {
		return apperr.Refuse(ErrBusy, "%d trade(s) on this account are still open; stop its bots and disconnect once they have settled", n)
	}
	return nil
}

// disconnected runs the disconnect hooks for accounts of userID, every
// hook for every account whatever the others answer.
func (m *Manager) disconnected(ctx context.Context, userID int64, accountIDs ...int64) error {
	d := m.dependents.Load()
	if d == nil || len(accountIDs) == 0 {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for _, id := range accountIDs {
		for _, hook := range d.OnDisconnect {
			if err := hook(ctx, userID, id); err != nil {
				errs = append(errs, fmt.Errorf("account %d: %w", id, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("accounts: disconnected, but a service could not let go of the account: %w", err)
	}
	return nil
}
