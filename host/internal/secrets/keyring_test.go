package secrets

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newSpec returns a fresh key entry for tests.
func newSpec(t *testing.T, id string) string {
	t.Helper()
	spec, err := GenerateKeySpec(id)
	require.NoError(t, err)
	return spec
}

// mustKeyring parses spec or fails the test.
func mustKeyring(t *testing.T, spec string) *Keyring {
	t.Helper()
	kr, err := ParseKeyring(spec)
	require.NoError(t, err)
	return kr
}

func TestParseKeyringValid(t *testing.T) {
	a, b := newSpec(t, "k2"), newSpec(t, "k1")
	kr := mustKeyring(t, " "+a+" , "+b+" ")
	assert.Equal(t, "k2", kr.ActiveKeyID())
	assert.Equal(t, []string{"k2", "k1"}, kr.KeyIDs())

	// Every supported base64 alphabet decodes the same 32 bytes.
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = byte(250 + i) // forces '+'/'/' vs '-'/'_' differences
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		_, err := ParseKeyring("x:" + enc.EncodeToString(key))
		assert.NoError(t, err)
	}
}

func TestParseKeyringErrorsNeverEchoKey(t *testing.T) {
	canary := strings.Repeat("Q0FOQVJZ", 4) // base64 text that must never appear
	short := base64.StdEncoding.EncodeToString([]byte("CANARY-short-key"))
	long := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("CANARY", 8)))
	good := newSpec(t, "ok")
	goodKey := strings.SplitN(good, ":", 2)[1]

	cases := []struct {
		name, spec, secret, want string
	}{
		{"empty", "  ", "", "no keys"},
		{"no colon", canary, canary, "expected id:base64key"},
		{"short key", "k1:" + short, short, "must be 32 bytes"},
		{"long key", "k1:" + long, long, "must be 32 bytes"},
		{"bad base64", "k1:" + canary + "!!*", canary, "not valid base64"},
		{"empty id", ":" + goodKey, goodKey, "key id"},
		{"upper id", "K1:" + goodKey, goodKey, "key id"},
		{"long id", strings.Repeat("a", 33) + ":" + goodKey, goodKey, "key id"},
		{"key as id", goodKey + ":" + goodKey, goodKey, "key id"},
		{"duplicate id", good + "," + good, goodKey, "duplicate key id"},
		{"trailing comma", good + ",", goodKey, "entry 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kr, err := ParseKeyring(tc.spec)
			require.Error(t, err)
			assert.Nil(t, kr)
			assert.ErrorIs(t, err, ErrInvalidKeyring)
			assert.Contains(t, err.Error(), tc.want)
			if tc.secret != "" {
				assert.NotContains(t, err.Error(), tc.secret)
			}
			assert.NotContains(t, err.Error(), "CANARY")
		})
	}
}

func TestKeyringPrintsNoKeyMaterial(t *testing.T) {
	spec := newSpec(t, "k1")
	kr := mustKeyring(t, spec)
	key := strings.SplitN(spec, ":", 2)[1]
	for _, out := range []string{fmt.Sprint(kr), fmt.Sprintf("%#v", kr), fmt.Sprintf("%+v", kr)} {
		assert.NotContains(t, out, key)
		assert.Contains(t, out, "k1")
	}
}

func TestGenerateKeySpec(t *testing.T) {
	a, b := newSpec(t, "2026-01"), newSpec(t, "2026-01")
	assert.NotEqual(t, a, b)
	assert.True(t, strings.HasPrefix(a, "2026-01:"))
	_, err := GenerateKeySpec("Bad.ID")
	assert.Error(t, err)
}

func TestSentinelErrorsDistinct(t *testing.T) {
	assert.False(t, errors.Is(ErrDecrypt, ErrUnknownKey))
}
