package accounts

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/secrets"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
)

// errNoCredentials: the account holds no sealed credentials (it was
// disconnected), so its session must not be re-opened.
var errNoCredentials = errors.New("accounts: account has no stored credentials")

// seal seals creds for account id of userID and returns the stored text
// and the id of the key that sealed it.
func (m *Manager) seal(userID, id int64, creds map[string]string) (string, string, error) {
	s, err := m.keys.SealJSON(creds, aad(userID, id))
	if err != nil {
		return "", "", fmt.Errorf("accounts: seal credentials of account %d: %w", id, err)
	}
	return s.Marshal(), s.KeyID, nil
}

// open decrypts the stored text of account id of userID.
func (m *Manager) open(userID, id int64, text string) (map[string]string, error) {
	s, err := secrets.ParseSealed(text)
	if err != nil {
		return nil, fmt.Errorf("accounts: credentials of account %d: %w", id, err)
	}
	creds, err := m.keys.OpenJSON(s, aad(userID, id))
	if err != nil {
		return nil, fmt.Errorf("accounts: credentials of account %d: %w", id, err)
	}
	return creds, nil
}

// loadCredentials reads and decrypts account id's credentials in the
// user's own scope.
func (m *Manager) loadCredentials(ctx context.Context, userID, id int64) (map[string]string, error) {
	var r row
	err := m.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		var err error
		r, err = getRow(tx, userID, id, allColumns)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !r.Credentials.Valid {
		return nil, fmt.Errorf("%w (account %d is %s)", errNoCredentials, id, r.Status)
	}
	return m.open(userID, id, r.Credentials.String)
}

// reopenFunc returns the ReopenFunc of account id. first, when set, is
// returned by the first call only: it is the Connect request's credentials,
// which may carry the one-time code that is never stored. Every other call
// (a plugin restart, ResumeAll) reads and decrypts the credentials from
// the database, so the plugin manager holds no secret between calls.
func (m *Manager) reopenFunc(userID, id int64, mode broker.Mode, first map[string]string) pluginmgr.ReopenFunc {
	var once atomic.Pointer[map[string]string]
	if first != nil {
		once.Store(&first)
	}
	return func(ctx context.Context) (broker.OpenRequest, error) {
		if p := once.Swap(nil); p != nil {
			return broker.OpenRequest{Mode: mode, Credentials: *p}, nil
		}
		creds, err := m.loadCredentials(ctx, userID, id)
		if err != nil {
			return broker.OpenRequest{}, err
		}
		return broker.OpenRequest{Mode: mode, Credentials: creds}, nil
	}
}

// RotateKeys re-wraps every sealed credential that is not on the keyring's
// active key (`stc keys rotate`). Afterwards the old keys can be removed
// from STC_ENCRYPTION_KEY. A row changed concurrently (Connect stored new
// credentials) is left alone: it is already on the active key. Rows that
// fail to open are reported in err (by account id only) and the others are
// still re-wrapped.
func (m *Manager) RotateKeys(ctx context.Context) (rewrapped int, err error) {
	active := m.keys.ActiveKeyID()
	var rows []row
	if err := m.st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
		var err error
		rows, err = sealedRows(tx, active)
		return err
	}); err != nil {
		return 0, err
	}
	var errs []error
	for _, r := range rows {
		if err := ctx.Err(); err != nil {
			return rewrapped, errors.Join(append(errs, fmt.Errorf("accounts: rotate keys: %w", err))...)
		}
		old, err := secrets.ParseSealed(r.Credentials.String)
		if err != nil {
			errs = append(errs, fmt.Errorf("accounts: rotate account %d: %w", r.ID, err))
			continue
		}
		sealed, changed, err := m.keys.Rewrap(old, aad(r.UserID, r.ID))
		if err != nil {
			errs = append(errs, fmt.Errorf("accounts: rotate account %d: %w", r.ID, err))
			continue
		}
		if !changed {
			continue
		}
		var swapped bool
		err = m.st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
			var err error
			swapped, err = swapCredentials(tx, r, sealed.Marshal(), sealed.KeyID)
			return err
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if swapped {
			rewrapped++
		}
	}
	m.log.Info("re-wrapped broker credentials", "active_key", active, "rewrapped", rewrapped, "candidates", len(rows), "failed", len(errs))
	return rewrapped, errors.Join(errs...)
}
