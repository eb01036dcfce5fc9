package users_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/auth"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/host/internal/users"
)

const pw = "correct horse battery"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newService(t *testing.T, s *store.Store) (*users.Service, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	return serviceWithClock(t, s, c), c
}

// serviceWithClock is newService on a given clock, so that several
// services (hosts) can share one.
func serviceWithClock(t testing.TB, s *store.Store, c *clock) *users.Service {
	t.Helper()
	// OWASP's floor keeps the suite fast; production uses DefaultParams.
	h, err := auth.NewHasher(auth.OWASPMinimum(), 0)
	require.NoError(t, err)
	return users.NewService(s, h, auth.NewThrottle(limits), users.Options{Now: c.Now, SessionTTL: time.Hour}, nil)
}

// login logs in without a trusted-device token.
func login(svc *users.Service, email, password, addr string) (users.Session, error) {
	return svc.Login(context.Background(), users.LoginRequest{Email: email, Password: password, Address: addr})
}

func TestRegisterLoginLogout(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		svc, clk := newService(t, s)
		sess, err := svc.Register(ctx, "  Alice@Example.COM ", pw)
		require.NoError(t, err)
		assert.Equal(t, "alice@example.com", sess.User.Email, "emails are stored normalized")
		assert.Equal(t, users.RoleUser, sess.User.Role)
		p, err := svc.Authenticate(ctx, sess.Token)
		require.NoError(t, err)
		assert.Equal(t, sess.User.ID, p.UserID)
		assert.Equal(t, users.KindSession, p.Kind)

		_, err = svc.Register(ctx, "alice@example.com", pw)
		assert.ErrorIs(t, err, users.ErrEmailTaken)

		login, err := login(svc, "ALICE@example.com", pw, "10.0.0.1")
		require.NoError(t, err)
		assert.NotEqual(t, sess.Token, login.Token, "each login gets its own token")

		// Logout revokes only the token used.
		lp, err := svc.Authenticate(ctx, login.Token)
		require.NoError(t, err)
		require.NoError(t, svc.Logout(ctx, lp))
		_, err = svc.Authenticate(ctx, login.Token)
		assert.ErrorIs(t, err, users.ErrUnauthenticated)
		_, err = svc.Authenticate(ctx, sess.Token)
		assert.NoError(t, err)

		// Tokens expire.
		clk.Add(time.Hour)
		_, err = svc.Authenticate(ctx, sess.Token)
		assert.ErrorIs(t, err, users.ErrUnauthenticated)
	})
}

func TestLoginFailuresRevealNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		svc, clk := newService(t, s)
		_, err := svc.Register(ctx, "bob@example.com", pw)
		require.NoError(t, err)
		_, wrongPw := login(svc, "bob@example.com", "wrong password!", "10.0.0.2")
		_, noUser := login(svc, "nobody@example.com", pw, "10.0.0.2")
		_, badEmail := login(svc, "not an email", pw, "10.0.0.2")
		for _, err := range []error{wrongPw, noUser, badEmail} {
			require.ErrorIs(t, err, users.ErrInvalidCredentials)
			assert.Equal(t, users.ErrInvalidCredentials.Error(), err.Error(), "one message for every failure")
		}
		// A throttled answer says nothing either: an unknown email is
		// throttled exactly like a known one.
		for _, email := range []string{"bob@example.com", "nobody@example.com"} {
			for i := range limits.PerSource {
				clk.Add(time.Minute) // past the progressive delays
				_, err := login(svc, email, "wrong password!", "10.0.0.3")
				require.ErrorIs(t, err, users.ErrInvalidCredentials, "%s attempt %d", email, i+1)
			}
			_, err := login(svc, email, pw, "10.0.0.3")
			var th *users.ThrottledError
			require.ErrorAs(t, err, &th, email)
			assert.Positive(t, th.RetryAfter)
		}
	})
}

