package secrets

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fuzzKeyring builds a deterministic two-key keyring so fuzz inputs can hit
// both the active and the decrypt-only key ids.
func fuzzKeyring(t testing.TB) *Keyring {
	t.Helper()
	k1 := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("a", KeySize)))
	k2 := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("b", KeySize)))
	kr, err := ParseKeyring("k1:" + k1 + ",k0:" + k2)
	require.NoError(t, err)
	return kr
}

func FuzzOpen(f *testing.F) {
	kr := fuzzKeyring(f)
	aad := testAAD()
	// The fuzz engine re-runs this setup in every worker process, so the
	// genuine ciphertext must be deterministic: seal with a fixed nonce here
	// (never do this outside tests).
	nonce := []byte("fixed-nonce!")
	valid := Sealed{
		KeyID:      "k1",
		Nonce:      nonce,
		Ciphertext: kr.keys["k1"].aead.Seal(nil, nonce, []byte(`{"password":"hunter2"}`), aad.encode("k1")),
	}
	f.Add(valid.Marshal(), aad.UserID, aad.AccountID, aad.Purpose)
	f.Add(valid.Marshal(), int64(8), aad.AccountID, aad.Purpose)
	f.Add(strings.Replace(valid.Marshal(), "v1.k1.", "v1.k0.", 1), aad.UserID, aad.AccountID, aad.Purpose)
	f.Add("v1.k1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA", int64(-1), int64(0), "")
	f.Add("v1.zz.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA", int64(0), int64(-9), "x")
	f.Add("garbage", int64(0), int64(0), "\x00")

	f.Fuzz(func(t *testing.T, text string, userID, accountID int64, purpose string) {
		a := AAD{UserID: userID, AccountID: accountID, Purpose: purpose}
		if s, err := ParseSealed(text); err == nil {
			if pt, err := kr.Open(s, a); err == nil {
				// Only the genuine ciphertext with its genuine context opens.
				assert.Equal(t, valid.Marshal(), text)
				assert.Equal(t, aad, a)
				assert.Equal(t, `{"password":"hunter2"}`, string(pt))
			}
		}
		// Open must also survive raw structs that never went through
		// ParseSealed (wrong nonce lengths, empty ids, odd ids).
		parts := strings.SplitN(text, ".", 3)
		raw := Sealed{KeyID: parts[0], Nonce: []byte(purpose)}
		if len(parts) > 1 {
			raw.Ciphertext = []byte(parts[1])
		}
		_, _ = kr.Open(raw, a)
		_, _, _ = kr.Rewrap(raw, a)
		_, _ = kr.OpenJSON(raw, a)
	})
}

func FuzzParseSealed(f *testing.F) {
	kr := fuzzKeyring(f)
	valid, err := kr.Seal([]byte("x"), testAAD())
	require.NoError(f, err)
	f.Add(valid.Marshal())
	f.Add("v1.k1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("v1.k1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAB")
	f.Add("v1...")
	f.Add("v2.k1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("")

	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseSealed(text)
		if err != nil {
			assert.ErrorIs(t, err, ErrMalformed)
			return
		}
		// Strict decoding makes the text form canonical: it round-trips exactly.
		assert.Equal(t, text, s.Marshal())
		assert.Len(t, s.Nonce, nonceSize)
		assert.GreaterOrEqual(t, len(s.Ciphertext), tagSize)
	})
}
