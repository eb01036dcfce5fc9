// Package auth holds the pure, storage-free building blocks of STC's user
// authentication: argon2id password hashing, opaque bearer tokens and API
// keys, API key scopes and login throttling. The store layer persists what
// these functions produce; nothing here touches a database.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/stc-trading/stc/host/internal/names"
)

// Password policy limits. NIST SP 800-63B asks for at least 8 characters and
// to accept at least 64; we require 10 and accept up to 256 bytes so long
// passphrases work while a megabyte "password" is refused before hashing.
//
// The two bounds count different things on purpose. The minimum is about
// how much a person typed, so it counts characters (code points of the NFC
// form, invisible ones not counted): 10 bytes would let three emoji through.
// The maximum is about what hashing and the request cost, so it counts
// bytes of UTF-8.
const (
	MinPasswordChars = 10
	MaxPasswordBytes = 256
)

// Password policy errors. They are stable sentinels so the HTTP layer can map
// them to machine-readable error codes with errors.Is.
var (
	ErrPasswordTooShort   = errors.New("password_too_short")
	ErrPasswordTooLong    = errors.New("password_too_long")
	ErrPasswordWhitespace = errors.New("password_all_whitespace")
	ErrPasswordInvalidUTF = errors.New("password_invalid_utf8")
	ErrPasswordControl    = errors.New("password_control_character")
)

// ErrInvalidHash reports an encoded hash that is not a well-formed argon2id
// PHC string within the bounds this package accepts.
var ErrInvalidHash = errors.New("auth: invalid argon2id hash encoding")

// Bounds on parameters accepted when decoding a stored hash. A tampered or
// corrupt row must not make one login allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 16
	maxThreads   = 16
	minSaltLen   = 8
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 64
)

// Params are the argon2id cost parameters.
type Params struct {
	MemoryKiB uint32 // memory in KiB (argon2's m)
	Time      uint32 // iterations (argon2's t)
	Threads   uint8  // lanes (argon2's p)
	SaltLen   uint32 // random salt bytes
	KeyLen    uint32 // derived key bytes
}

