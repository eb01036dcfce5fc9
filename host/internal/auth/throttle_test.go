package auth

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func TestThrottleAccountLock(t *testing.T) {
	th := NewThrottle(DefaultThrottleConfig())
	const acct, ip = "bob@example.com", "198.51.100.7"

	// Failures spaced a minute apart; the 5th locks the account.
	for i := range 5 {
		now := t0.Add(time.Duration(i) * time.Minute)
		ok, _ := th.Allow(acct, ip, now)
		require.True(t, ok, "attempt %d", i+1)
		th.Failure(acct, ip, now)
	}
	now := t0.Add(5 * time.Minute)
	ok, retry := th.Allow(acct, ip, now)
	require.False(t, ok)
	// The oldest failure (t0) leaves the window at t0+15m.
	assert.Equal(t, 10*time.Minute, retry)

	// Case and whitespace variants are the same account, from any IP.
	ok, retry = th.Allow("  BOB@Example.COM ", "203.0.113.9", now)
	assert.False(t, ok)
	assert.Equal(t, 10*time.Minute, retry)

	// Other accounts, even from the same IP, are unaffected.
	ok, retry = th.Allow("alice@example.com", ip, now)
	assert.True(t, ok)
	assert.Zero(t, retry)

	// Just before the oldest failure expires: still locked for 1 ns.
	ok, retry = th.Allow(acct, ip, t0.Add(15*time.Minute-time.Nanosecond))
	assert.False(t, ok)
	assert.Equal(t, time.Nanosecond, retry)

	// Window expiry of the oldest failure frees one attempt.
	ok, retry = th.Allow(acct, ip, t0.Add(15*time.Minute))
	assert.True(t, ok)
	assert.Zero(t, retry)
}

func TestThrottleSlidingWindow(t *testing.T) {
	th := NewThrottle(DefaultThrottleConfig())
	for range 5 {
		th.Failure("a@x", "", t0)
	}
	// Failures recorded while locked (e.g. racing requests) must not shorten
	// the lock: the oldest counted failure is still t0.
	for range 4 {
		th.Failure("a@x", "", t0.Add(10*time.Minute))
	}
	ok, retry := th.Allow("a@x", "", t0.Add(14*time.Minute))
	assert.False(t, ok)
	assert.Equal(t, time.Minute, retry)

	// At t0+15m the t0 failures leave the window; 4 remain, so one more try.
	ok, _ = th.Allow("a@x", "", t0.Add(15*time.Minute))
	require.True(t, ok)
	th.Failure("a@x", "", t0.Add(15*time.Minute))
	ok, retry = th.Allow("a@x", "", t0.Add(15*time.Minute))
	assert.False(t, ok)
	assert.Equal(t, 10*time.Minute, retry, "locked until the t0+10m failures expire")
}

func TestThrottleSuccessResetsAccountOnly(t *testing.T) {
	th := NewThrottle(ThrottleConfig{AccountLimit: 5, IPLimit: 7, Window: 15 * time.Minute})
	const ip = "192.0.2.1"
	for range 4 {
		th.Failure("carol@example.com", ip, t0)
	}
	th.Success("Carol@Example.com", ip)
	accts, ips := th.Len()
	assert.Equal(t, 0, accts)
	assert.Equal(t, 1, ips, "success must not reset the IP counter")

	for range 4 {
		th.Failure("carol@example.com", ip, t0)
	}
	ok, _ := th.Allow("carol@example.com", "192.0.2.2", t0)
	assert.True(t, ok, "4 failures after reset are under the account limit")
	// ...but the IP has now 8 failures, over its limit of 7.
	ok, _ = th.Allow("dave@example.com", ip, t0)
	assert.False(t, ok)
}

func TestThrottlePerIPAcrossAccounts(t *testing.T) {
	th := NewThrottle(DefaultThrottleConfig())
	const ip = "203.0.113.50"
	// Spray: 20 accounts, one failure each, 10 s apart.
	for i := range 20 {
		now := t0.Add(time.Duration(i) * 10 * time.Second)
		acct := fmt.Sprintf("user%d@example.com", i)
		ok, _ := th.Allow(acct, ip, now)
		require.True(t, ok, "attempt %d", i)
		th.Failure(acct, ip, now)
	}
	now := t0.Add(200 * time.Second)
	ok, retry := th.Allow("fresh@example.com", ip, now)
	assert.False(t, ok)
	assert.Equal(t, 15*time.Minute-200*time.Second, retry)

	// A different IP trying the same fresh account is fine.
	ok, _ = th.Allow("fresh@example.com", "203.0.113.51", now)
	assert.True(t, ok)
}

