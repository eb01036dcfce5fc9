package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
)

// Token prefixes. A visible, fixed prefix makes leaked secrets greppable by
// secret scanners and tells support staff what kind of secret they hold.
const (
	PrefixSession = "stc_s_"
	PrefixAPIKey  = "stc_k_"
	// PrefixDevice marks a trusted-device token: it authenticates nothing
	// by itself, it only lets a login of its user use the device's own
	// throttle budget (docs/SECURITY.md).
	PrefixDevice = "stc_d_"
)

// tokenEntropy is the number of random bytes in a token: 256 bits, twice
// OWASP ASVS's 128-bit floor for session references.
const tokenEntropy = 32

// tokenBodyLen is the base64url length of entropy plus a CRC-32 checksum:
// 36 bytes encode to exactly 48 characters, so there is never padding.
const tokenBodyLen = (tokenEntropy + crc32.Size) * 4 / 3

// ErrInvalidToken reports a token that is not well formed. Parsing failures
// never say which part was wrong, because the caller answers 401 either way.
var ErrInvalidToken = errors.New("auth: invalid token")

// NewToken returns a fresh opaque token "<prefix><base64url(32 random bytes
// ‖ CRC-32)>" and the SHA-256 hash that is the only thing to store. The
// checksum, as in GitHub's token format, lets ParseToken reject typos and
// scanner false positives without a database lookup; it adds no secrecy.
func NewToken(prefix string) (token string, hash []byte, err error) {
	if !knownPrefix(prefix) {
		return "", nil, fmt.Errorf("%w: unknown prefix %q", ErrInvalidToken, prefix)
	}
	buf := make([]byte, tokenEntropy, tokenEntropy+crc32.Size)
	if _, err := rand.Read(buf); err != nil {
		return "", nil, fmt.Errorf("auth: reading token entropy: %w", err)
	}
	buf = binary.BigEndian.AppendUint32(buf, crc32.ChecksumIEEE(buf))
	token = prefix + base64.RawURLEncoding.EncodeToString(buf)
	return token, HashToken(token), nil
}

// HashToken returns SHA-256 of the whole token, prefix included. A fast hash
// is right here: the token has 256 bits of entropy, so nothing is gained by
// a slow KDF, and every authenticated request computes it.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// ParseToken checks that token has a known prefix, the exact length,
// base64url characters and a valid checksum, and returns its prefix. It is
// safe on arbitrary input: callers run it before any database lookup.
func ParseToken(token string) (prefix string, err error) {
	for _, p := range []string{PrefixSession, PrefixAPIKey, PrefixDevice} {
		if body, ok := strings.CutPrefix(token, p); ok {
			if err := checkBody(body); err != nil {
				return "", err
			}
			return p, nil
		}
	}
	return "", ErrInvalidToken
}

func checkBody(body string) error {
	if len(body) != tokenBodyLen {
		return ErrInvalidToken
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil || len(raw) != tokenEntropy+crc32.Size {
		return ErrInvalidToken
	}
	if crc32.ChecksumIEEE(raw[:tokenEntropy]) != binary.BigEndian.Uint32(raw[tokenEntropy:]) {
		return ErrInvalidToken
	}
	return nil
}

func knownPrefix(p string) bool {
	return p == PrefixSession || p == PrefixAPIKey || p == PrefixDevice
}

// Scope is a permission carried by an API key. Sessions carry no scopes:
// they act with the user's full role.
type Scope string

// The fixed set of API key scopes. Has never lets one imply another, so a
// key's powers are exactly the list shown to the user when it was created.
// No scope reaches broker credentials or billing (docs/SECURITY.md
// "Users, tokens and keys").
const (
	ScopeRead  Scope = "read"  // read accounts, positions, orders, bots
	ScopeTrade Scope = "trade" // place and cancel orders
	ScopeBots  Scope = "bots"  // create, start, stop and configure bots
	ScopeAdmin Scope = "admin" // admin API; only valid on an admin's key
)

// ErrUnknownScope reports a scope name outside the fixed set.
var ErrUnknownScope = errors.New("auth: unknown scope")

// ErrNoScopes reports an empty scope list; a key without scopes is useless
// and almost certainly a client bug.
var ErrNoScopes = errors.New("auth: no scopes")

// AllScopes returns every scope in canonical order.
func AllScopes() []Scope {
	return []Scope{ScopeRead, ScopeTrade, ScopeBots, ScopeAdmin}
}

// ParseScopes validates names and returns them deduplicated in canonical
// order, so equal sets always persist identically.
func ParseScopes(names []string) ([]Scope, error) {
	if len(names) == 0 {
		return nil, ErrNoScopes
	}
	seen := make(map[Scope]bool, len(names))
	for _, n := range names {
		s := Scope(n)
		if !s.Valid() {
			return nil, fmt.Errorf("%w: %q", ErrUnknownScope, n)
		}
		seen[s] = true
	}
	out := make([]Scope, 0, len(seen))
	for _, s := range AllScopes() {
		if seen[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

// Valid reports whether s is one of the fixed scopes. Matching is exact and
// case-sensitive so stored values have a single spelling.
func (s Scope) Valid() bool {
	switch s {
	case ScopeRead, ScopeTrade, ScopeBots, ScopeAdmin:
		return true
	}
	return false
}

// Has reports whether scopes contains need.
func Has(scopes []Scope, need Scope) bool {
	for _, s := range scopes {
		if s == need {
			return true
		}
	}
	return false
}
