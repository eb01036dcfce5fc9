package accounts

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/apperr"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
)

// cleanupTimeout bounds the bookkeeping after a failed or interrupted
// Connect, which runs even when the caller's context has ended so the
// database and the plugin manager agree.
const cleanupTimeout = 10 * time.Second

// claim is the account row a Connect works on.
type claim struct {
	id int64
	// fresh: the row never connected (created by this call, or left by an
	// earlier call waiting for its first code). A failure deletes it.
	fresh bool
	// prev is the reused row as it was, restored when a Connect on an
	// account that was once connected fails.
	prev row
	// first is what the first Open sends: the request's credentials,
	// including the one-time code, which is not stored.
	first map[string]string
}

// Connect logs the user's broker account in and records it. Practice is
// the default mode; real needs req.Mode == broker.Real and the Policy's
// consent. A repeat for the same broker, mode and login reuses the
// account (and its session id); after a SecondFactorError, repeat with
// the same credentials plus "code" (or with "code" alone). Errors wrap
// ErrInvalidRequest, ErrUnknownBroker, ErrNotEntitled or the broker's
// error (broker.ErrAuthFailed, ...), with credential values scrubbed from
// the message.
func (m *Manager) Connect(ctx context.Context, userID int64, req ConnectRequest) (Account, error) {
	if userID <= 0 {
		return Account{}, apperr.Invalid(ErrInvalidRequest, "user_id", "user_id must be positive")
	}
	in, err := validateConnect(req)
	if err != nil {
		return Account{}, err
	}
	h, err := m.handle(ctx, in.broker)
	if err != nil {
		return Account{}, err
	}
	// The plan is asked first: a user without the entitlement learns
	// that, not what the broker would have said.
	if err := m.policy.CheckConnect(ctx, userID, in.broker, in.mode); err != nil {
		return Account{}, fmt.Errorf("accounts: connect %s in %s mode: %w", in.broker, in.mode, err)
	}
	limit, err := m.policy.AccountLimit(ctx, userID)
	if err != nil {
		return Account{}, fmt.Errorf("accounts: account limit: %w", err)
	}
	if err := checkAgainstMetadata(&in, h.Session("").Metadata()); err != nil {
		return Account{}, err
	}
	unlock, err := m.lockUser(ctx, userID)
	if err != nil {
		return Account{}, err
	}
	defer unlock()

	c, err := m.claim(ctx, userID, in, limit)
	if err != nil {
		return Account{}, err
	}
	log := m.log.With("user_id", userID, "account_id", c.id, "broker", in.broker, "mode", in.mode.String())
	acct, err := h.OpenSession(ctx, SessionID(c.id), m.reopenFunc(userID, c.id, in.mode, c.first))
	if err != nil {
		err = explainLogin(redact(err, in.creds), in.creds)
		return Account{}, m.connectFailed(ctx, h, userID, c, err, log)
	}
	// The login happened: record it even if the caller has gone away
	// meanwhile, or the broker session and the database would disagree.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	a, err := m.connected(cctx, userID, c.id, acct)
	if err != nil {
		// The session is open but not recorded as such; close it rather
		// than leave a session nobody can see or stop. The row keeps its
		// state and stored credentials (a fresh one stays "connecting",
		// which ResumeAll retries).
		if cerr := h.CloseSession(cctx, SessionID(c.id)); cerr != nil {
			log.Warn("could not close the session of an unrecorded connect", "error", cerr)
		}
		return Account{}, err
	}
	log.Info("broker account connected")
	return a, nil
}

// claim finds or creates the account row and stores the sealed
// credentials on it before the login, so that a plugin restart racing
// with the login can already re-open the session from the database. A new
// account, or a disconnected one coming back, must fit under limit (the
// plan's account limit; 0: none).
func (m *Manager) claim(ctx context.Context, userID int64, in connectInput, limit int) (claim, error) {
	var c claim
	mode := in.mode.String()
	err := m.st.Update(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		c = claim{}
		if in.codeOnly() {
			return m.claimPending(tx, userID, in, &c)
		}
		found := false
		if in.login != "" {
			var err error
			if c.prev, found, err = findByLogin(tx, userID, in.broker, mode, in.login); err != nil {
				return err
			}
		}
		if !found || c.prev.Status == string(StatusDisconnected) {
			if err := m.checkLimit(ctx, tx, userID, limit); err != nil {
				return err
			}
		}
		status := StatusConnecting
		if found {
			c.id = c.prev.ID
			c.fresh = neverConnected(c.prev)
			if !c.fresh {
				// An account that was connected before keeps its status
				// while it logs in again; a failure restores it all.
				status = Status(c.prev.Status)
			}
		} else {
			id, err := insertRow(tx, userID, in.broker, mode, in.login)
			if err != nil {
				return err
			}
			c.id, c.fresh = id, true
		}
		sealed, keyID, err := m.seal(userID, c.id, in.stored())
		if err != nil {
			return err
		}
		c.first = in.creds
		if err := setCredentials(tx, userID, c.id, sealed, keyID, status, ""); err != nil {
			return err
		}
		var prev *row
		if found {
			prev = &c.prev
		}
		_, err = m.recordState(tx, userID, c.id, prev, nil)
		return err
	})
	return c, err
}

