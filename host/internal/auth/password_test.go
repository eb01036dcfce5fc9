package auth

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testHasher uses OWASP's floor so the suite stays fast; production params
// are exercised by BenchmarkHash and TestDefaultParams.
func testHasher(t testing.TB) *Hasher {
	t.Helper()
	h, err := NewHasher(OWASPMinimum(), 2)
	require.NoError(t, err)
	return h
}

func TestDefaultParamsValidAndAboveFloor(t *testing.T) {
	require.NoError(t, DefaultParams().Validate())
	require.NoError(t, OWASPMinimum().Validate())
	assert.True(t, OWASPMinimum().weakerThan(DefaultParams()))
	assert.False(t, DefaultParams().weakerThan(DefaultParams()))
}

func TestParamsValidateRejectsWeak(t *testing.T) {
	base := OWASPMinimum()
	tests := []struct {
		name string
		mod  func(*Params)
	}{
		{"memory below floor", func(p *Params) { p.MemoryKiB = 19*1024 - 1 }},
		{"time below floor", func(p *Params) { p.Time = 1 }},
		{"zero threads", func(p *Params) { p.Threads = 0 }},
		{"short salt", func(p *Params) { p.SaltLen = 8 }},
		{"short key", func(p *Params) { p.KeyLen = 16 }},
		{"huge memory", func(p *Params) { p.MemoryKiB = maxMemoryKiB + 1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			tc.mod(&p)
			require.Error(t, p.Validate())
			_, err := NewHasher(p, 0)
			require.Error(t, err)
		})
	}
}

func TestHashVerify(t *testing.T) {
	h := testHasher(t)
	enc, err := h.Hash("correct horse battery staple")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$"), enc)

	enc2, err := h.Hash("correct horse battery staple")
	require.NoError(t, err)
	assert.NotEqual(t, enc, enc2, "salt must be random")

	tests := []struct {
		name     string
		password string
		encoded  string
		ok       bool
		wantErr  bool
	}{
		{"round trip", "correct horse battery staple", enc, true, false},
		{"wrong password", "correct horse battery stapler", enc, false, false},
		{"empty password", "", enc, false, false},
		{"over-long password", strings.Repeat("a", MaxPasswordBytes+1), enc, false, false},
		{"tampered hash", "correct horse battery staple", tamperLast(enc), false, false},
		{"tampered salt", "correct horse battery staple", tamperSalt(enc), false, false},
		{"tampered params", "correct horse battery staple", strings.Replace(enc, "t=2", "t=3", 1), false, false},
		{"not a hash", "x", "plaintext", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(tc.password, tc.encoded)
			if tc.wantErr {
				require.ErrorIs(t, err, ErrInvalidHash)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.ok, ok)
			assert.False(t, rehash)
		})
	}
}

func tamperLast(enc string) string {
	i := strings.LastIndexByte(enc, '$')
	b := []byte(enc)
	// Flip a character inside the hash to another base64 character.
	if b[i+1] == 'A' {
		b[i+1] = 'B'
	} else {
		b[i+1] = 'A'
	}
	return string(b)
}

func tamperSalt(enc string) string {
	parts := strings.Split(enc, "$")
	s := []byte(parts[4])
	if s[0] == 'A' {
		s[0] = 'B'
	} else {
		s[0] = 'A'
	}
	parts[4] = string(s)
	return strings.Join(parts, "$")
}

func TestVerifyNeedsRehashOnUpgrade(t *testing.T) {
	old := testHasher(t)
	enc, err := old.Hash("a long enough password")
	require.NoError(t, err)

	stronger := OWASPMinimum()
	stronger.Time = 3
	cur, err := NewHasher(stronger, 0)
	require.NoError(t, err)

	ok, rehash, err := cur.Verify("a long enough password", enc)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.True(t, rehash, "hash made with weaker params must be upgraded")

	ok, rehash, err = cur.Verify("wrong password here", enc)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.False(t, rehash, "never ask to rehash on a failed login")

	// Same params: no rehash; and a hash stronger than current is kept.
	enc3, err := cur.Hash("a long enough password")
	require.NoError(t, err)
	for _, h := range []*Hasher{cur, old} {
		ok, rehash, err = h.Verify("a long enough password", enc3)
		require.NoError(t, err)
		assert.True(t, ok)
		assert.False(t, rehash)
	}
}

