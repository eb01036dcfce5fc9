package users_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/auth"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/host/internal/users"
)

// limits are the throttle's limits in these tests: smaller than the
// defaults, with the same shape (PerSource < PerAccount < PerAddress), so
// that few argon2 hashes, slow under the race detector, reach them. The
// policy with the documented defaults is tested in package auth, and
// TestOneAddressCannotLockOutTheOwner runs the repro on them.
var limits = auth.ThrottleConfig{PerSource: 2, PerAccount: 4, PerAddress: 6, PerDevice: 2, Window: 15 * time.Minute, Delay: time.Second}

// outcome classifies a login result: "checked" (the password was hashed
// and was wrong), "throttled", "ok", or "error" (reported). It is safe to
// call from any goroutine.
func outcome(t testing.TB, err error) string {
	t.Helper()
	var th *users.ThrottledError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, users.ErrInvalidCredentials):
		return "checked"
	case errors.As(err, &th):
		assert.Positive(t, th.RetryAfter)
		return "throttled"
	}
	t.Errorf("unexpected login error: %v", err)
	return "error"
}

// hosts opens n stores on one database (a PostgreSQL schema or an SQLite
// file), each with its own connection pool, as n hosts would.
func hosts(t *testing.T, dialect string, n int) []*store.Store {
	t.Helper()
	url, dir := "", t.TempDir()
	if dialect == store.DialectPostgres {
		url = storetest.NewSchema(t).URL
	}
	out := make([]*store.Store, n)
	for i := range out {
		s, err := store.Open(t.Context(), url, dir, hclog.NewNullLogger())
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		out[i] = s
	}
	return out
}

// Item 2 of issue 12: wrong passwords sent all at once, from many
// addresses and through two hosts sharing the database, get at most the
// documented number of password checks; the rest are refused before any
// hashing, and then the right password is refused too until the window
// has passed.
func TestParallelGuessesGetAtMostTheLimit(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{store.DialectPostgres, store.DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			clk := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
			var svcs []*users.Service
			for _, s := range hosts(t, dialect, 2) {
				svcs = append(svcs, serviceWithClock(t, s, clk))
			}
			_, err := svcs[0].Register(t.Context(), "bob@example.com", pw)
			require.NoError(t, err)

			const addresses, perAddress = 20, 3
			var checked, throttled atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for a := range addresses {
				for i := range perAddress {
					wg.Go(func() {
						<-start
						svc := svcs[(a+i)%len(svcs)]
						// Case and space variants are the same account.
						email := []string{"bob@example.com", " BOB@example.com", "Bob@Example.COM "}[i]
						_, err := login(svc, email, fmt.Sprintf("guess number %d-%d", a, i), fmt.Sprintf("198.51.100.%d", a+1))
						switch outcome(t, err) {
						case "checked":
							checked.Add(1)
						case "throttled":
							throttled.Add(1)
						}
					})
				}
			}
			close(start)
			wg.Wait()
			t.Logf("%d checked, %d throttled", checked.Load(), throttled.Load())
			assert.LessOrEqual(t, checked.Load(), int64(limits.PerAccount), "no more password checks than the account's limit")
			assert.Positive(t, checked.Load())
			assert.EqualValues(t, addresses*perAddress, checked.Load()+throttled.Load())

			// Enough spaced guesses to be sure the cap is reached whatever
			// the race let through above.
			for i := range limits.PerAccount {
				clk.Add(10 * time.Second)
				_, _ = login(svcs[i%2], "bob@example.com", "another guess!", fmt.Sprintf("203.0.113.%d", i+1))
			}
			_, err = login(svcs[0], "bob@example.com", pw, "192.0.2.200")
			assert.Equal(t, "throttled", outcome(t, err), "the right password is refused too, from a fresh address")
			_, err = login(svcs[1], "bob@example.com", pw, "192.0.2.201")
			assert.Equal(t, "throttled", outcome(t, err), "and through the other host")

			clk.Add(limits.Window)
			_, err = login(svcs[1], "bob@example.com", pw, "192.0.2.200")
			assert.NoError(t, err, "the window passed")
		})
	}
}

// A burst from one address gets one check: the next waits for the
// progressive delay, which doubles with each check, and the source is
// locked after PerSource checks.
func TestProgressiveDelayPerSource(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc, clk := newService(t, s)
		_, err := svc.Register(t.Context(), "carol@example.com", pw)
		require.NoError(t, err)
		const addr = "2001:db8:1:2::5"
		var wg sync.WaitGroup
		var checked atomic.Int64
		for range 8 {
			wg.Go(func() {
				if _, err := login(svc, "carol@example.com", "wrong password!", addr); outcome(t, err) == "checked" {
					checked.Add(1)
				}
			})
		}
		wg.Wait()
		assert.EqualValues(t, 1, checked.Load(), "a parallel burst from one address gets one check")

		delay := limits.Delay
		for n := 2; n <= limits.PerSource; n++ {
			clk.Add(delay - time.Millisecond)
			// Another address of the same /64 is the same source.
			_, err := login(svc, "carol@example.com", "wrong password!", fmt.Sprintf("2001:db8:1:2::%x", n+100))
			require.Equal(t, "throttled", outcome(t, err), "check %d before its delay", n)
			clk.Add(time.Millisecond)
			_, err = login(svc, "carol@example.com", "wrong password!", addr)
			require.Equal(t, "checked", outcome(t, err), "check %d after %s", n, delay)
			delay *= 2
		}
		clk.Add(time.Hour / 4 / 2)
		_, err = login(svc, "carol@example.com", pw, addr)
		assert.Equal(t, "throttled", outcome(t, err), "after PerSource failures the source waits for the window")
		_, err = login(svc, "carol@example.com", pw, "2001:db8:1:3::5")
		assert.NoError(t, err, "another /64 is another source: the account is not locked")
	})
}

