package auth

import (
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewTokenPrefixAndHash(t *testing.T) {
	for _, prefix := range []string{PrefixSession, PrefixAPIKey} {
		t.Run(prefix, func(t *testing.T) {
			tok, hash, err := NewToken(prefix)
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(tok, prefix))
			assert.Len(t, tok, len(prefix)+tokenBodyLen)
			want := sha256.Sum256([]byte(tok))
			assert.Equal(t, want[:], hash)
			assert.Equal(t, hash, HashToken(tok), "HashToken must reproduce the stored hash")

			got, err := ParseToken(tok)
			require.NoError(t, err)
			assert.Equal(t, prefix, got)
		})
	}
}

func TestNewTokenRejectsUnknownPrefix(t *testing.T) {
	for _, p := range []string{"", "stc_", "ghp_", "stc_x_"} {
		_, _, err := NewToken(p)
		require.ErrorIs(t, err, ErrInvalidToken, p)
	}
}

func TestNewTokenUnique(t *testing.T) {
	const n = 10_000
	seen := make(map[string]struct{}, n)
	hashes := make(map[string]struct{}, n)
	for range n {
		tok, hash, err := NewToken(PrefixAPIKey)
		require.NoError(t, err)
		seen[tok] = struct{}{}
		hashes[string(hash)] = struct{}{}
	}
	assert.Len(t, seen, n)
	assert.Len(t, hashes, n)
}

func TestHashTokenDistinguishesTokens(t *testing.T) {
	a, _, err := NewToken(PrefixSession)
	require.NoError(t, err)
	assert.Equal(t, HashToken(a), HashToken(a))
	assert.NotEqual(t, HashToken(a), HashToken(a+"x"))
	// The prefix is part of the hash: a session token is not an API key.
	body := strings.TrimPrefix(a, PrefixSession)
	assert.NotEqual(t, HashToken(a), HashToken(PrefixAPIKey+body))
}

func TestParseTokenRejectsGarbage(t *testing.T) {
	good, _, err := NewToken(PrefixSession)
	require.NoError(t, err)
	body := strings.TrimPrefix(good, PrefixSession)
	flipped := []byte(good)
	i := len(PrefixSession) + 5
	if flipped[i] == 'A' {
		flipped[i] = 'B'
	} else {
		flipped[i] = 'A'
	}

	tests := []struct{ name, tok string }{
		{"empty", ""},
		{"prefix only", PrefixSession},
		{"no prefix", body},
		{"unknown prefix", "ghp_" + body},
		{"upper-case prefix", strings.ToUpper(PrefixSession) + body},
		{"truncated", good[:len(good)-1]},
		{"extended", good + "A"},
		{"bad checksum", string(flipped)},
		{"std base64 chars", PrefixSession + strings.Repeat("+", tokenBodyLen)},
		{"padding", good[:len(good)-2] + "=="},
		{"whitespace", good[:len(good)-1] + " "},
		{"non-ascii", PrefixSession + strings.Repeat("é", tokenBodyLen/2)},
		{"nul bytes", PrefixSession + strings.Repeat("\x00", tokenBodyLen)},
		{"bearer included", "Bearer " + good},
		{"huge", PrefixSession + strings.Repeat("A", 1<<20)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseToken(tc.tok)
			require.ErrorIs(t, err, ErrInvalidToken)
			assert.Empty(t, p)
		})
	}
}

func FuzzParseToken(f *testing.F) {
	good, _, err := NewToken(PrefixAPIKey)
	require.NoError(f, err)
	for _, s := range []string{"", good, PrefixSession, "stc_k_====", good[:20]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseToken(s)
		if err == nil && !strings.HasPrefix(s, p) {
			t.Fatalf("accepted %q with prefix %q", s, p)
		}
	})
}

func TestParseScopes(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []Scope
		wantErr error
	}{
		{"single", []string{"read"}, []Scope{ScopeRead}, nil},
		{"canonical order", []string{"bots", "read", "trade"}, []Scope{ScopeRead, ScopeTrade, ScopeBots}, nil},
		{"dedup", []string{"trade", "trade", "read"}, []Scope{ScopeRead, ScopeTrade}, nil},
		{"all", []string{"admin", "bots", "trade", "read"}, AllScopes(), nil},
		{"nil", nil, nil, ErrNoScopes},
		{"empty", []string{}, nil, ErrNoScopes},
		{"unknown", []string{"read", "write"}, nil, ErrUnknownScope},
		{"empty name", []string{""}, nil, ErrUnknownScope},
		{"case sensitive", []string{"Read"}, nil, ErrUnknownScope},
		{"padded", []string{" read"}, nil, ErrUnknownScope},
		{"credentials not a scope", []string{"credentials"}, nil, ErrUnknownScope},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseScopes(tc.in)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestHasScope(t *testing.T) {
	scopes := []Scope{ScopeRead, ScopeBots}
	tests := []struct {
		need Scope
		want bool
	}{
		{ScopeRead, true},
		{ScopeBots, true},
		{ScopeTrade, false},
		{ScopeAdmin, false},
		{Scope("bogus"), false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, Has(scopes, tc.need), tc.need)
	}
	assert.False(t, Has(nil, ScopeRead))
	// admin does not imply the others: a key has exactly what it lists.
	assert.False(t, Has([]Scope{ScopeAdmin}, ScopeTrade))
	for _, s := range AllScopes() {
		assert.True(t, s.Valid())
	}
}
