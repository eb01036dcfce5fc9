package users

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/auth"
	"github.com/stc-trading/stc/host/internal/store"
)

// LoginRequest is one login attempt.
type LoginRequest struct {
	Email    string
	Password string
	// Address is the client address the attempt came from (the throttle
	// counts per address, IPv6 per /64).
	Address string
	// DeviceToken is the trusted-device token the client kept from an
	// earlier login, or empty.
	DeviceToken string
}

// lockSpace namespaces the store locks the login throttle takes.
const lockSpace = "login"

// Login checks email and password and issues a session token. Every
// failure is ErrInvalidCredentials or a *ThrottledError; neither says
// whether the email exists.
//
// Each password check is first reserved in the store, under the throttle's
// limits and atomically with every other host's reservations, and only
// then hashed: however many requests arrive at once and from however many
// addresses, no more checks run than the limits allow. A reservation stays
// counted unless the password was right. A login that presents a valid
// trusted-device token of the account's user counts against that device's
// own budget instead of the account's, so guessing from elsewhere cannot
// lock its owner out (docs/SECURITY.md). A successful login returns a
// fresh device token, replacing the one presented.
func (s *Service) Login(ctx context.Context, req LoginRequest) (Session, error) {
	now := s.now()
	account := auth.NormalizeAccount(req.Email)
	norm, emailErr := NormalizeEmail(req.Email)
	// A device counts only for the account it was issued to, and is looked
	// up whether or not the email exists, so that the lookup's cost says
	// nothing about the email.
	device, err := s.deviceFor(ctx, req.DeviceToken, norm, now)
	if err != nil {
		return Session{}, err
	}
	attempt, wait, err := s.reserve(ctx, account, auth.NormalizeAddress(req.Address), device, now)
	if err != nil {
		return Session{}, err
	}
	if wait > 0 {
		return Session{}, &ThrottledError{RetryAfter: wait}
	}
	var row userRow
	err = emailErr
	if err == nil {
		err = s.st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
			return tx.GetContext(ctx, &row, tx.Rebind(
				"SELECT id, email, role, created_at, password_hash FROM users WHERE email = ?"), norm)
		})
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, ErrInvalidEmail) {
		return Session{}, fmt.Errorf("users: login: %w", err)
	}
	if err != nil {
		// Same work as a real check, so timing does not reveal the email.
		s.hasher.DummyVerify(req.Password)
		return Session{}, ErrInvalidCredentials
	}
	ok, rehash, err := s.hasher.Verify(req.Password, row.PasswordHash)
	if err != nil {
		return Session{}, fmt.Errorf("users: stored hash of user %d: %w", row.ID, err)
	}
	if !ok {
		return Session{}, ErrInvalidCredentials
	}
	s.release(ctx, attempt)
	if rehash {
		s.rehash(ctx, row.ID, req.Password)
	}
	sess, err := s.issueSession(ctx, row.user())
	if err != nil {
		return Session{}, err
	}
	return s.trustDevice(ctx, sess, device)
}

type checkRow struct {
	At          int64 `db:"at"`
	SameAccount int   `db:"same_account"`
	SameAddress int   `db:"same_address"`
}