// Item 3 of issue 12: whoever guesses cannot lock the owner out. One
// address cannot even lock out an owner who has no trusted device; many
// addresses can exhaust the account's budget for unrecognized devices, but
// a trusted device, issued at the owner's last login, still gets in.
func TestAttackerCannotLockOutTheOwner(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		svc, clk := newService(t, s)
		reg, err := svc.Register(ctx, "dave@example.com", pw)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(reg.DeviceToken, auth.PrefixDevice), "registering trusts the device")
		_, err = svc.Authenticate(ctx, reg.DeviceToken)
		assert.ErrorIs(t, err, users.ErrUnauthenticated, "a device token is no bearer token")
		other, err := svc.Register(ctx, "erin@example.com", pw)
		require.NoError(t, err)

		// One address: PerSource wrong passwords, case and space variants
		// included, end that address's tries but lock nobody else out.
		for i := range limits.PerSource {
			clk.Add(30 * time.Second)
			email := []string{"DAVE@example.com", " dave@example.com"}[i%2]
			_, err := login(svc, email, "wrong password!", "198.51.100.7")
			require.Equal(t, "checked", outcome(t, err), "guess %d", i+1)
		}
		_, err = login(svc, "dave@example.com", pw, "198.51.100.7")
		assert.Equal(t, "throttled", outcome(t, err), "that address is done with this account")
		_, err = login(svc, "dave@example.com", pw, "192.0.2.10")
		require.NoError(t, err, "the owner, from elsewhere and without a device token, is not locked out")

		// Many addresses: the account's budget for unrecognized devices runs
		// out, for the owner's untrusted logins too.
		for i := 0; ; i++ {
			clk.Add(time.Second)
			_, err := login(svc, "  DAVE@EXAMPLE.COM", "wrong password!", fmt.Sprintf("203.0.113.%d", i+1))
			if outcome(t, err) == "throttled" {
				require.Equal(t, limits.PerAccount, limits.PerSource+i, "the account cap counts every variant and address")
				break
			}
		}
		_, err = login(svc, "dave@example.com", pw, "192.0.2.11")
		assert.Equal(t, "throttled", outcome(t, err))

		// The owner's trusted device still gets in, with the email in any
		// case, and the answer carries a fresh device token.
		sess, err := svc.Login(ctx, users.LoginRequest{Email: "Dave@example.com", Password: pw, Address: "192.0.2.11", DeviceToken: reg.DeviceToken})
		require.NoError(t, err)
		require.NotEmpty(t, sess.DeviceToken)
		assert.NotEqual(t, reg.DeviceToken, sess.DeviceToken, "the device token is replaced at each login")
		assert.True(t, sess.DeviceExpiresAt.After(clk.Now()))

		// The replaced token, another user's token, an unknown one or a
		// session token are no trusted device.
		unknown, _, err := auth.NewToken(auth.PrefixDevice)
		require.NoError(t, err)
		for name, tok := range map[string]string{
			"replaced": reg.DeviceToken, "another user's": other.DeviceToken, "unknown": unknown, "session": sess.Token, "garbage": "x",
		} {
			_, err := svc.Login(ctx, users.LoginRequest{Email: "dave@example.com", Password: pw, Address: "192.0.2.12", DeviceToken: tok})
			assert.Equal(t, "throttled", outcome(t, err), name)
		}

		// A trusted device has a budget of its own: wrong passwords with it
		// use that up and nothing else.
		for i := range limits.PerDevice {
			clk.Add(time.Minute)
			_, err := svc.Login(ctx, users.LoginRequest{Email: "dave@example.com", Password: "wrong password!", Address: "192.0.2.13", DeviceToken: sess.DeviceToken})
			require.Equal(t, "checked", outcome(t, err), "device guess %d", i+1)
		}
		_, err = svc.Login(ctx, users.LoginRequest{Email: "dave@example.com", Password: pw, Address: "192.0.2.13", DeviceToken: sess.DeviceToken})
		assert.Equal(t, "throttled", outcome(t, err), "the device's own budget is spent")
		_, err = login(svc, "erin@example.com", pw, "192.0.2.13")
		assert.NoError(t, err, "device checks do not count against the address")

		// A device expires.
		clk.Add(limits.Window)
		sess, err = svc.Login(ctx, users.LoginRequest{Email: "dave@example.com", Password: pw, Address: "192.0.2.14", DeviceToken: sess.DeviceToken})
		require.NoError(t, err)
		clk.Add(90 * 24 * time.Hour)
		for range limits.PerAccount {
			clk.Add(time.Second)
			_, _ = login(svc, "dave@example.com", "wrong password!", fmt.Sprintf("203.0.114.%d", clk.Now().Second()))
		}
		_, err = svc.Login(ctx, users.LoginRequest{Email: "dave@example.com", Password: pw, Address: "192.0.2.14", DeviceToken: sess.DeviceToken})
		assert.Equal(t, "throttled", outcome(t, err), "an expired device is an unrecognized one")
	})
}

