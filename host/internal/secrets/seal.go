package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

const (
	// sealedVersion prefixes the text form so the format can evolve.
	sealedVersion = "v1"
	// nonceSize is the 96-bit GCM nonce; random nonces of this size are safe
	// for about 2^32 seals per key (NIST SP 800-38D).
	nonceSize = 12
	// tagSize is the GCM authentication tag appended to every ciphertext.
	tagSize = 16
	// maxSealedTextLen bounds ParseSealed so hostile input cannot make us
	// allocate without limit; credentials are a few hundred bytes.
	maxSealedTextLen = 1 << 20
	// aadDomain separates these AADs from any other use of the same keys.
	aadDomain = "stc/secrets/v1"
)

// b64 returns the strict unpadded URL-safe alphabet: it contains no '.', so it
// fits the dotted text form, and strictness keeps each value's encoding unique.
// A function rather than a package variable keeps the package free of
// mutable globals.
func b64() *base64.Encoding { return base64.RawURLEncoding.Strict() }

// AAD is the context a ciphertext is bound to. Opening with any other user,
// account or purpose fails with ErrDecrypt, which stops a row copied between
// tenants from decrypting.
type AAD struct {
	// UserID is the owning user's id.
	UserID int64
	// AccountID is the broker account id the secret belongs to.
	AccountID int64
	// Purpose names what the secret is for (for example "broker-credentials").
	Purpose string
}

// encode returns the canonical byte form of the AAD. Every field is length
// prefixed, and the key id is included, so no two distinct contexts can
// produce the same bytes (unlike naive "a|b|c" joining).
func (a AAD) encode(keyID string) []byte {
	buf := make([]byte, 0, 64+len(a.Purpose)+len(keyID))
	for _, s := range []string{aadDomain, keyID} {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
		buf = append(buf, s...)
	}
	buf = binary.BigEndian.AppendUint64(buf, uint64(a.UserID))
	buf = binary.BigEndian.AppendUint64(buf, uint64(a.AccountID))
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(a.Purpose)))
	buf = append(buf, a.Purpose...)
	return buf
}

// Sealed is one encrypted value with the id of the key that sealed it.
type Sealed struct {
	// KeyID names the keyring entry that sealed the value.
	KeyID string
	// Nonce is the random 96-bit GCM nonce.
	Nonce []byte
	// Ciphertext is the GCM output, authentication tag included.
	Ciphertext []byte
}

// Marshal returns the compact text form stored in a database column:
// "v1.<keyid>.<base64url nonce>.<base64url ciphertext>".
func (s Sealed) Marshal() string {
	return strings.Join([]string{
		sealedVersion, s.KeyID, b64().EncodeToString(s.Nonce), b64().EncodeToString(s.Ciphertext),
	}, ".")
}

