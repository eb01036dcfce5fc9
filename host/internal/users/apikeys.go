package users

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/apperr"
	"github.com/stc-trading/stc/host/internal/auth"
	"github.com/stc-trading/stc/host/internal/store"
)

// NewAPIKey describes a key to create.
type NewAPIKey struct {
	Name   string
	Scopes []string
	// ExpiresAt is when the key stops working; zero means never.
	ExpiresAt time.Time
}

// CreateAPIKey creates a key for p's user and returns it with its secret,
// which is not stored and cannot be shown again. Only a login session may
// create keys, so a leaked key cannot mint wider ones; the admin scope
// needs the admin role.
func (s *Service) CreateAPIKey(ctx context.Context, p Principal, req NewAPIKey) (APIKey, string, error) {
	if p.Kind != KindSession {
		return APIKey{}, "", apperr.Invalid(ErrInvalidInput, "", "API keys are created from a login session, not with another key")
	}
	if err := validKeyName(req.Name); err != nil {
		return APIKey{}, "", err
	}
	scopes, err := auth.ParseScopes(req.Scopes)
	if err != nil {
		return APIKey{}, "", apperr.Invalid(ErrInvalidInput, "scopes", "scopes must name one or more of %s", scopeList())
	}
	if auth.Has(scopes, auth.ScopeAdmin) && p.Role != RoleAdmin {
		return APIKey{}, "", apperr.Invalid(ErrInvalidInput, "scopes", "the admin scope needs the admin role")
	}
	now := s.now()
	if !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(now) {
		return APIKey{}, "", apperr.Invalid(ErrInvalidInput, "expires_at", "expires_at must be in the future")
	}
	secret, hash, err := auth.NewToken(auth.PrefixAPIKey)
	if err != nil {
		return APIKey{}, "", err
	}
	k := APIKey{
		Name: req.Name, Prefix: secret[:len(auth.PrefixAPIKey)+4], Scopes: scopes,
		CreatedAt: now.Truncate(time.Millisecond), ExpiresAt: req.ExpiresAt.UTC().Truncate(time.Millisecond),
	}
	var exp *int64
	if !k.ExpiresAt.IsZero() {
		v := ms(k.ExpiresAt)
		exp = &v
	}
	err = s.st.Update(ctx, store.Tenant(p.UserID), func(tx *sqlx.Tx) error {
		var live int
		if err := tx.GetContext(ctx, &live, tx.Rebind(`SELECT count(*) FROM auth_tokens
			WHERE user_id = ? AND kind = 'api_key' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`),
			p.UserID, ms(now)); err != nil {
			return err
		}
		if live >= s.opts.MaxAPIKeys {
			return apperr.Invalid(ErrInvalidInput, "", "you have %d API keys, the most a user may have; revoke one first", s.opts.MaxAPIKeys)
		}
		return tx.GetContext(ctx, &k.ID, tx.Rebind(`INSERT INTO auth_tokens (user_id, kind, name, token_hash, prefix, scopes, created_at, expires_at)
			VALUES (?, 'api_key', ?, ?, ?, ?, ?, ?) RETURNING id`), p.UserID, k.Name, hash, k.Prefix, joinScopes(scopes), ms(now), exp)
	})
	if err != nil {
		if errors.Is(err, ErrInvalidInput) {
			return APIKey{}, "", err
		}
		return APIKey{}, "", fmt.Errorf("users: create API key: %w", err)
	}
	return k, secret, nil
}

type keyRow struct {
	ID         int64  `db:"id"`
	Name       string `db:"name"`
	Prefix     string `db:"prefix"`
	Scopes     string `db:"scopes"`
	CreatedAt  int64  `db:"created_at"`
	ExpiresAt  *int64 `db:"expires_at"`
	LastUsedAt *int64 `db:"last_used_at"`
}

func (r keyRow) key() APIKey {
	k := APIKey{ID: r.ID, Name: r.Name, Prefix: r.Prefix, Scopes: splitScopes(r.Scopes), CreatedAt: fromMS(r.CreatedAt)}
	if r.ExpiresAt != nil {
		k.ExpiresAt = fromMS(*r.ExpiresAt)
	}
	if r.LastUsedAt != nil {
		k.LastUsedAt = fromMS(*r.LastUsedAt)
	}
	return k
}

const keyColumns = "id, name, prefix, scopes, created_at, expires_at, last_used_at"

// APIKeys lists userID's keys that are not revoked, newest first.
func (s *Service) APIKeys(ctx context.Context, userID int64) ([]APIKey, error) {
	var rows []keyRow
	err := s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, tx.Rebind(`SELECT `+keyColumns+` FROM auth_tokens
			WHERE user_id = ? AND kind = 'api_key' AND revoked_at IS NULL ORDER BY id DESC`), userID)
	})
	if err != nil {
		return nil, fmt.Errorf("users: list API keys: %w", err)
	}
	out := make([]APIKey, len(rows))
	for i, r := range rows {
		out[i] = r.key()
	}
	return out, nil
}

// APIKey returns one of userID's keys; another user's key is ErrNotFound.
func (s *Service) APIKey(ctx context.Context, userID, id int64) (APIKey, error) {
	var row keyRow
	err := s.st.View(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &row, tx.Rebind(`SELECT `+keyColumns+` FROM auth_tokens
			WHERE id = ? AND user_id = ? AND kind = 'api_key' AND revoked_at IS NULL`), id, userID)
	})
	if errors.Is(err, store.ErrNotFound) {
		return APIKey{}, fmt.Errorf("%w: API key %d", ErrNotFound, id)
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("users: get API key: %w", err)
	}
	return row.key(), nil
}

// RevokeAPIKey revokes one of userID's keys at once; another user's key
// is ErrNotFound.
func (s *Service) RevokeAPIKey(ctx context.Context, userID, id int64) error {
	var n int64
	err := s.st.Update(ctx, store.Tenant(userID), func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE auth_tokens SET revoked_at = ?
			WHERE id = ? AND user_id = ? AND kind = 'api_key' AND revoked_at IS NULL`), ms(s.now()), id, userID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("users: revoke API key: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: API key %d", ErrNotFound, id)
	}
	return nil
}

// scopeList names every scope, for a refusal.
func scopeList() string {
	all := auth.AllScopes()
	out := make([]string, len(all))
	for i, sc := range all {
		out[i] = string(sc)
	}
	return strings.Join(out, ", ")
}
