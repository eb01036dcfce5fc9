package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"
	"time"
)

// ThrottleConfig sets the login limits. Every limit counts password checks
// (attempts that were let through to the hash) within Window; a check that
// succeeds stops counting.
type ThrottleConfig struct {
	// PerSource caps checks of one account from one client address (IPv6
	// by /64) without a trusted-device token.
	PerSource int
	// PerAccount caps checks of one account without a trusted-device token,
	// whatever the addresses. It is the hard bound on guessing.
	PerAccount int
	// PerAddress caps checks from one address across all accounts without
	// a trusted-device token, against spraying one password over many
	// accounts.
	PerAddress int
	// PerDevice caps checks made with one trusted-device token. These do
	// not count towards the limits above, so an attacker who spends them
	// does not lock out the owner's devices.
	PerDevice int
	// Window is the length of the sliding window.
	Window time.Duration
	// Delay is the wait after the first check of a source or device; it
	// doubles with each further check in the window, so a burst from one
	// place gets one check, not PerSource.
	Delay time.Duration
}

// DefaultThrottleConfig returns the documented limits (docs/SECURITY.md):
// within 15 minutes, at most 5 checks per account and address, 10 per
// account from all unrecognized devices together, 20 per address, and 5
// per trusted device; waits of 1, 2, 4 and 8 s between the checks of one
// source. 10 per 15 min is far below NIST's ceiling of 100 consecutive
// failures.
func DefaultThrottleConfig() ThrottleConfig {
	return ThrottleConfig{PerSource: 5, PerAccount: 10, PerAddress: 20, PerDevice: 5, Window: 15 * time.Minute, Delay: time.Second}
}

// Throttle is the login throttling policy: given the checks already
// counted, it decides whether one more may run and, if not, how long to
// wait. It holds no state, so it is the same on every host; the counting
// itself lives in the database (package users), where a check is reserved
// atomically before the password is hashed.
type Throttle struct {
	cfg ThrottleConfig
}

// NewThrottle returns the policy for cfg; zero or negative fields take
// their DefaultThrottleConfig values.
func NewThrottle(cfg ThrottleConfig) *Throttle {
	def := DefaultThrottleConfig()
	for _, f := range []struct{ v, d *int }{
		{&cfg.PerSource, &def.PerSource}, {&cfg.PerAccount, &def.PerAccount},
		{&cfg.PerAddress, &def.PerAddress}, {&cfg.PerDevice, &def.PerDevice},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	if cfg.Window <= 0 {
		cfg.Window = def.Window
	}
	if cfg.Delay <= 0 {
		cfg.Delay = def.Delay
	}
	return &Throttle{cfg: cfg}
}

// Config returns the limits in force.
func (t *Throttle) Config() ThrottleConfig { return t.cfg }

// Check is a password check counted against a login, as it relates to the
// login being decided.
type Check struct {
	At time.Time
	// SameAccount and SameAddress say whether the check was for the same
	// account, and from the same address, as the login being decided
	// (checks made with a trusted-device token are never passed for an
	// untrusted login).
	SameAccount, SameAddress bool
}

// Wait decides a login. past holds the counted checks that share the
// login's account or address (untrusted logins), or its device (trusted
// logins, every one of them), in any order; checks older than the window
// are ignored. It returns 0 when the login may run, or else how long until
// it may. It never counts: the caller records the check when Wait says 0,
// in the same atomic step.
func (t *Throttle) Wait(past []Check, trusted bool, now time.Time) time.Duration {
	var source, account, address bucket
	cutoff := now.Add(-t.cfg.Window)
	for _, c := range past {
		if !c.At.After(cutoff) {
			continue
		}
		if trusted {
			source.add(c.At)
			continue
		}
		if c.SameAccount && c.SameAddress {
			source.add(c.At)
		}
		if c.SameAccount {
			account.add(c.At)
		}
		if c.SameAddress {
			address.add(c.At)
		}
	}
	if trusted {
		return t.progressive(source, t.cfg.PerDevice, now)
	}
	return max(t.progressive(source, t.cfg.PerSource, now),
		t.hard(account, t.cfg.PerAccount, now), t.hard(address, t.cfg.PerAddress, now))
}

// bucket summarizes the checks of one limit.
type bucket struct {
	n              int
	oldest, newest time.Time
}

func (b *bucket) add(at time.Time) {
	if b.n == 0 || at.Before(b.oldest) {
		b.oldest = at
	}
	if b.n == 0 || at.After(b.newest) {
		b.newest = at
	}
	b.n++
}

// hard is the wait of a plain sliding-window limit: none below limit,
// otherwise until the oldest check leaves the window. With more than limit
// checks (a smaller limit configured since) the oldest is still the right
// answer: it is only approximate, never shorter than needed by more than
// what the configuration change allowed.
func (t *Throttle) hard(b bucket, limit int, now time.Time) time.Duration {
	if b.n < limit {
		return 0
	}
	return b.oldest.Add(t.cfg.Window).Sub(now)
}

// progressive is hard plus the doubling delay after the newest check:
// Delay after the first, 2×Delay after the second, and so on.
func (t *Throttle) progressive(b bucket, limit int, now time.Time) time.Duration {
	if w := t.hard(b, limit, now); w > 0 || b.n == 0 {
		return max(w, 0)
	}
	delay := t.cfg.Delay << min(b.n-1, 20)
	return max(b.newest.Add(delay).Sub(now), 0)
}

// NormalizeAccount returns the throttle key for an email: trimmed and
// lower-cased, so "Bob@X.com" and "bob@x.com " share one counter.
func NormalizeAccount(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// NormalizeAddress returns the throttle key for a client address: an IPv4
// address as it is, an IPv6 address as its /64, which is what one customer
// line gets, so rotating through a prefix does not buy more attempts.
// Anything that does not parse is kept (bounded) as it is.
func NormalizeAddress(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		if len(addr) > 64 {
			addr = addr[:64]
		}
		return addr
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64) // cannot fail for a valid IPv6 address
	return p.String()
}

// ThrottleKey hashes an account or address key for storage: fixed length
// whatever the client sent, and no email or address in the table of
// attempts.
func ThrottleKey(kind, key string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + key))
	return hex.EncodeToString(sum[:])
}