// ParseSealed parses the text form written by Marshal. It checks the shape
// (version, key id syntax, nonce and minimum ciphertext length) but not
// authenticity, which only Open can check. Errors wrap ErrMalformed.
func ParseSealed(text string) (Sealed, error) {
	if len(text) > maxSealedTextLen {
		return Sealed{}, fmt.Errorf("%w: too long", ErrMalformed)
	}
	parts := strings.Split(text, ".")
	if len(parts) != 4 {
		return Sealed{}, fmt.Errorf("%w: expected 4 dot-separated fields", ErrMalformed)
	}
	if parts[0] != sealedVersion {
		return Sealed{}, fmt.Errorf("%w: unsupported version", ErrMalformed)
	}
	if err := validateKeyID(parts[1]); err != nil {
		return Sealed{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	nonce, err := decodeField(parts[2])
	if err != nil || len(nonce) != nonceSize {
		return Sealed{}, fmt.Errorf("%w: bad nonce", ErrMalformed)
	}
	ct, err := decodeField(parts[3])
	if err != nil || len(ct) < tagSize {
		return Sealed{}, fmt.Errorf("%w: bad ciphertext", ErrMalformed)
	}
	return Sealed{KeyID: parts[1], Nonce: nonce, Ciphertext: ct}, nil
}

// decodeField decodes one base64 field of the text form. The decoder skips
// '\r' and '\n' even in strict mode; the length check rejects them so every
// value has exactly one accepted text form.
func decodeField(field string) ([]byte, error) {
	enc := b64()
	data, err := enc.DecodeString(field)
	if err != nil {
		return nil, fmt.Errorf("base64: %w", err)
	}
	if enc.EncodedLen(len(data)) != len(field) {
		return nil, errors.New("base64: unexpected characters")
	}
	return data, nil
}

// Seal encrypts plaintext with the active key, bound to aad, under a fresh
// random nonce.
func (k *Keyring) Seal(plaintext []byte, aad AAD) (Sealed, error) {
	entry := k.keys[k.active]
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return Sealed{}, fmt.Errorf("secrets: seal: nonce: %w", err)
	}
	ct := entry.aead.Seal(nil, nonce, plaintext, aad.encode(entry.id))
	return Sealed{KeyID: entry.id, Nonce: nonce, Ciphertext: ct}, nil
}

// Open decrypts s, which must have been sealed with the same aad. It returns
// an error wrapping ErrUnknownKey when the keyring lacks s.KeyID and one
// wrapping ErrDecrypt for every other failure, without saying which.
func (k *Keyring) Open(s Sealed, aad AAD) ([]byte, error) {
	entry, ok := k.keys[s.KeyID]
	if !ok {
		// The id is not echoed: it may come from attacker-controlled input.
		return nil, fmt.Errorf("secrets: open: %w", ErrUnknownKey)
	}
	// cipher.AEAD.Open panics on a wrong nonce length, so check it first.
	if len(s.Nonce) != entry.aead.NonceSize() || len(s.Ciphertext) < entry.aead.Overhead() {
		return nil, fmt.Errorf("secrets: open: %w", ErrDecrypt)
	}
	pt, err := entry.aead.Open(nil, s.Nonce, s.Ciphertext, aad.encode(entry.id))
	if err != nil {
		return nil, fmt.Errorf("secrets: open: %w", ErrDecrypt)
	}
	return pt, nil
}

// Rewrap re-encrypts s with the active key when it was sealed with another
// key, for `stc keys rotate`. The bool reports whether s changed; a value
// already on the active key is returned as is without being opened.
func (k *Keyring) Rewrap(s Sealed, aad AAD) (Sealed, bool, error) {
	if s.KeyID == k.active {
		return s, false, nil
	}
	pt, err := k.Open(s, aad)
	if err != nil {
		return Sealed{}, false, fmt.Errorf("secrets: rewrap: %w", err)
	}
	defer clear(pt)
	out, err := k.Seal(pt, aad)
	if err != nil {
		return Sealed{}, false, fmt.Errorf("secrets: rewrap: %w", err)
	}
	return out, true, nil
}

// SealJSON encodes a credentials map as JSON and seals it. Map keys are sorted
// by encoding/json, so equal maps give equal plaintexts.
func (k *Keyring) SealJSON(values map[string]string, aad AAD) (Sealed, error) {
	pt, err := json.Marshal(values)
	if err != nil {
		return Sealed{}, fmt.Errorf("secrets: seal json: %w", err)
	}
	defer clear(pt)
	return k.Seal(pt, aad)
}

// OpenJSON opens a value written by SealJSON and decodes the credentials map.
func (k *Keyring) OpenJSON(s Sealed, aad AAD) (map[string]string, error) {
	pt, err := k.Open(s, aad)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	var values map[string]string
	if err := json.Unmarshal(pt, &values); err != nil {
		// The JSON error may quote plaintext, so it is not wrapped.
		return nil, fmt.Errorf("secrets: open json: %w", ErrMalformed)
	}
	return values, nil
}