func TestAuthenticateRejectsGarbage(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t, storetest.OpenSQLite(t))
	for _, tok := range []string{"", "x", "stc_s_", "Bearer stc_s_abc", "stc_k_" + string(make([]byte, 48))} {
		_, err := svc.Authenticate(context.Background(), tok)
		assert.ErrorIs(t, err, users.ErrUnauthenticated, "%q", tok)
	}
	// Well formed but never issued.
	tok, _, err := auth.NewToken(auth.PrefixSession)
	require.NoError(t, err)
	_, err = svc.Authenticate(context.Background(), tok)
	assert.ErrorIs(t, err, users.ErrUnauthenticated)
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		svc, clk := newService(t, s)
		alice, err := svc.Register(ctx, "alice@example.com", pw)
		require.NoError(t, err)
		bob, err := svc.Register(ctx, "bob@example.com", pw)
		require.NoError(t, err)
		ap, err := svc.Authenticate(ctx, alice.Token)
		require.NoError(t, err)

		_, _, err = svc.CreateAPIKey(ctx, ap, users.NewAPIKey{Name: "ci", Scopes: []string{"admin"}})
		assert.ErrorIs(t, err, users.ErrInvalidInput, "a user cannot mint an admin key")
		_, _, err = svc.CreateAPIKey(ctx, ap, users.NewAPIKey{Name: "ci", Scopes: []string{"everything"}})
		assert.ErrorIs(t, err, users.ErrInvalidInput)
		for _, name := range []string{"", "ci\u202ekey", "c\u200bi", "\u2067ci\u2069", "ci\n"} {
			_, _, err = svc.CreateAPIKey(ctx, ap, users.NewAPIKey{Name: name, Scopes: []string{"read"}})
			assert.ErrorIs(t, err, users.ErrInvalidInput, "%+q", name)
		}

		key, secret, err := svc.CreateAPIKey(ctx, ap, users.NewAPIKey{Name: "grafana", Scopes: []string{"read"}})
		require.NoError(t, err)
		assert.Equal(t, secret[:len(key.Prefix)], key.Prefix)
		kp, err := svc.Authenticate(ctx, secret)
		require.NoError(t, err)
		assert.Equal(t, users.KindAPIKey, kp.Kind)
		assert.True(t, kp.Can(auth.ScopeRead))
		assert.False(t, kp.Can(auth.ScopeTrade), "a read key cannot trade")
		assert.True(t, ap.Can(auth.ScopeTrade), "a session can")
		assert.False(t, ap.Can(auth.ScopeAdmin))

		_, _, err = svc.CreateAPIKey(ctx, kp, users.NewAPIKey{Name: "wider", Scopes: []string{"trade"}})
		assert.ErrorIs(t, err, users.ErrInvalidInput, "a key cannot mint keys")

		listed, err := svc.APIKeys(ctx, alice.User.ID)
		require.NoError(t, err)
		require.Len(t, listed, 1)
		assert.False(t, listed[0].LastUsedAt.IsZero(), "authentication records last_used_at")
		assert.Equal(t, clk.Now().UnixMilli(), listed[0].LastUsedAt.UnixMilli())

		// Bob can neither see nor revoke Alice's key.
		_, err = svc.APIKey(ctx, bob.User.ID, key.ID)
		assert.ErrorIs(t, err, users.ErrNotFound)
		assert.ErrorIs(t, svc.RevokeAPIKey(ctx, bob.User.ID, key.ID), users.ErrNotFound)
		bobKeys, err := svc.APIKeys(ctx, bob.User.ID)
		require.NoError(t, err)
		assert.Empty(t, bobKeys)

		require.NoError(t, svc.RevokeAPIKey(ctx, alice.User.ID, key.ID))
		_, err = svc.Authenticate(ctx, secret)
		assert.ErrorIs(t, err, users.ErrUnauthenticated, "revocation is immediate")
		assert.ErrorIs(t, svc.RevokeAPIKey(ctx, alice.User.ID, key.ID), users.ErrNotFound)

		// Expiring keys stop working at their expiry.
		_, secret2, err := svc.CreateAPIKey(ctx, ap, users.NewAPIKey{Name: "short", Scopes: []string{"read", "trade"}, ExpiresAt: clk.Now().Add(time.Minute)})
		require.NoError(t, err)
		_, err = svc.Authenticate(ctx, secret2)
		require.NoError(t, err)
		clk.Add(time.Minute)
		_, err = svc.Authenticate(ctx, secret2)
		assert.ErrorIs(t, err, users.ErrUnauthenticated)
	})
}

