package accounts

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/schema"
)

// An adapter that echoes what it was sent in an error message does not
// leak it through the manager's error, and the error chain survives.
func TestRedactKeepsChainAndHidesValues(t *testing.T) {
	t.Parallel()
	cause := broker.NewError(broker.ErrAuthFailed, "login alice with password hunter2-secret refused")
	err := redact(cause, map[string]string{"username": "alice", "password": "hunter2-secret", "code": "1"})
	assert.ErrorIs(t, err, broker.ErrAuthFailed)
	assert.NotContains(t, err.Error(), "hunter2-secret")
	assert.Contains(t, err.Error(), "[redacted]")
	assert.Contains(t, err.Error(), "refused")
	assert.NoError(t, redact(nil, nil))
}

// The login comes from the first non-sensitive login field; sensitive
// fields never become the display login.
func TestLoginFromMetadata(t *testing.T) {
	t.Parallel()
	meta := broker.Metadata{Credentials: []schema.Field{
		{Name: "email", Type: schema.String}, {Name: "login", Type: schema.String, Sensitive: true},
		{Name: "password", Type: schema.String, Sensitive: true},
	}}
	in := connectInput{broker: "x", mode: broker.Practice, creds: map[string]string{"login": "secret-login", "email": " a@b.c ", "password": "p"}}
	require.NoError(t, checkAgainstMetadata(&in, meta))
	assert.Equal(t, "a@b.c", in.login)

	in = connectInput{broker: "x", mode: broker.Practice, creds: map[string]string{"login": "secret-login", "password": "p"}}
	require.NoError(t, checkAgainstMetadata(&in, meta))
	assert.Empty(t, in.login, "a sensitive field is not a display login")

	in = connectInput{broker: "x", mode: broker.Practice, creds: map[string]string{"code": "1"}}
	assert.ErrorIs(t, checkAgainstMetadata(&in, meta), ErrInvalidRequest, "code needs the SecondFactor capability")
}

// The login an account is shown by follows the names rule; secret fields
// are passed on as typed, whatever they hold.
func TestLoginRefusesInvisibleCharacters(t *testing.T) {
	t.Parallel()
	meta := broker.Metadata{Credentials: []schema.Field{{Name: "username", Type: schema.String}, {Name: "password", Type: schema.String, Sensitive: true}}}
	for _, login := range []string{"rtl\u202e@example.com", "use\u200bra", "\u2066alice\u2069", "bob\ufeff"} {
		in := connectInput{broker: "x", mode: broker.Practice, creds: map[string]string{"username": login, "password": "p"}}
		assert.ErrorIs(t, checkAgainstMetadata(&in, meta), ErrInvalidRequest, "%+q", login)
	}
	in := connectInput{broker: "x", mode: broker.Practice, creds: map[string]string{"username": "алиса", "password": "p\u200bw\u202e"}}
	require.NoError(t, checkAgainstMetadata(&in, meta))
	assert.Equal(t, "алиса", in.login)

	_, err := validateConnect(ConnectRequest{Broker: "paper", Credentials: map[string]string{"user\u200bname": "alice"}})
	assert.ErrorIs(t, err, ErrInvalidRequest, "a credential name is a name")
}

// The per-user lock serialises one user, not everyone, and gives up when
// the context ends.
// FuzzValidateConnect: no input panics, and every accepted request keeps
// the documented bounds.
func FuzzValidateConnect(f *testing.F) {
	f.Add("paper", 0, "username", "alice", "password", "pw")
	f.Add("paper", 2, "code", "000000", "", "")
	f.Add("", 9, "\x00", "\xff", "k", strings.Repeat("v", 2000))
	f.Add("PAPER/../x", -1, "username", "a\nb", "password", "")
	f.Fuzz(func(t *testing.T, name string, mode int, k1, v1, k2, v2 string) {
		req := ConnectRequest{Broker: name, Mode: broker.Mode(mode), Credentials: map[string]string{k1: v1, k2: v2}}
		in, err := validateConnect(req)
		if err != nil {
			if !errors.Is(err, ErrInvalidRequest) && !errors.Is(err, ErrUnknownBroker) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if in.mode != broker.Practice && in.mode != broker.Real {
			t.Fatalf("accepted mode %v", in.mode)
		}
		if mode == 0 && in.mode != broker.Practice {
			t.Fatalf("the default mode is %v, not practice", in.mode)
		}
		if len(in.creds) == 0 || len(in.creds) > MaxCredentials {
			t.Fatalf("accepted %d credentials", len(in.creds))
		}
		for k, v := range in.creds {
			if k == "" || len(k) > MaxCredentialKey || len(v) > MaxCredentialValue || !utf8.ValidString(k+v) || !printable(k) || !printable(v) {
				t.Fatalf("accepted credential %q", k)
			}
		}
		if _, ok := in.stored()[codeField]; ok {
			t.Fatal("the code would be stored")
		}
	})
}

// Users take turns in the resume order, each user's accounts in their
// own order, and the accounts asked for first are split off in order.
func TestResumeOrder(t *testing.T) {
	t.Parallel()
	rs := []row{{ID: 1, UserID: 7}, {ID: 2, UserID: 7}, {ID: 3, UserID: 7}, {ID: 4, UserID: 8}, {ID: 5, UserID: 9}, {ID: 6, UserID: 9}}
	ids := func(rs []row) []int64 {
		var out []int64
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	assert.Equal(t, []int64{1, 4, 5, 2, 6, 3}, ids(fairOrder(rs)))
	assert.Empty(t, fairOrder(nil))
	first, rest := splitFirst(rs, []int64{6, 2, 99})
	assert.Equal(t, []int64{2, 6}, ids(first))
	assert.Equal(t, []int64{1, 3, 4, 5}, ids(rest))
}
