package auth

import (
	"strings"
	"sync"
	"time"
)

// ThrottleConfig sets the login failure limits.
type ThrottleConfig struct {
	AccountLimit int           // failures per account within Window before lock
	IPLimit      int           // failures per IP within Window before lock
	Window       time.Duration // sliding window length
	MaxKeys      int           // cap on tracked accounts, and separately on IPs
}

// DefaultThrottleConfig returns 5 failures per account and 20 per IP per
// 15 minutes, tracking at most 100,000 keys of each kind (a few MB).
// 5 per 15 min is far below NIST's ceiling of 100 consecutive failures.
func DefaultThrottleConfig() ThrottleConfig {
	return ThrottleConfig{AccountLimit: 5, IPLimit: 20, Window: 15 * time.Minute, MaxKeys: 100_000}
}

// Throttle limits failed logins per account and per IP, in memory and safe
// for concurrent use. It starts no goroutines: expired entries are swept
// opportunistically during calls.
//
// It is a sliding-window log (the times of the last Limit failures per key)
// rather than golang.org/x/time/rate: a token bucket refills continuously,
// so after 5 failures it would allow a 6th try 3 minutes later instead of
// locking for the window, and it cannot answer "when does the oldest failure
// expire", which is exactly the Retry-After value. The log holds at most
// Limit timestamps per key, so memory per key is fixed.
type Throttle struct {
	cfg       ThrottleConfig
	mu        sync.Mutex
	accounts  map[string]*failureLog
	ips       map[string]*failureLog
	lastSweep time.Time
}

// failureLog holds up to limit failure times, oldest first.
type failureLog struct {
	times []time.Time
}

// NewThrottle returns a Throttle for cfg; zero or negative fields take
// their DefaultThrottleConfig values.
func NewThrottle(cfg ThrottleConfig) *Throttle {
	def := DefaultThrottleConfig()
	if cfg.AccountLimit <= 0 {
		cfg.AccountLimit = def.AccountLimit
	}
	if cfg.IPLimit <= 0 {
		cfg.IPLimit = def.IPLimit
	}
	if cfg.Window <= 0 {
		cfg.Window = def.Window
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = def.MaxKeys
	}
	return &Throttle{
		cfg:      cfg,
		accounts: make(map[string]*failureLog),
		ips:      make(map[string]*failureLog),
	}
}

// NormalizeAccount returns the throttle key for an email: trimmed and
// lower-cased, so "Bob@X.com" and "bob@x.com " share one counter.
func NormalizeAccount(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// Allow reports whether a login attempt for account from ip may proceed.
// When it may not, retryAfter is how long until the oldest counted failure
// leaves the window (the longer of the account and IP waits). Call it before
// verifying the password, and answer 429 with Retry-After when !ok. An empty
// account or ip skips that dimension.
func (t *Throttle) Allow(account, ip string, now time.Time) (ok bool, retryAfter time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.maybeSweep(now)
	wait := t.wait(t.accounts, NormalizeAccount(account), t.cfg.AccountLimit, now)
	if w := t.wait(t.ips, ip, t.cfg.IPLimit, now); w > wait {
		wait = w
	}
	return wait == 0, wait
}

// Failure records a failed login for account and ip, including attempts
// for accounts that do not exist, so probing unknown emails is throttled
// the same way as guessing passwords.
func (t *Throttle) Failure(account, ip string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.maybeSweep(now)
	t.record(t.accounts, NormalizeAccount(account), t.cfg.AccountLimit, now)
	t.record(t.ips, ip, t.cfg.IPLimit, now)
}

// Success clears the account's failures after a correct password. The IP
// counter is kept on purpose: otherwise an attacker holding one valid
// account could reset their IP budget between guesses at other accounts.
func (t *Throttle) Success(account, _ string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.accounts, NormalizeAccount(account))
}

// Len returns the number of tracked accounts and IPs, for metrics and tests.
func (t *Throttle) Len() (accounts, ips int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.accounts), len(t.ips)
}

// wait returns how long key stays locked, or 0 if it is not.
func (t *Throttle) wait(m map[string]*failureLog, key string, limit int, now time.Time) time.Duration {
	if key == "" {
		return 0
	}
	l := m[key]
	if l == nil {
		return 0
	}
	l.prune(now, t.cfg.Window)
	if len(l.times) == 0 {
		delete(m, key)
		return 0
	}
	if len(l.times) < limit {
		return 0
	}
	return l.times[0].Add(t.cfg.Window).Sub(now)
}

func (t *Throttle) record(m map[string]*failureLog, key string, limit int, now time.Time) {
	if key == "" {
		return
	}
	l := m[key]
	if l == nil {
		if len(m) >= t.cfg.MaxKeys {
			t.makeRoom(m, now)
		}
		l = &failureLog{times: make([]time.Time, 0, limit)}
		m[key] = l
	}
	l.prune(now, t.cfg.Window)
	if len(l.times) == limit {
		// Keep only the newest limit failures: older ones cannot extend the
		// lock beyond what the newest limit already do.
		copy(l.times, l.times[1:])
		l.times = l.times[:limit-1]
	}
	l.times = append(l.times, now)
}

// makeRoom frees at least one slot in a full map: first by dropping expired
// entries, then by evicting the entry whose latest failure is oldest. The
// eviction is O(n) but runs only under a flood of distinct keys, and the
// per-IP limit bounds how fast any one source can cause it.
func (t *Throttle) makeRoom(m map[string]*failureLog, now time.Time) {
	sweep(m, now, t.cfg.Window)
	if len(m) < t.cfg.MaxKeys {
		return
	}
	var victim string
	var oldest time.Time
	for k, l := range m {
		if len(l.times) == 0 {
			delete(m, k) // cannot happen today; never index an empty log
			return
		}
		last := l.times[len(l.times)-1]
		if victim == "" || last.Before(oldest) {
			victim, oldest = k, last
		}
	}
	delete(m, victim)
}

// maybeSweep drops expired entries at most once per window, so idle keys do
// not accumulate without a background goroutine.
func (t *Throttle) maybeSweep(now time.Time) {
	if now.Sub(t.lastSweep) < t.cfg.Window {
		return
	}
	t.lastSweep = now
	sweep(t.accounts, now, t.cfg.Window)
	sweep(t.ips, now, t.cfg.Window)
}

func sweep(m map[string]*failureLog, now time.Time, window time.Duration) {
	for k, l := range m {
		l.prune(now, window)
		if len(l.times) == 0 {
			delete(m, k)
		}
	}
}

// prune drops failures at or before now-window.
func (l *failureLog) prune(now time.Time, window time.Duration) {
	cutoff := now.Add(-window)
	i := 0
	for i < len(l.times) && !l.times[i].After(cutoff) {
		i++
	}
	if i > 0 {
		l.times = append(l.times[:0], l.times[i:]...)
	}
}