func TestAdminRole(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		svc, _ := newService(t, s)
		_, err := svc.CreateUser(ctx, "ops@example.com", pw, users.RoleAdmin)
		require.NoError(t, err)
		sess, err := login(svc, "ops@example.com", pw, "127.0.0.1")
		require.NoError(t, err)
		p, err := svc.Authenticate(ctx, sess.Token)
		require.NoError(t, err)
		assert.True(t, p.Can(auth.ScopeAdmin))

		_, err = svc.Register(ctx, "carol@example.com", pw)
		require.NoError(t, err)
		u, err := svc.SetRole(ctx, "carol@example.com", users.RoleAdmin)
		require.NoError(t, err)
		assert.Equal(t, users.RoleAdmin, u.Role)
		_, err = svc.SetRole(ctx, "nobody@example.com", users.RoleAdmin)
		assert.ErrorIs(t, err, users.ErrNotFound)
	})
}

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"A@B.io": "a@b.io", " x.y+z@mail.example.org ": "x.y+z@mail.example.org"} {
		got, err := users.NormalizeEmail(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got)
	}
	for _, in := range []string{"", "a", "a@b", "Bob <bob@x.com>", "a@@b.com", "a b@c.com", string([]byte{0xff}) + "@x.com",
		// Direction-changing and invisible characters would let two
		// addresses look alike.
		"rtl\u202e@example.com", "use\u200bra@example.com", "\u2066bob@example.com\u2069", "bob@exa\u00admple.com",
		"bob\ufeff@example.com", "bob@example.com\u200e", "bo\u3164b@example.com",
	} {
		_, err := users.NormalizeEmail(in)
		assert.ErrorIs(t, err, users.ErrInvalidEmail, "%q", in)
	}
}

// PruneTokens deletes the sessions and keys that ended (expired or were
// revoked) before the cutoff, and nothing that still works.
func TestPruneTokens(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		svc, clk := newService(t, s) // sessions live one hour
		first, err := svc.Register(ctx, "alice@example.com", pw)
		require.NoError(t, err)
		ap, err := svc.Authenticate(ctx, first.Token)
		require.NoError(t, err)
		_, live, err := svc.CreateAPIKey(ctx, ap, users.NewAPIKey{Name: "live", Scopes: []string{"read"}})
		require.NoError(t, err)
		gone, _, err := svc.CreateAPIKey(ctx, ap, users.NewAPIKey{Name: "gone", Scopes: []string{"read"}})
		require.NoError(t, err)
		require.NoError(t, svc.RevokeAPIKey(ctx, first.User.ID, gone.ID))

		clk.Add(2 * time.Hour) // the first session expired an hour ago
		second, err := login(svc, "alice@example.com", pw, "192.0.2.1")
		require.NoError(t, err)
		_, soon, err := svc.CreateAPIKey(ctx, principal(t, svc, second.Token), users.NewAPIKey{Name: "soon", Scopes: []string{"read"}, ExpiresAt: clk.Now().Add(time.Minute)})
		require.NoError(t, err)

		n, err := svc.PruneTokens(ctx, clk.Now().Add(-30*time.Minute))
		require.NoError(t, err)
		assert.EqualValues(t, 2, n, "the expired session and the revoked key")
		for name, token := range map[string]string{"live key": live, "current session": second.Token, "key expiring later": soon} {
			_, err := svc.Authenticate(ctx, token)
			assert.NoError(t, err, name)
		}
		n, err = svc.PruneTokens(ctx, clk.Now().Add(-30*time.Minute))
		require.NoError(t, err)
		assert.Zero(t, n, "nothing else had ended")
	})
}

// principal authenticates token, requiring success.
func principal(t *testing.T, svc *users.Service, token string) users.Principal {
	t.Helper()
	p, err := svc.Authenticate(context.Background(), token)
	require.NoError(t, err)
	return p
}
