package secrets

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testAAD() AAD { return AAD{UserID: 7, AccountID: 42, Purpose: "broker-credentials"} }

func TestSealOpenRoundTrip(t *testing.T) {
	kr := mustKeyring(t, newSpec(t, "k1"))
	for _, pt := range [][]byte{nil, []byte("hunter2"), make([]byte, 4096)} {
		s, err := kr.Seal(pt, testAAD())
		require.NoError(t, err)
		assert.Equal(t, "k1", s.KeyID)
		assert.Len(t, s.Nonce, nonceSize)

		parsed, err := ParseSealed(s.Marshal())
		require.NoError(t, err)
		assert.Equal(t, s, parsed)

		got, err := kr.Open(parsed, testAAD())
		require.NoError(t, err)
		assert.Equal(t, string(pt), string(got))
	}
}

func TestOpenWrongAADFails(t *testing.T) {
	kr := mustKeyring(t, newSpec(t, "k1"))
	s, err := kr.Seal([]byte("hunter2"), testAAD())
	require.NoError(t, err)

	wrong := map[string]AAD{
		"user":          {UserID: 8, AccountID: 42, Purpose: "broker-credentials"},
		"account":       {UserID: 7, AccountID: 43, Purpose: "broker-credentials"},
		"purpose":       {UserID: 7, AccountID: 42, Purpose: "broker-credential"},
		"swapped ids":   {UserID: 42, AccountID: 7, Purpose: "broker-credentials"},
		"empty purpose": {UserID: 7, AccountID: 42},
		"zero":          {},
	}
	for name, aad := range wrong {
		t.Run(name, func(t *testing.T) {
			pt, err := kr.Open(s, aad)
			assert.ErrorIs(t, err, ErrDecrypt)
			assert.Nil(t, pt)
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

func TestAADEncodingIsInjective(t *testing.T) {
	// Naive joining would make these two collide; length prefixes must not.
	a := AAD{UserID: 1, AccountID: 2, Purpose: "a"}.encode("k")
	b := AAD{UserID: 1, AccountID: 2, Purpose: "a"}.encode("k1")
	c := AAD{UserID: 1, AccountID: 2, Purpose: "1a"}.encode("k")
	assert.NotEqual(t, a, b)
	assert.NotEqual(t, a, c)
}

func TestOpenTamperedFails(t *testing.T) {
	other := newSpec(t, "k2")
	kr := mustKeyring(t, newSpec(t, "k1")+","+other)
	s, err := kr.Seal([]byte("hunter2"), testAAD())
	require.NoError(t, err)

	flip := func(b []byte, i int) []byte {
		c := append([]byte(nil), b...)
		c[i] ^= 0x01
		return c
	}
	cases := map[string]Sealed{
		"ciphertext first byte": {KeyID: s.KeyID, Nonce: s.Nonce, Ciphertext: flip(s.Ciphertext, 0)},
		"tag last byte":         {KeyID: s.KeyID, Nonce: s.Nonce, Ciphertext: flip(s.Ciphertext, len(s.Ciphertext)-1)},
		"nonce":                 {KeyID: s.KeyID, Nonce: flip(s.Nonce, 3), Ciphertext: s.Ciphertext},
		"truncated":             {KeyID: s.KeyID, Nonce: s.Nonce, Ciphertext: s.Ciphertext[:len(s.Ciphertext)-1]},
		"short nonce":           {KeyID: s.KeyID, Nonce: s.Nonce[:8], Ciphertext: s.Ciphertext},
		"nil fields":            {KeyID: s.KeyID},
		"other key id":          {KeyID: "k2", Nonce: s.Nonce, Ciphertext: s.Ciphertext},
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := kr.Open(bad, testAAD())
			assert.ErrorIs(t, err, ErrDecrypt)
		})
	}
}

func TestOpenUnknownKey(t *testing.T) {
	kr := mustKeyring(t, newSpec(t, "k1"))
	s, err := kr.Seal([]byte("x"), testAAD())
	require.NoError(t, err)
	s.KeyID = "k9"
	_, err = kr.Open(s, testAAD())
	assert.ErrorIs(t, err, ErrUnknownKey)
	assert.NotErrorIs(t, err, ErrDecrypt)
}

func TestRotation(t *testing.T) {
	oldSpec, newSpecV := newSpec(t, "old"), newSpec(t, "new")
	oldKR := mustKeyring(t, oldSpec)
	s, err := oldKR.Seal([]byte("hunter2"), testAAD())
	require.NoError(t, err)

	rotated := mustKeyring(t, newSpecV+","+oldSpec)
	pt, err := rotated.Open(s, testAAD())
	require.NoError(t, err, "old key must still decrypt after rotation")
	assert.Equal(t, "hunter2", string(pt))

	moved, changed, err := rotated.Rewrap(s, testAAD())
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, "new", moved.KeyID)

	again, changed, err := rotated.Rewrap(moved, testAAD())
	require.NoError(t, err)
	assert.False(t, changed)
	assert.Equal(t, moved, again)

	_, _, err = rotated.Rewrap(s, AAD{UserID: 99, AccountID: 42, Purpose: "broker-credentials"})
	assert.ErrorIs(t, err, ErrDecrypt, "rewrap must not launder a row into another tenant")

	retired := mustKeyring(t, newSpecV)
	pt, err = retired.Open(moved, testAAD())
	require.NoError(t, err)
	assert.Equal(t, "hunter2", string(pt))
	_, err = retired.Open(s, testAAD())
	assert.ErrorIs(t, err, ErrUnknownKey)
}

func TestNonceUniqueness(t *testing.T) {
	kr := mustKeyring(t, newSpec(t, "k1"))
	const n = 10000
	seen := make(map[string]struct{}, n)
	for i := 0; i < n; i++ {
		s, err := kr.Seal([]byte("same plaintext"), testAAD())
		require.NoError(t, err)
		_, dup := seen[string(s.Nonce)]
		require.False(t, dup, "nonce reused at seal %d", i)
		seen[string(s.Nonce)] = struct{}{}
	}
}

func TestParseSealedErrors(t *testing.T) {
	kr := mustKeyring(t, newSpec(t, "k1"))
	s, err := kr.Seal([]byte("x"), testAAD())
	require.NoError(t, err)
	good := s.Marshal()
	parts := strings.Split(good, ".")

	bad := map[string]string{
		"empty":         "",
		"too few":       "v1.k1.abc",
		"too many":      good + ".x",
		"version":       "v2." + strings.Join(parts[1:], "."),
		"bad key id":    "v1.K!." + parts[2] + "." + parts[3],
		"nonce b64":     "v1.k1.***." + parts[3],
		"nonce padded":  "v1.k1." + parts[2] + "=." + parts[3],
		"short nonce":   "v1.k1.AAAA." + parts[3],
		"short ct":      "v1.k1." + parts[2] + ".AAAA",
		"ct std alpha":  "v1.k1." + parts[2] + "." + parts[3] + "+/",
		"huge":          strings.Repeat("a", maxSealedTextLen+1),
		"empty key id":  "v1.." + parts[2] + "." + parts[3],
		"missing nonce": "v1.k1.." + parts[3],
		"newline in ct": "v1.k1." + parts[2] + "." + parts[3][:4] + "\r\n" + parts[3][4:],
		"newline nonce": "v1.k1." + parts[2][:4] + "\n" + parts[2][4:] + "." + parts[3],
	}
	for name, text := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := ParseSealed(text)
			assert.ErrorIs(t, err, ErrMalformed)
		})
	}
}

func TestSealJSON(t *testing.T) {
	kr := mustKeyring(t, newSpec(t, "k1"))
	creds := map[string]string{"login": "alice", "password": "CANARY-pw-123"}
	s, err := kr.SealJSON(creds, testAAD())
	require.NoError(t, err)
	assert.NotContains(t, s.Marshal(), "CANARY")

	got, err := kr.OpenJSON(s, testAAD())
	require.NoError(t, err)
	assert.Equal(t, creds, got)

	_, err = kr.OpenJSON(s, AAD{UserID: 8, AccountID: 42, Purpose: "broker-credentials"})
	assert.ErrorIs(t, err, ErrDecrypt)

	notJSON, err := kr.Seal([]byte("CANARY not json"), testAAD())
	require.NoError(t, err)
	_, err = kr.OpenJSON(notJSON, testAAD())
	assert.ErrorIs(t, err, ErrMalformed)
	assert.NotContains(t, err.Error(), "CANARY")
}
