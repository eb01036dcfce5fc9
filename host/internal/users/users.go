// Package users holds STC's accounts of people: registration, login and
// logout, the opaque bearer tokens that authenticate requests, scoped API
// keys, and roles.
//
// Only SHA-256 hashes of tokens are stored (a token has 256 bits of
// entropy, so a slow hash would add nothing); passwords are argon2id
// hashes (package auth). Login failures never say whether the email
// exists: an unknown email costs the same argon2 work as a wrong password.
package users

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stc-trading/stc/host/internal/auth"
	"github.com/stc-trading/stc/host/internal/names"
)

// Role is what a user may do beyond their own objects.
type Role string

// The roles.
const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleUser || r == RoleAdmin }

// TokenKind says how a bearer token was issued.
type TokenKind string

// The token kinds, as stored in auth_tokens.kind.
const (
	KindSession TokenKind = "session"
	KindAPIKey  TokenKind = "api_key"
)

// User is a registered person. The password hash never leaves the package.
type User struct {
	ID        int64
	Email     string
	Role      Role
	CreatedAt time.Time
}

// Principal is who a request acts as, resolved from its bearer token.
type Principal struct {
	UserID int64
	Role   Role
	Kind   TokenKind
	// TokenID is the auth_tokens row, so logout revokes exactly this one.
	TokenID int64
	// Scopes limit an API key; a session acts with the user's full role.
	Scopes []auth.Scope
}

// Can reports whether p may use scope: sessions may do everything their
// role allows, API keys only what they were created with. The admin scope
// additionally needs the admin role.
func (p Principal) Can(scope auth.Scope) bool {
	if scope == auth.ScopeAdmin && p.Role != RoleAdmin {
		return false
	}
	if p.Kind == KindSession {
		return true
	}
	return auth.Has(p.Scopes, scope)
}

// APIKey is a key's public description; its secret is shown only once, by
// CreateAPIKey.
type APIKey struct {
	ID         int64
	Name       string
	Prefix     string // the first characters of the secret, to tell keys apart
	Scopes     []auth.Scope
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	LastUsedAt time.Time // zero: never used
}

// Sentinel errors (wrapped; test with errors.Is).
var (
	// ErrInvalidCredentials: wrong email or password. The message is the
	// same for both on purpose.
	ErrInvalidCredentials = errors.New("users: invalid email or password")
	// ErrUnauthenticated: the bearer token is missing, malformed, unknown,
	// expired or revoked.
	ErrUnauthenticated = errors.New("users: not authenticated")
	// ErrEmailTaken: registration with an email that already has a user.
	ErrEmailTaken = errors.New("users: email already registered")
	// ErrInvalidEmail: not an email address STC accepts.
	ErrInvalidEmail = errors.New("users: invalid email")
	// ErrInvalidInput: a field of a request is out of range.
	ErrInvalidInput = errors.New("users: invalid input")
	// ErrNotFound: no such user or key (or it belongs to someone else).
	ErrNotFound = errors.New("users: not found")
)

// ThrottledError is a login refused, before any password check, because
// the throttle's limits for the account, the client address or the
// trusted device are reached (or a progressive wait has not passed).
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("users: too many failed logins, retry in %s", e.RetryAfter.Round(time.Second))
}

// maxEmailBytes is RFC 5321's path limit.
const maxEmailBytes = 254

// NormalizeEmail validates an address and returns the form STC stores:
// trimmed and lower-cased, so "Bob@X.com" and "bob@x.com" are one user.
// Display names ("Bob <bob@x.com>") are refused: the field holds an
// address only. So are the characters package names refuses (bidi
// controls, zero-width characters, ...), which would let two addresses
// look the same.
func NormalizeEmail(s string) (string, error) {
	// Validity first: ToLower would turn invalid bytes into U+FFFD.
	valid := utf8.ValidString(s)
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || len(s) > maxEmailBytes || !valid {
		return "", fmt.Errorf("%w: must be an address of at most %d bytes", ErrInvalidEmail, maxEmailBytes)
	}
	if err := names.Check(s); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidEmail, err)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", fmt.Errorf("%w: %q is not an email address", ErrInvalidEmail, s)
	}
	if !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", fmt.Errorf("%w: the domain of %q has no dot", ErrInvalidEmail, s)
	}
	return s, nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func joinScopes(s []auth.Scope) string {
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = string(x)
	}
	return strings.Join(parts, ",")
}

func splitScopes(s string) []auth.Scope {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := make([]auth.Scope, len(parts))
	for i, p := range parts {
		out[i] = auth.Scope(p)
	}
	return out
}