// The repro with the documented limits: five wrong passwords from
// one address, in case and space variants of the email, used to lock the
// account for every address. Now they lock that address out of that
// account, and the owner logs in from anywhere else.
func TestOneAddressCannotLockOutTheOwner(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		def := auth.DefaultThrottleConfig()
		h, err := auth.NewHasher(auth.OWASPMinimum(), 0)
		require.NoError(t, err)
		clk := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
		svc := users.NewService(s, h, auth.NewThrottle(def), users.Options{Now: clk.Now}, nil)
		_, err = svc.Register(t.Context(), "ivan@example.com", pw)
		require.NoError(t, err)
		for i, email := range []string{"ivan@example.com", "IVAN@example.com", " ivan@example.com", "Ivan@Example.Com", "ivan@example.com  "} {
			clk.Add(20 * time.Second) // past the progressive delays
			_, err := login(svc, email, "wrong password!", "198.51.100.7")
			require.Equal(t, "checked", outcome(t, err), "guess %d", i+1)
		}
		require.Equal(t, 5, def.PerSource, "docs/SECURITY.md")
		_, err = login(svc, "ivan@example.com", pw, "198.51.100.7")
		assert.Equal(t, "throttled", outcome(t, err))
		_, err = login(svc, "ivan@example.com", pw, "192.0.2.1")
		assert.NoError(t, err)
	})
}

// One address spraying a password over many accounts is stopped by the
// per-address limit, whether the accounts exist or not.
func TestAddressLimitAcrossAccounts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc, clk := newService(t, s)
		_, err := svc.Register(t.Context(), "frank@example.com", pw)
		require.NoError(t, err)
		for i := range limits.PerAddress {
			clk.Add(time.Second)
			_, err := login(svc, fmt.Sprintf("user%d@example.com", i), pw, "198.51.100.99")
			require.Equal(t, "checked", outcome(t, err), "spray %d", i+1)
		}
		_, err = login(svc, "frank@example.com", pw, "198.51.100.99")
		assert.Equal(t, "throttled", outcome(t, err))
		_, err = login(svc, "frank@example.com", pw, "198.51.100.100")
		assert.NoError(t, err)
	})
}

// Attempts that left the window and expired devices are pruned with the
// ended tokens; nothing the throttle still counts is.
func TestPruneLoginState(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc, clk := newService(t, s)
		_, err := svc.Register(context.Background(), "gina@example.com", pw)
		require.NoError(t, err)
		for i := range 3 {
			clk.Add(time.Minute)
			_, _ = login(svc, "gina@example.com", "wrong password!", fmt.Sprintf("198.51.100.%d", i))
		}
		n, err := svc.PruneTokens(t.Context(), clk.Now().Add(-time.Hour))
		require.NoError(t, err)
		assert.Zero(t, n, "the failures are still counted")
		clk.Add(limits.Window - time.Minute) // the first two leave the window
		n, err = svc.PruneTokens(t.Context(), clk.Now().Add(-time.Hour))
		require.NoError(t, err)
		assert.EqualValues(t, 2, n, "the two failures that left the window")
		clk.Add(91 * 24 * time.Hour)
		n, err = svc.PruneTokens(t.Context(), clk.Now())
		require.NoError(t, err)
		assert.EqualValues(t, 3, n, "the last failure, the expired device and the expired session")
	})
}

// Item 10 of issue 12 at registration: invisible and direction-changing
// characters are refused in emails, and passwords need visible characters.
func TestRegisterRefusesInvisibleCharacters(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t, storetest.OpenSQLite(t))
	for _, email := range []string{"rtl\u202e@example.com", "use\u200bra@example.com"} {
		_, err := svc.Register(t.Context(), email, pw)
		assert.ErrorIs(t, err, users.ErrInvalidEmail, "%+q", email)
	}
	for _, password := range []string{strings.Repeat("\u200b", 10), "short\u200b\u200b\u200b\u200b\u200b", strings.Repeat("\u202e ", 10)} {
		_, err := svc.Register(t.Context(), "hana@example.com", password)
		assert.ErrorIs(t, err, users.ErrInvalidInput, "%+q", password)
	}
	_, err := svc.Register(t.Context(), "hana@example.com", "pässwörd mit ümlaut")
	assert.NoError(t, err)
}
