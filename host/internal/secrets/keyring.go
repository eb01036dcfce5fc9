// Package secrets encrypts broker credentials at rest with AES-256-GCM.
//
// Keys come from the STC_ENCRYPTION_KEY configuration value (see ParseKeyring),
// never from a built-in default. Every ciphertext is bound through the GCM
// additional authenticated data to the user, the broker account and the purpose
// it was written for, so a row copied from one tenant to another cannot be
// decrypted. Every ciphertext records the id of the key that sealed it so that
// keys can be rotated: the first key of the keyring seals, the others only open,
// and Rewrap moves old ciphertexts onto the active key.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length in bytes of an AES-256 key.
const KeySize = 32

// maxKeyIDLen bounds key ids so they stay short in every stored ciphertext.
const maxKeyIDLen = 32

var (
	// ErrInvalidKeyring reports a malformed STC_ENCRYPTION_KEY value. Its
	// messages name the entry by position and never contain key material.
	ErrInvalidKeyring = errors.New("secrets: invalid encryption keyring")
	// ErrUnknownKey reports a ciphertext sealed with a key id the keyring does
	// not hold (for example a key retired too early during rotation).
	ErrUnknownKey = errors.New("secrets: unknown encryption key id")
	// ErrDecrypt reports that a ciphertext could not be authenticated. It is
	// deliberately vague: wrong key, wrong AAD and tampering look the same, so
	// callers cannot leak which check failed.
	ErrDecrypt = errors.New("secrets: decryption failed")
	// ErrMalformed reports a stored ciphertext text that does not parse.
	ErrMalformed = errors.New("secrets: malformed sealed value")
)

// keyEntry is one key of the keyring with its ready-to-use AEAD.
type keyEntry struct {
	id   string
	aead cipher.AEAD
}

// Keyring holds the AES-256-GCM keys. It is immutable after ParseKeyring and
// safe for concurrent use. Raw key bytes are not kept: only the expanded AEAD.
type Keyring struct {
	active string
	order  []string
	keys   map[string]keyEntry
}

// ParseKeyring parses the STC_ENCRYPTION_KEY value: one or more comma-separated
// "id:base64key" entries. The first entry is the active key used by Seal; the
// others can only decrypt, which is how rotation keeps old rows readable. Keys
// must decode to exactly 32 bytes (standard or URL-safe base64, padded or not)
// and ids must match [a-z0-9-]{1,32}. Errors wrap ErrInvalidKeyring and never
// include the key text.
func ParseKeyring(spec string) (*Keyring, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, fmt.Errorf("%w: no keys configured", ErrInvalidKeyring)
	}
	kr := &Keyring{keys: make(map[string]keyEntry)}
	for i, raw := range strings.Split(spec, ",") {
		n := i + 1 // 1-based positions read better in operator-facing errors.
		entry := strings.TrimSpace(raw)
		id, b64, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("%w: entry %d: expected id:base64key", ErrInvalidKeyring, n)
		}
		if err := validateKeyID(id); err != nil {
			// The id is not echoed: a misplaced key could sit in its place.
			return nil, fmt.Errorf("%w: entry %d: %w", ErrInvalidKeyring, n, err)
		}
		if _, dup := kr.keys[id]; dup {
			return nil, fmt.Errorf("%w: entry %d: duplicate key id %q", ErrInvalidKeyring, n, id)
		}
		key, err := decodeKey(b64)
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d (id %q): %w", ErrInvalidKeyring, n, id, err)
		}
		aead, err := newAEAD(key)
		clear(key)
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d (id %q): %w", ErrInvalidKeyring, n, id, err)
		}
		kr.keys[id] = keyEntry{id: id, aead: aead}
		kr.order = append(kr.order, id)
	}
	kr.active = kr.order[0]
	return kr, nil
}

// GenerateKeySpec returns a fresh "id:base64key" entry with a random 32-byte
// key, for operators (`stc keys generate`). Prepend it to STC_ENCRYPTION_KEY to
// make it the active key.
func GenerateKeySpec(id string) (string, error) {
	if err := validateKeyID(id); err != nil {
		return "", fmt.Errorf("secrets: generate key: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("secrets: generate key: %w", err)
	}
	spec := id + ":" + base64.StdEncoding.EncodeToString(key)
	clear(key)
	return spec, nil
}

// ActiveKeyID returns the id of the key that seals new values.
func (k *Keyring) ActiveKeyID() string { return k.active }

// KeyIDs returns all key ids in configuration order, active first.
func (k *Keyring) KeyIDs() []string { return append([]string(nil), k.order...) }

// String describes the keyring by key ids only, so printing it by mistake
// never shows key material.
func (k *Keyring) String() string {
	return fmt.Sprintf("secrets.Keyring{active: %s, keys: %s}", k.active, strings.Join(k.order, ","))
}

// GoString is the %#v form; it matches String for the same reason.
func (k *Keyring) GoString() string { return k.String() }

// validateKeyID enforces [a-z0-9-]{1,32} so ids are safe in the "."-separated
// sealed text form and in error messages.
func validateKeyID(id string) error {
	if id == "" || len(id) > maxKeyIDLen {
		return fmt.Errorf("key id must be 1 to %d characters", maxKeyIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return errors.New("key id may only contain a-z, 0-9 and '-'")
		}
	}
	return nil
}

// decodeKey accepts the common base64 alphabets because operators produce keys
// with different tools (openssl, Go, Python). The error says nothing about the
// input beyond its failure class.
func decodeKey(b64 string) ([]byte, error) {
	b64 = strings.TrimSpace(b64)
	encodings := []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	}
	for _, enc := range encodings {
		key, err := enc.DecodeString(b64)
		if err != nil {
			continue
		}
		if len(key) != KeySize {
			n := len(key)
			clear(key)
			return nil, fmt.Errorf("key must be %d bytes after base64 decoding, got %d", KeySize, n)
		}
		return key, nil
	}
	return nil, errors.New("key is not valid base64")
}

// newAEAD builds the AES-256-GCM AEAD with the standard 96-bit nonce.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return aead, nil
}