func TestDecodeHashErrors(t *testing.T) {
	const salt = "c29tZXNhbHRzb21lc2FsdA"                     // 16 bytes
	const key = "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g" // 32 bytes
	good := "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key
	_, _, _, err := decodeHash(good)
	require.NoError(t, err)

	tests := []struct{ name, enc string }{
		{"empty", ""},
		{"argon2i", "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuv"},
		{"too few parts", "$argon2id$v=19$m=19456,t=2,p=1$" + salt},
		{"too many parts", good + "$x"},
		{"leading junk", "x" + good},
		{"version 16", "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key},
		{"missing version", "$argon2id$m=19456,t=2,p=1$" + salt + "$" + key + "$"},
		{"params reordered", "$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + key},
		{"two params", "$argon2id$v=19$m=19456,t=2$" + salt + "$" + key},
		{"non-numeric", "$argon2id$v=19$m=abc,t=2,p=1$" + salt + "$" + key},
		{"negative", "$argon2id$v=19$m=-1,t=2,p=1$" + salt + "$" + key},
		{"zero time", "$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key},
		{"zero threads", "$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key},
		{"memory too big", "$argon2id$v=19$m=99999999,t=2,p=1$" + salt + "$" + key},
		{"time too big", "$argon2id$v=19$m=19456,t=1000,p=1$" + salt + "$" + key},
		{"threads too big", "$argon2id$v=19$m=19456,t=2,p=255$" + salt + "$" + key},
		{"overflow", "$argon2id$v=19$m=99999999999999999999,t=2,p=1$" + salt + "$" + key},
		{"memory below 8/lane", "$argon2id$v=19$m=8,t=2,p=2$" + salt + "$" + key},
		{"bad salt base64", "$argon2id$v=19$m=19456,t=2,p=1$!!!!$" + key},
		{"padded salt", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key},
		{"bad hash base64", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$***"},
		{"short salt", "$argon2id$v=19$m=19456,t=2,p=1$YWJj$" + key},
		{"short hash", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$YWJj"},
		{"empty hash", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := decodeHash(tc.enc)
			require.ErrorIs(t, err, ErrInvalidHash)
			h := testHasher(t)
			ok, _, err := h.Verify("whatever password", tc.enc)
			require.ErrorIs(t, err, ErrInvalidHash)
			assert.False(t, ok)
		})
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		name     string
		password string
		want     error
	}{
		{"ok ascii", "abcdefghij", nil},
		{"ok unicode counts runes", "пароль-пар", nil},
		{"ok max bytes", strings.Repeat("x", MaxPasswordBytes), nil},
		{"ok inner spaces", "  a b c d e  ", nil},
		{"empty", "", ErrPasswordTooShort},
		{"nine chars", "abcdefghi", ErrPasswordTooShort},
		{"multibyte nine runes", "ééééééééé", ErrPasswordTooShort},
		{"too long", strings.Repeat("x", MaxPasswordBytes+1), ErrPasswordTooLong},
		{"one megabyte", strings.Repeat("x", 1<<20), ErrPasswordTooLong},
		{"all spaces", strings.Repeat(" ", 12), ErrPasswordWhitespace},
		{"mixed whitespace", " \t\n\r\u00a0\u2003     ", ErrPasswordWhitespace},
		{"invalid utf8", "abcdefghij\xff", ErrPasswordInvalidUTF},
		// Invisible characters do not count towards the minimum, and a
		// password of nothing else is refused.
		{"ten zero-width spaces", strings.Repeat("\u200b", 10), ErrPasswordTooShort},
		{"padded with zero-width", "abc" + strings.Repeat("\u200b", 9), ErrPasswordTooShort},
		{"padded with bidi controls", "abcdefghi\u202e\u2066\u200f", ErrPasswordTooShort},
		{"spaces and invisibles", strings.Repeat(" \u200b\ufeff", 10), ErrPasswordWhitespace},
		{"ok visible plus invisible", "abcdefghij\u200d", nil},
		{"control character", "abcdefghij\x01", ErrPasswordControl},
		{"escape character", "abcdefghij\x1b[2J", ErrPasswordControl},
		// The minimum counts characters of the NFC form, the maximum bytes.
		{"ok five two-byte chars counted as ten bytes would be", "éééééééééé", nil},
		{"five bytes-pairs are five characters", "ééééé", ErrPasswordTooShort},
		{"decomposed accents count once", strings.Repeat("e\u0301", 5), ErrPasswordTooShort},
		{"ok 85 euro signs are 255 bytes", strings.Repeat("€", 85), nil},
		{"86 euro signs are 258 bytes", strings.Repeat("€", 86), ErrPasswordTooLong},
		{"three emoji", "🔑🔑🔑", ErrPasswordTooShort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidatePassword(tc.password)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
		})
	}
	// Sentinels are distinct so the API can map each to its own code.
	assert.False(t, errors.Is(ErrPasswordTooShort, ErrPasswordTooLong))
}

// A password is hashed and compared in NFC, so the composed and decomposed
// spellings of one word are one password; a hash made before normalization
// (of the bytes as typed) still verifies and asks to be upgraded.
func TestPasswordsCompareInNFC(t *testing.T) {
	h := testHasher(t)
	composed, decomposed := "caf\u00e9 au lait!", "cafe\u0301 au lait!"
	enc, err := h.Hash(decomposed)
	require.NoError(t, err)
	for _, pw := range []string{composed, decomposed} {
		ok, rehash, err := h.Verify(pw, enc)
		require.NoError(t, err)
		assert.True(t, ok, "%+q", pw)
		assert.False(t, rehash, "%+q", pw)
	}

	// A legacy hash of the decomposed bytes, as the old Hash wrote it.
	salt := []byte("0123456789abcdef")
	p := h.Params
	legacy := encodeHash(p, salt, h.key([]byte(decomposed), salt, p))
	ok, rehash, err := h.Verify(decomposed, legacy)
	require.NoError(t, err)
	assert.True(t, ok, "the bytes as typed still log in")
	assert.True(t, rehash, "and the hash is upgraded to the NFC form")
	ok, _, err = h.Verify("cafe\u0301 au lai!", legacy)
	require.NoError(t, err)
	assert.False(t, ok)
}

// BenchmarkVerifyUnknownVsKnown measures a login for an unknown email
// (DummyVerify) against a wrong password for a known one: the two should
// cost the same. Compared by benchmark, never asserted on the wall clock.
func BenchmarkVerifyUnknownVsKnown(b *testing.B) {
	h, err := NewHasher(OWASPMinimum(), 0)
	require.NoError(b, err)
	enc, err := h.Hash("a long enough password")
	require.NoError(b, err)
	b.Run("known-email", func(b *testing.B) {
		for range b.N {
			_, _, _ = h.Verify("wrong password x", enc)
		}
	})
	b.Run("unknown-email", func(b *testing.B) {
		for range b.N {
			h.DummyVerify("wrong password x")
		}
	})
}

func FuzzVerify(f *testing.F) {
	h, err := NewHasher(OWASPMinimum(), 0)
	require.NoError(f, err)
	valid, err := h.Hash("seed password 1")
	require.NoError(f, err)
	for _, s := range []string{
		valid,
		"",
		"$",
		"$$$$$",
		"$argon2id$v=19$m=19456,t=2,p=1$$",
		"$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=4294967296,t=1,p=1$c29tZXNhbHQ$aGFzaA",
		"$argon2id$v=19$m=,t=,p=$$",
		strings.Replace(valid, "p=1", "p=0", 1),
		strings.Replace(valid, "v=19", "v=", 1),
	} {
		f.Add("seed password 1", s)
	}
	f.Fuzz(func(t *testing.T, password, encoded string) {
		ok, rehash, err := h.Verify(password, encoded)
		if err != nil && (ok || rehash) {
			t.Fatalf("error with ok=%v rehash=%v", ok, rehash)
		}
	})
}

func BenchmarkHash(b *testing.B) {
	for _, bc := range []struct {
		name string
		p    Params
	}{
		{"owasp_m19MiB_t2_p1", OWASPMinimum()},
		{"default_m64MiB_t3_p2", DefaultParams()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h, err := NewHasher(bc.p, 0)
			require.NoError(b, err)
			for b.Loop() {
				if _, err := h.Hash("benchmark password"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