// reserve counts one password check for account from address (or with
// trusted device, when not 0) if the throttle allows it now, and returns
// the reservation's id; otherwise it returns how long to wait. The locks
// make the read and the insert one step for every host sharing the store.
func (s *Service) reserve(ctx context.Context, account, address string, device int64, now time.Time) (id int64, wait time.Duration, err error) {
	acctKey, addrKey := auth.ThrottleKey("account", account), auth.ThrottleKey("address", address)
	cutoff := ms(now.Add(-s.throttle.Config().Window))
	err = s.st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
		var rows []checkRow
		if device != 0 {
			if err := s.st.LockKeys(ctx, tx, lockSpace, "device:"+strconv.FormatInt(device, 10)); err != nil {
				return err
			}
			if err := tx.SelectContext(ctx, &rows, tx.Rebind(
				"SELECT at, 0 AS same_account, 0 AS same_address FROM login_attempts WHERE device_id = ? AND at > ?"),
				device, cutoff); err != nil {
				return err
			}
		} else {
			if err := s.st.LockKeys(ctx, tx, lockSpace, "account:"+acctKey, "address:"+addrKey); err != nil {
				return err
			}
			// At most PerAccount + PerAddress rows: nothing is inserted
			// over a limit.
			if err := tx.SelectContext(ctx, &rows, tx.Rebind(`SELECT at,
					CASE WHEN account_key = ? THEN 1 ELSE 0 END AS same_account,
					CASE WHEN address_key = ? THEN 1 ELSE 0 END AS same_address
				FROM login_attempts WHERE device_id IS NULL AND at > ? AND (account_key = ? OR address_key = ?)`),
				acctKey, addrKey, cutoff, acctKey, addrKey); err != nil {
				return err
			}
		}
		checks := make([]auth.Check, len(rows))
		for i, r := range rows {
			checks[i] = auth.Check{At: fromMS(r.At), SameAccount: r.SameAccount == 1, SameAddress: r.SameAddress == 1}
		}
		if wait = s.throttle.Wait(checks, device != 0, now); wait > 0 {
			return nil
		}
		var dev *int64
		if device != 0 {
			dev = &device
		}
		return tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO login_attempts (account_key, address_key, device_id, at)
			VALUES (?, ?, ?, ?) RETURNING id`), acctKey, addrKey, dev, ms(now))
	})
	if err != nil {
		return 0, 0, fmt.Errorf("users: reserve a login attempt: %w", err)
	}
	return id, wait, nil
}

// release uncounts the reservation of a check that succeeded. Failing to
// only leaves one more failure counted until the window passes.
func (s *Service) release(ctx context.Context, attempt int64) {
	err := s.st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM login_attempts WHERE id = ?"), attempt)
		return err
	})
	if err != nil {
		s.log.Warn("could not release a login attempt", "error", err)
	}
}

type deviceRow struct {
	ID        int64  `db:"id"`
	Email     string `db:"email"`
	ExpiresAt int64  `db:"expires_at"`
}

// deviceFor returns the trusted device that token names when it is live
// and belongs to the user whose (normalized) email is email, or else 0.
func (s *Service) deviceFor(ctx context.Context, token, email string, now time.Time) (int64, error) {
	if !isDeviceToken(token) {
		return 0, nil
	}
	var row deviceRow
	// The system scope: the token, not a user, is what is known yet.
	err := s.st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &row, tx.Rebind(`SELECT d.id, u.email, d.expires_at
			FROM login_devices d JOIN users u ON u.id = d.user_id WHERE d.token_hash = ?`), auth.HashToken(token))
	})
	found := err == nil
	if errors.Is(err, store.ErrNotFound) {
		err = nil // an unknown token is simply no trusted device
	}
	if err != nil {
		return 0, fmt.Errorf("users: look up a trusted device: %w", err)
	}
	// Constant time is not needed (the email is the caller's own input),
	// but an empty email must never match.
	if !found || email == "" || row.Email != email || row.ExpiresAt <= ms(now) {
		return 0, nil
	}
	return row.ID, nil
}

// isDeviceToken reports whether token is a well-formed device token, so
// that nothing else costs a lookup.
func isDeviceToken(token string) bool {
	prefix, err := auth.ParseToken(token)
	return err == nil && prefix == auth.PrefixDevice
}

// trustDevice adds a fresh trusted-device token to sess, replacing device
// (the one the login came with, or 0), and forgets the user's oldest
// devices beyond MaxDevices. Failing to costs the login nothing but the
// token: the session stands.
func (s *Service) trustDevice(ctx context.Context, sess Session, device int64) (Session, error) {
	token, hash, err := auth.NewToken(auth.PrefixDevice)
	if err != nil {
		return Session{}, err
	}
	now := s.now()
	exp := now.Add(s.opts.DeviceTTL).Truncate(time.Millisecond)
	userID := sess.User.ID
	err = s.st.Update(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM login_devices WHERE user_id = ? AND (id = ? OR expires_at <= ?)"),
			userID, device, ms(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO login_devices (user_id, token_hash, created_at, expires_at)
			VALUES (?, ?, ?, ?)`), userID, hash, ms(now), ms(exp)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM login_devices WHERE user_id = ? AND id NOT IN
			(SELECT id FROM login_devices WHERE user_id = ? ORDER BY id DESC LIMIT ?)`), userID, userID, s.opts.MaxDevices)
		return err
	})
	if err != nil {
		s.log.Warn("could not record a trusted device", "user_id", userID, "error", err)
		return sess, nil
	}
	sess.DeviceToken, sess.DeviceExpiresAt = token, exp
	return sess, nil
}