// checkLimit refuses one more account when userID already has limit
// accounts that are not disconnected. On PostgreSQL it takes an advisory
// lock of the user's first, so connects of one user on several hosts cannot both pass
// (on one host the user's lock already serializes them; SQLite has a
// single writer).
func (m *Manager) checkLimit(ctx context.Context, tx *sqlx.Tx, userID int64, limit int) error {
	if limit <= 0 {
		return nil
	}
	// An advisory lock of its own, not the user's row: order placement
	// locks that row, and a connect must not hold up the user's orders.
	if err := m.st.LockKeys(ctx, tx, "account-limit", strconv.FormatInt(userID, 10)); err != nil {
		return fmt.Errorf("accounts: lock user %d: %w", userID, err)
	}
	n, err := countActive(ctx, tx, userID)
	if err != nil {
		return err
	}
	if n >= limit {
		return &LimitError{Max: limit}
	}
	return nil
}

// reasonAwaitingCode is the status reason of an account that a Connect
// created and that waits for its first second-factor code. It tells such
// an account, which a failure deletes, from a once-connected one that a
// resume found wanting a code again (reason "second_factor_required"),
// which a failure must never delete.
const reasonAwaitingCode = "awaiting_code"

// neverConnected reports an account that no login has completed yet: one
// interrupted while connecting or waiting for its first code.
func neverConnected(r row) bool {
	return r.Status == string(StatusConnecting) ||
		(r.Status == string(StatusSecondFactorRequired) && r.StatusReason == reasonAwaitingCode)
}

// claimPending continues a second-factor connect whose repeat carries the
// code alone: the other credentials come from the pending account.
func (m *Manager) claimPending(tx *sqlx.Tx, userID int64, in connectInput, c *claim) error {
	r, ok, err := findPending(tx, userID, in.broker, in.mode.String())
	if err != nil {
		return err
	}
	if !ok || !r.Credentials.Valid {
		return apperr.Invalid(ErrInvalidRequest, "credentials",
			"no single %s account is waiting for a second-factor code; send the full credentials with the code", in.broker)
	}
	stored, err := m.open(userID, r.ID, r.Credentials.String)
	if err != nil {
		return err
	}
	first := maps.Clone(stored)
	first[codeField] = in.creds[codeField]
	*c = claim{id: r.ID, fresh: neverConnected(r), prev: r, first: first}
	return nil
}

// connectFailed settles the row after a failed login and returns the error
// to report. A second-factor request keeps a fresh row waiting for the
// code; any other failure deletes a fresh row. A reused account that was
// connected before gets its previous state back whatever the failure
// (the repeat with the code finds it by login).
// The bookkeeping runs even if ctx has ended.
func (m *Manager) connectFailed(ctx context.Context, h *pluginmgr.BrokerHandle, userID int64, c claim, cause error, log hclog.Logger) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	second := errors.Is(cause, broker.ErrSecondFactorRequired)
	err := m.st.Update(cctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		var err error
		switch {
		case second && c.fresh:
			_, err = m.changeState(tx, userID, c.id, nil, func() error {
				return setStatus(tx, userID, c.id, StatusSecondFactorRequired, reasonAwaitingCode)
			})
		case c.fresh:
			var before row
			if before, err = m.lockRow(tx, userID, c.id); err != nil {
				return err
			}
			if err = deleteRow(tx, userID, c.id); err != nil {
				return err
			}
			err = m.recordRemoved(tx, before, reason(cause))
		default:
			_, err = m.changeState(tx, userID, c.id, nil, func() error { return restoreRow(tx, c.prev) })
		}
		return err
	})
	if err != nil {
		log.Error("could not settle a failed connect", "error", err)
	}
	// The plugin keeps a session object for the id: end it unless the
	// account still owns a live session (a reused connected account, whose
	// previous reopen func the plugin manager has put back) or waits for a
	// code (adapters may keep second-factor state per session).
	keep := (second && c.fresh) || (!c.fresh && c.prev.Status == string(StatusConnected))
	if !keep {
		if cerr := h.CloseSession(cctx, SessionID(c.id)); cerr != nil {
			log.Debug("could not close the session of a failed connect", "error", cerr)
		}
	}
	log.Info("broker account connect failed", "reason", reason(cause), "second_factor", second)
	if second {
		return &SecondFactorError{AccountID: c.id, Err: cause}
	}
	return fmt.Errorf("accounts: connect account %d: %w", c.id, cause)
}

// connected records a successful login. Resume credentials from the
// broker (a session token) replace the stored password.
func (m *Manager) connected(ctx context.Context, userID, id int64, acct broker.Account) (Account, error) {
	bal := &broker.Balance{Amount: acct.Balance, Currency: acct.Currency}
	var a Account
	err := m.st.Update(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		var err error
		a, err = m.changeState(tx, userID, id, bal, func() error {
			if len(acct.ResumeCredentials) == 0 {
				return setStatus(tx, userID, id, StatusConnected, "")
			}
			sealed, keyID, err := m.seal(userID, id, acct.ResumeCredentials)
			if err != nil {
				return err
			}
			return setCredentials(tx, userID, id, sealed, keyID, StatusConnected, "")
		})
		return err
	})
	if err != nil {
		m.balances.forget(id)
		return Account{}, err
	}
	return a, nil
}
