package users

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jmoiron/sqlx"

	"github.com/stc-trading/stc/host/internal/apperr"
	"github.com/stc-trading/stc/host/internal/auth"
	"github.com/stc-trading/stc/host/internal/names"
	"github.com/stc-trading/stc/host/internal/store"
)

// Options tunes a Service; zero fields take the defaults.
type Options struct {
	// SessionTTL is how long a login token lives (default 14 days).
	SessionTTL time.Duration
	// MaxAPIKeys caps a user's live API keys (default 20).
	MaxAPIKeys int
	// DeviceTTL is how long a trusted-device token lives (default 90
	// days); each login with it replaces it with a fresh one.
	DeviceTTL time.Duration
	// MaxDevices caps a user's trusted devices (default 10); a login
	// beyond it forgets the oldest.
	MaxDevices int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service registers, logs in and authenticates users. It is safe for
// concurrent use.
type Service struct {
	st       *store.Store
	hasher   *auth.Hasher
	throttle *auth.Throttle
	opts     Options
	log      hclog.Logger
}

// lastUsedGranularity bounds how often an API key's last_used_at is
// written: once a minute is precise enough to spot an unused key and keeps
// authentication from being a write per request.
const lastUsedGranularity = time.Minute

// NewService returns a Service over st. hasher does the password work;
// throttle is the login throttling policy, whose counts are kept in st so
// that every host sharing the database enforces one limit.
func NewService(st *store.Store, hasher *auth.Hasher, throttle *auth.Throttle, opts Options, log hclog.Logger) *Service {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 14 * 24 * time.Hour
	}
	if opts.MaxAPIKeys <= 0 {
		opts.MaxAPIKeys = 20
	}
	if opts.DeviceTTL <= 0 {
		opts.DeviceTTL = 90 * 24 * time.Hour
	}
	if opts.MaxDevices <= 0 {
		opts.MaxDevices = 10
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Service{st: st, hasher: hasher, throttle: throttle, opts: opts, log: log}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// Session is a freshly issued login token. Token is the secret; it is
// never stored and cannot be shown again. DeviceToken is the trusted-device
// token issued with it (see Login).
type Session struct {
	User            User
	Token           string
	ExpiresAt       time.Time
	DeviceToken     string
	DeviceExpiresAt time.Time
}

// Register creates a user with role user and logs them in, trusting the
// registering device.
func (s *Service) Register(ctx context.Context, email, password string) (Session, error) {
	u, err := s.CreateUser(ctx, email, password, RoleUser)
	if err != nil {
		return Session{}, err
	}
	sess, err := s.issueSession(ctx, u)
	if err != nil {
		return Session{}, err
	}
	return s.trustDevice(ctx, sess, 0)
}

// CreateUser creates a user with role without logging in (`stc user
// create`). The password must pass auth.ValidatePassword.
func (s *Service) CreateUser(ctx context.Context, email, password string, role Role) (User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	if !role.Valid() {
		return User{}, apperr.Invalid(ErrInvalidInput, "role", "role must be user or admin, not %q", role)
	}
	if err := auth.ValidatePassword(password); err != nil {
		return User{}, passwordError(err)
	}
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return User{}, fmt.Errorf("users: hash password: %w", err)
	}
	now := s.now()
	u := User{Email: email, Role: role, CreatedAt: now.Truncate(time.Millisecond)}
	err = s.st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &u.ID, tx.Rebind(`INSERT INTO users (email, password_hash, role, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`), email, hash, string(role), ms(now), ms(now))
	})
	if errors.Is(err, store.ErrConflict) {
		return User{}, fmt.Errorf("%w: %s", ErrEmailTaken, email)
	}
	if err != nil {
		return User{}, fmt.Errorf("users: create: %w", err)
	}
	s.log.Info("user created", "user_id", u.ID, "role", role)
	return u, nil
}

// SetRole changes an existing user's role (`stc user create --admin` on an
// existing email promotes it).
func (s *Service) SetRole(ctx context.Context, email string, role Role) (User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	if !role.Valid() {
		return User{}, apperr.Invalid(ErrInvalidInput, "role", "role must be user or admin, not %q", role)
	}
	var row userRow
	err = s.st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &row, tx.Rebind(`UPDATE users SET role = ?, updated_at = ? WHERE email = ?
			RETURNING id, email, role, created_at, password_hash`), string(role), ms(s.now()), email)
	})
	if errors.Is(err, store.ErrNotFound) {
		return User{}, fmt.Errorf("%w: no user %s", ErrNotFound, email)
	}
	if err != nil {
		return User{}, fmt.Errorf("users: set role: %w", err)
	}
	return row.user(), nil
}