// OWASPMinimum returns OWASP's floor for argon2id (m=19 MiB, t=2, p=1).
// Nothing weaker is accepted by Validate. It is a function, not a variable,
// so no caller can lower the floor for everyone.
func OWASPMinimum() Params {
	return Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// DefaultParams returns RFC 9106's second recommended option (m=64 MiB, t=3)
// with p=2 (the RFC's option says p=4 and OWASP's p=1; two lanes use both
// cores of the 2-core reference machine and cut latency without lowering the
// memory-hardness). BenchmarkHash measured 200–300 ms per hash there (OWASP's
// floor: ~50 ms), inside a 500 ms login p95 budget only if concurrent hashes
// are capped, which is what NewHasher's maxConcurrent is for.
func DefaultParams() Params {
	return Params{MemoryKiB: 64 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}
}

// Validate reports whether p is at least OWASP's minimum and within the
// bounds the decoder accepts, so a misconfiguration fails at startup.
func (p Params) Validate() error {
	floor := OWASPMinimum()
	switch {
	case p.MemoryKiB < floor.MemoryKiB || p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("auth: argon2 memory %d KiB outside [%d, %d]", p.MemoryKiB, floor.MemoryKiB, maxMemoryKiB)
	case p.Time < floor.Time || p.Time > maxTime:
		return fmt.Errorf("auth: argon2 time %d outside [%d, %d]", p.Time, floor.Time, maxTime)
	case p.Threads < 1 || p.Threads > maxThreads:
		return fmt.Errorf("auth: argon2 threads %d outside [1, %d]", p.Threads, maxThreads)
	case p.SaltLen < 16 || p.SaltLen > maxSaltLen:
		return fmt.Errorf("auth: argon2 salt length %d outside [16, %d]", p.SaltLen, maxSaltLen)
	case p.KeyLen < 32 || p.KeyLen > maxKeyLen:
		return fmt.Errorf("auth: argon2 key length %d outside [32, %d]", p.KeyLen, maxKeyLen)
	}
	return nil
}

// weakerThan reports whether a hash made with p should be upgraded to cur.
// Threads is deliberately ignored: it changes the lane layout, not the cost.
func (p Params) weakerThan(cur Params) bool {
	return p.MemoryKiB < cur.MemoryKiB || p.Time < cur.Time ||
		p.SaltLen < cur.SaltLen || p.KeyLen < cur.KeyLen
}

// Hasher hashes and verifies passwords with argon2id. The zero value of sem
// means unlimited concurrency; use NewHasher to bound it.
type Hasher struct {
	Params Params
	// sem caps concurrent argon2 computations: each one holds MemoryKiB of
	// RAM, so N parallel logins need N×64 MiB and must fit the container.
	sem chan struct{}
}

// NewHasher returns a Hasher for p that runs at most maxConcurrent argon2
// computations at once (0 means unlimited). It rejects params below OWASP's
// minimum.
func NewHasher(p Params, maxConcurrent int) (*Hasher, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	h := &Hasher{Params: p}
	if maxConcurrent > 0 {
		h.sem = make(chan struct{}, maxConcurrent)
	}
	return h, nil
}

func (h *Hasher) key(password, salt []byte, p Params) []byte {
	if h.sem != nil {
		h.sem <- struct{}{}
		defer func() { <-h.sem }()
	}
	return argon2.IDKey(password, salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
}

// Hash returns the PHC encoding
// $argon2id$v=19$m=<KiB>,t=<n>,p=<n>$<salt>$<hash> (unpadded standard
// base64, as the reference implementation writes it) of password.
func (h *Hasher) Hash(password string) (string, error) {
	if err := h.Params.Validate(); err != nil {
		return "", err
	}
	salt := make([]byte, h.Params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: reading salt: %w", err)
	}
	key := h.key([]byte(NormalizePassword(password)), salt, h.Params)
	return encodeHash(h.Params, salt, key), nil
}

// NormalizePassword returns the form a password is hashed and compared in:
// Unicode NFC (as RFC 8265's OpaqueString profile and NIST SP 800-63B ask),
// so "é" typed as one code point or as "e" plus a combining accent is the
// same password whatever keyboard or operating system produced it.
func NormalizePassword(password string) string {
	return norm.NFC.String(password)
}

// Verify checks password against an encoded hash in constant time. ok is
// true on a match; needsRehash is true when the match used parameters weaker
// than h.Params, so the caller should store a fresh Hash on this login. err
// is non-nil only for a malformed encoding, never for a wrong password.
func (h *Hasher) Verify(password, encoded string) (ok, needsRehash bool, err error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, false, err
	}
	// No stored password can be this long (ValidatePassword refuses it), so
	// skip hashing: the only timing this reveals is the attacker's own input.
	if len(password) > MaxPasswordBytes {
		return false, false, nil
	}
	nfc := NormalizePassword(password)
	if subtle.ConstantTimeCompare(h.key([]byte(nfc), salt, p), want) == 1 {
		return true, p.weakerThan(h.Params), nil
	}
	// Hashes made before passwords were normalized hold the bytes as
	// typed; such a match is upgraded (rehashed in NFC) by the caller.
	if nfc != password && subtle.ConstantTimeCompare(h.key([]byte(password), salt, p), want) == 1 {
		return true, true, nil
	}
	return false, false, nil
}

// DummyVerify spends as long as a real Verify with the current parameters
// and always fails. Call it when the login email is unknown so the response
// time does not reveal whether an account exists.
func (h *Hasher) DummyVerify(password string) {
	if len(password) > MaxPasswordBytes {
		return // mirrors Verify's early return
	}
	p := h.Params
	if p.Validate() != nil {
		p = DefaultParams()
	}
	// A fixed salt is fine: the result is compared and discarded, never stored.
	salt := make([]byte, p.SaltLen)
	want := make([]byte, p.KeyLen)
	nfc := NormalizePassword(password)
	_ = subtle.ConstantTimeCompare(h.key([]byte(nfc), salt, p), want)
	if nfc != password { // mirrors Verify's second try
		_ = subtle.ConstantTimeCompare(h.key([]byte(password), salt, p), want)
	}
}

// ValidatePassword applies the registration password policy, to the NFC
// form of password (see NormalizePassword):
//   - at most MaxPasswordBytes bytes of valid UTF-8;
//   - at least MinPasswordChars characters, where invisible characters
//     (names.Invisible: zero-width, bidi controls, ...) do not count, so
//     ten U+200B are not a password;
//   - not only whitespace and invisible characters;
//   - no control characters (they cannot be typed, and a terminal or a
//     line-based reader would cut the password at them).
//
// Spaces, punctuation and every script count as typed; there are no
// composition rules, per NIST SP 800-63B. Logging in does not re-apply the
// policy, so an account made under an older rule can still log in.
func ValidatePassword(password string) error {
	// Check the byte cap first so an oversized input costs O(1).
	if len(password) > MaxPasswordBytes {
		return fmt.Errorf("auth: password exceeds %d bytes: %w", MaxPasswordBytes, ErrPasswordTooLong)
	}
	if !utf8.ValidString(password) {
		return fmt.Errorf("auth: %w", ErrPasswordInvalidUTF)
	}
	password = NormalizePassword(password)
	if len(password) > MaxPasswordBytes { // NFC can lengthen a few scripts
		return fmt.Errorf("auth: password exceeds %d bytes in NFC form: %w", MaxPasswordBytes, ErrPasswordTooLong)
	}
	counted, visible, control := 0, false, false
	for _, r := range password {
		switch {
		case names.Invisible(r):
			continue
		case unicode.IsControl(r):
			control = true
		case !unicode.IsSpace(r):
			visible = true
		}
		counted++
	}
	if counted < MinPasswordChars {
		return fmt.Errorf("auth: password shorter than %d characters (invisible ones do not count): %w", MinPasswordChars, ErrPasswordTooShort)
	}
	if !visible {
		return fmt.Errorf("auth: %w", ErrPasswordWhitespace)
	}
	if control {
		return fmt.Errorf("auth: password holds a control character: %w", ErrPasswordControl)
	}
	return nil
}

func encodeHash(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// decodeHash parses a PHC argon2id string, enforcing bounds on every field.
func decodeHash(encoded string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: not an argon2id PHC string", ErrInvalidHash)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: unsupported version %q", ErrInvalidHash, parts[2])
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return p, nil, nil, fmt.Errorf("%w: want m,t,p parameters", ErrInvalidHash)
	}
	m, err := parseParam(kv[0], "m=", maxMemoryKiB)
	if err != nil {
		return p, nil, nil, err
	}
	t, err := parseParam(kv[1], "t=", maxTime)
	if err != nil {
		return p, nil, nil, err
	}
	th, err := parseParam(kv[2], "p=", maxThreads)
	if err != nil {
		return p, nil, nil, err
	}
	// argon2 needs at least 8 KiB per lane; below that IDKey silently rounds.
	if m < 8*th {
		return p, nil, nil, fmt.Errorf("%w: memory below 8 KiB per lane", ErrInvalidHash)
	}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: salt: %w", ErrInvalidHash, err)
	}
	key, err := base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: hash: %w", ErrInvalidHash, err)
	}
	if len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return p, nil, nil, fmt.Errorf("%w: salt length %d", ErrInvalidHash, len(salt))
	}
	if len(key) < minKeyLen || len(key) > maxKeyLen {
		return p, nil, nil, fmt.Errorf("%w: hash length %d", ErrInvalidHash, len(key))
	}
	p = Params{MemoryKiB: m, Time: t, Threads: uint8(th), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	return p, salt, key, nil
}

// parseParam parses "<name><decimal>" into a value in [1, maxVal].
func parseParam(s, name string, maxVal uint32) (uint32, error) {
	v, ok := strings.CutPrefix(s, name)
	if !ok {
		return 0, fmt.Errorf("%w: want %q parameter", ErrInvalidHash, name)
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%w: parameter %q: %w", ErrInvalidHash, name, err)
	}
	if n < 1 || n > uint64(maxVal) {
		return 0, fmt.Errorf("%w: parameter %q out of range", ErrInvalidHash, name)
	}
	return uint32(n), nil
}