func TestThrottleRetryAfterIsMaxOfBoth(t *testing.T) {
	th := NewThrottle(ThrottleConfig{AccountLimit: 2, IPLimit: 2, Window: 10 * time.Minute})
	th.Failure("a@x", "ip1", t0)                  // account clock starts here
	th.Failure("b@x", "ip2", t0.Add(time.Minute)) // ip2 clock starts here
	th.Failure("a@x", "ip2", t0.Add(2*time.Minute))
	ok, retry := th.Allow("a@x", "ip2", t0.Add(3*time.Minute))
	assert.False(t, ok)
	// account unlocks at t0+10m, ip2 at t0+11m: must wait for the later one.
	assert.Equal(t, 8*time.Minute, retry)
}

func TestThrottleEmptyKeysIgnored(t *testing.T) {
	th := NewThrottle(DefaultThrottleConfig())
	for range 50 {
		th.Failure("", "", t0)
	}
	ok, _ := th.Allow("", "", t0)
	assert.True(t, ok)
	a, i := th.Len()
	assert.Zero(t, a)
	assert.Zero(t, i)
}

func TestThrottleSweepsExpired(t *testing.T) {
	th := NewThrottle(DefaultThrottleConfig())
	for i := range 100 {
		th.Failure(fmt.Sprintf("u%d", i), fmt.Sprintf("ip%d", i), t0)
	}
	a, i := th.Len()
	require.Equal(t, 100, a)
	require.Equal(t, 100, i)
	// Any call more than a window later sweeps the lot.
	th.Allow("someone", "ip", t0.Add(16*time.Minute))
	a, i = th.Len()
	assert.Zero(t, a)
	assert.Zero(t, i)
}

func TestThrottleMemoryCap(t *testing.T) {
	const maxKeys = 50
	th := NewThrottle(ThrottleConfig{AccountLimit: 5, IPLimit: 1_000_000, Window: time.Hour, MaxKeys: maxKeys})
	// Lock one account first, then flood with distinct keys.
	for range 5 {
		th.Failure("victim@x", "10.0.0.1", t0)
	}
	for i := range 10 * maxKeys {
		now := t0.Add(time.Duration(i+1) * time.Millisecond)
		th.Failure(fmt.Sprintf("flood%d@x", i), fmt.Sprintf("10.1.%d.%d", i/256, i%256), now)
		a, ips := th.Len()
		require.LessOrEqual(t, a, maxKeys)
		require.LessOrEqual(t, ips, maxKeys)
	}
	// The newest entries survive; the oldest (victim) was evicted first.
	ok, _ := th.Allow(fmt.Sprintf("flood%d@x", 10*maxKeys-1), "", t0.Add(time.Second))
	assert.True(t, ok)
	a, _ := th.Len()
	assert.Equal(t, maxKeys, a)
}

func TestThrottleConcurrent(t *testing.T) {
	th := NewThrottle(ThrottleConfig{AccountLimit: 5, IPLimit: 1000, Window: time.Minute, MaxKeys: 100})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				now := t0.Add(time.Duration(i) * time.Millisecond)
				acct := fmt.Sprintf("u%d@x", (g*31+i)%150)
				ip := fmt.Sprintf("ip%d", i%120)
				th.Allow(acct, ip, now)
				th.Failure(acct, ip, now)
				if i%7 == 0 {
					th.Success(acct, ip)
				}
			}
		})
	}
	wg.Wait()
	a, i := th.Len()
	assert.LessOrEqual(t, a, 100)
	assert.LessOrEqual(t, i, 100)

	// A single hot account is locked after exactly 5 concurrent failures.
	hot := NewThrottle(DefaultThrottleConfig())
	for range 5 {
		wg.Go(func() { hot.Failure("hot@x", "", t0) })
	}
	wg.Wait()
	ok, retry := hot.Allow("hot@x", "", t0)
	assert.False(t, ok)
	assert.Equal(t, 15*time.Minute, retry)
}

func TestNewThrottleDefaults(t *testing.T) {
	th := NewThrottle(ThrottleConfig{})
	assert.Equal(t, DefaultThrottleConfig(), th.cfg)
}