type userRow struct {
	ID           int64  `db:"id"`
	Email        string `db:"email"`
	Role         string `db:"role"`
	CreatedAt    int64  `db:"created_at"`
	PasswordHash string `db:"password_hash"`
}

func (r userRow) user() User {
	return User{ID: r.ID, Email: r.Email, Role: Role(r.Role), CreatedAt: fromMS(r.CreatedAt)}
}

// rehash upgrades a hash made with weaker parameters; failure only means
// the next login tries again.
func (s *Service) rehash(ctx context.Context, userID int64, password string) {
	hash, err := s.hasher.Hash(password)
	if err == nil {
		err = s.st.Update(ctx, store.System(), func(tx *sqlx.Tx) error {
			_, err := tx.ExecContext(ctx, tx.Rebind("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?"),
				hash, ms(s.now()), userID)
			return err
		})
	}
	if err != nil {
		s.log.Warn("could not upgrade a password hash", "user_id", userID, "error", err)
	}
}

func (s *Service) issueSession(ctx context.Context, u User) (Session, error) {
	token, hash, err := auth.NewToken(auth.PrefixSession)
	if err != nil {
		return Session{}, err
	}
	now := s.now()
	exp := now.Add(s.opts.SessionTTL).Truncate(time.Millisecond)
	err = s.st.Update(ctx, store.Tenant(u.ID), func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO auth_tokens (user_id, kind, token_hash, prefix, scopes, created_at, expires_at)
			VALUES (?, ?, ?, ?, '', ?, ?)`), u.ID, string(KindSession), hash, token[:len(auth.PrefixSession)+4], ms(now), ms(exp))
		return err
	})
	if err != nil {
		return Session{}, fmt.Errorf("users: issue session: %w", err)
	}
	return Session{User: u, Token: token, ExpiresAt: exp}, nil
}

type tokenRow struct {
	ID         int64  `db:"id"`
	UserID     int64  `db:"user_id"`
	Kind       string `db:"kind"`
	Scopes     string `db:"scopes"`
	ExpiresAt  *int64 `db:"expires_at"`
	RevokedAt  *int64 `db:"revoked_at"`
	LastUsedAt *int64 `db:"last_used_at"`
	Role       string `db:"role"`
}

// Authenticate resolves a bearer token to the principal it acts for. Any
// problem with the token is ErrUnauthenticated.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	// A device token is well formed but authenticates nothing.
	if prefix, err := auth.ParseToken(token); err != nil || prefix == auth.PrefixDevice {
		return Principal{}, ErrUnauthenticated
	}
	hash := auth.HashToken(token)
	var row tokenRow
	// The system scope: the token, not a user, is what is known yet.
	err := s.st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &row, tx.Rebind(`SELECT t.id, t.user_id, t.kind, t.scopes, t.expires_at, t.revoked_at, t.last_used_at, u.role
			FROM auth_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`), hash)
	})
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("users: authenticate: %w", err)
	}
	now := s.now()
	if row.RevokedAt != nil || (row.ExpiresAt != nil && *row.ExpiresAt <= ms(now)) {
		return Principal{}, ErrUnauthenticated
	}
	p := Principal{UserID: row.UserID, Role: Role(row.Role), Kind: TokenKind(row.Kind), TokenID: row.ID, Scopes: splitScopes(row.Scopes)}
	if p.Kind == KindAPIKey && (row.LastUsedAt == nil || *row.LastUsedAt < ms(now.Add(-lastUsedGranularity))) {
		s.touch(ctx, p, now)
	}
	return p, nil
}

// touch records an API key's use; failing to record it must not fail the
// request.
func (s *Service) touch(ctx context.Context, p Principal, now time.Time) {
	err := s.st.Update(ctx, store.Tenant(p.UserID), func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, tx.Rebind("UPDATE auth_tokens SET last_used_at = ? WHERE id = ? AND user_id = ?"),
			ms(now), p.TokenID, p.UserID)
		return err
	})
	if err != nil {
		s.log.Warn("could not record an API key's use", "key_id", p.TokenID, "error", err)
	}
}

// Logout revokes the token p authenticated with.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	err := s.st.Update(ctx, store.Tenant(p.UserID), func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, tx.Rebind("UPDATE auth_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL"),
			ms(s.now()), p.TokenID, p.UserID)
		return err
	})
	if err != nil {
		return fmt.Errorf("users: logout: %w", err)
	}
	return nil
}

// User returns user id.
func (s *Service) User(ctx context.Context, id int64) (User, error) {
	var row userRow
	err := s.st.View(ctx, store.Tenant(id), func(tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &row, tx.Rebind("SELECT id, email, role, created_at, password_hash FROM users WHERE id = ?"), id)
	})
	if errors.Is(err, store.ErrNotFound) {
		return User{}, fmt.Errorf("%w: user %d", ErrNotFound, id)
	}
	if err != nil {
		return User{}, fmt.Errorf("users: get: %w", err)
	}
	return row.user(), nil
}

// Exists reports whether user id exists (admin routes ask before acting on
// a user).
func (s *Service) Exists(ctx context.Context, id int64) (bool, error) {
	var n int
	err := s.st.View(ctx, store.System(), func(tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &n, tx.Rebind("SELECT count(*) FROM users WHERE id = ?"), id)
	})
	if err != nil {
		return false, fmt.Errorf("users: exists: %w", err)
	}
	return n > 0, nil
}

// validKeyName accepts 1 to MaxAPIKeyNameLen bytes that pass the names
// rule.
func validKeyName(name string) error {
	if name == "" || len(name) > MaxAPIKeyNameLen {
		return apperr.Invalid(ErrInvalidInput, "name", "name must be 1 to %d bytes", MaxAPIKeyNameLen)
	}
	if err := names.Check(name); err != nil {
		return apperr.Invalid(ErrInvalidInput, "name", "name must be visible text without control, invisible or direction-changing characters")
	}
	return nil
}

// PruneTokens deletes the sessions and API keys that expired or were
// revoked before before, and returns how many it deleted. Such a token
// already fails authentication and no list shows it; pruning only bounds
// the table (every login adds a session). The host keeps them 30 days
// after their end. It also deletes the trusted devices that expired
// before before and the login attempts that left the throttle's window,
// which no limit counts any more, and includes them in the count.
func (s *Service) PruneTokens(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.st.Prune(ctx, `DELETE FROM auth_tokens WHERE id IN
		(SELECT id FROM auth_tokens WHERE expires_at < ? UNION SELECT id FROM auth_tokens WHERE revoked_at < ? LIMIT ?)`,
		ms(before), ms(before))
	if err != nil {
		return n, fmt.Errorf("users: prune tokens: %w", err)
	}
	d, err := s.st.Prune(ctx, `DELETE FROM login_devices WHERE id IN
		(SELECT id FROM login_devices WHERE expires_at < ? LIMIT ?)`, ms(before))
	n += d
	if err != nil {
		return n, fmt.Errorf("users: prune trusted devices: %w", err)
	}
	a, err := s.st.Prune(ctx, `DELETE FROM login_attempts WHERE id IN
		(SELECT id FROM login_attempts WHERE at <= ? LIMIT ?)`, ms(s.now().Add(-s.throttle.Config().Window)))
	n += a
	if err != nil {
		return n, fmt.Errorf("users: prune login attempts: %w", err)
	}
	return n, nil
}

// MaxAPIKeyNameLen bounds an API key's name, in bytes.
const MaxAPIKeyNameLen = 100

// passwordError refuses a password auth.ValidatePassword refused, with a
// reason for the person choosing it.
func passwordError(err error) error {
	reason := "password must be valid"
	switch {
	case errors.Is(err, auth.ErrPasswordTooShort):
		reason = fmt.Sprintf("password must be at least %d characters (invisible ones do not count)", auth.MinPasswordChars)
	case errors.Is(err, auth.ErrPasswordTooLong):
		reason = fmt.Sprintf("password must be at most %d bytes", auth.MaxPasswordBytes)
	case errors.Is(err, auth.ErrPasswordWhitespace):
		reason = "password must hold a visible character"
	case errors.Is(err, auth.ErrPasswordInvalidUTF):
		reason = "password must be valid UTF-8"
	case errors.Is(err, auth.ErrPasswordControl):
		reason = "password must not hold control characters"
	}
	return fmt.Errorf("%w: %w", apperr.Invalid(ErrInvalidInput, "password", "%s", reason), err)
}
