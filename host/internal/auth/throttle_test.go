package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// The defaults are the numbers docs/SECURITY.md states.
func TestDefaultThrottleConfigIsDocumented(t *testing.T) {
	assert.Equal(t, ThrottleConfig{PerSource: 5, PerAccount: 10, PerAddress: 20, PerDevice: 5, Window: 15 * time.Minute, Delay: time.Second},
		DefaultThrottleConfig())
	assert.Equal(t, DefaultThrottleConfig(), NewThrottle(ThrottleConfig{}).Config(), "zero fields take the defaults")
	assert.Equal(t, 3, NewThrottle(ThrottleConfig{PerAccount: 3, Window: -1}).Config().PerAccount)
}

// src is a check of the same account from the same address.
func src(at time.Time) Check { return Check{At: at, SameAccount: true, SameAddress: true} }

func TestProgressiveDelaysThenLock(t *testing.T) {
	th := NewThrottle(DefaultThrottleConfig())
	var past []Check
	at := t0
	for i, delay := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		past = append(past, src(at))
		assert.Equal(t, delay, th.Wait(past, false, at), "after check %d", i+1)
		assert.Equal(t, delay/2, th.Wait(past, false, at.Add(delay/2)))
		at = at.Add(delay)
		assert.Zero(t, th.Wait(past, false, at), "check %d may run once its delay passed", i+2)
	}
	past = append(past, src(at)) // the 5th
	assert.Equal(t, t0.Add(15*time.Minute).Sub(at), th.Wait(past, false, at), "locked until the first check leaves the window")
	later := at.Add(10 * time.Minute)
	assert.Equal(t, t0.Add(15*time.Minute).Sub(later), th.Wait(past, false, later))
	// The first check leaves the window: one more, after the 4-check delay.
	assert.Zero(t, th.Wait(past, false, t0.Add(15*time.Minute)))
}

func TestAccountCapAcrossAddresses(t *testing.T) {
	th := NewThrottle(DefaultThrottleConfig())
	var past []Check
	for i := range 9 {
		past = append(past, Check{At: t0.Add(time.Duration(i) * time.Second), SameAccount: true})
	}
	assert.Zero(t, th.Wait(past, false, t0.Add(time.Minute)), "9 checks from other addresses")
	past = append(past, Check{At: t0.Add(30 * time.Second), SameAccount: true})
	assert.Equal(t, 14*time.Minute, th.Wait(past, false, t0.Add(time.Minute)), "the 10th closes the account to every unrecognized device")
	assert.Zero(t, th.Wait(nil, true, t0.Add(time.Minute)), "but not to a trusted device, whose own checks are none")
}

func TestAddressCapAcrossAccounts(t *testing.T) {
	th := NewThrottle(DefaultThrottleConfig())
	var past []Check
	for i := range 20 {
		past = append(past, Check{At: t0.Add(time.Duration(i) * 10 * time.Second), SameAddress: true})
	}
	now := t0.Add(200 * time.Second)
	assert.Equal(t, 15*time.Minute-200*time.Second, th.Wait(past, false, now))
	assert.Zero(t, th.Wait(past[1:], false, now))
}

func TestTrustedDeviceBudget(t *testing.T) {
	th := NewThrottle(DefaultThrottleConfig())
	var past []Check
	for i := range 5 {
		past = append(past, Check{At: t0.Add(time.Duration(i) * time.Minute)})
	}
	now := t0.Add(5 * time.Minute)
	assert.Equal(t, 10*time.Minute, th.Wait(past, true, now), "PerDevice checks spend the device")
	assert.Equal(t, 8*time.Second, th.Wait(past[:4], true, t0.Add(3*time.Minute)), "with the progressive delay before")
	assert.Zero(t, th.Wait(past[:4], true, now))
}

func TestWaitIsTheLongestLimitAndIgnoresOldChecks(t *testing.T) {
	th := NewThrottle(ThrottleConfig{PerSource: 2, PerAccount: 3, PerAddress: 2, Window: 10 * time.Minute, Delay: time.Second})
	past := []Check{
		{At: t0.Add(-time.Hour), SameAccount: true, SameAddress: true}, // outside the window
		{At: t0, SameAccount: true},                                    // the account's clock starts
		{At: t0.Add(time.Minute), SameAddress: true},                   // the address's clock starts
		{At: t0.Add(2 * time.Minute), SameAccount: true},
		{At: t0.Add(2 * time.Minute), SameAddress: true},
		{At: t0.Add(3 * time.Minute), SameAccount: true, SameAddress: true},
	}
	// Account: 3 checks, free at t0+10m. Address: 3, free at t0+11m. Source:
	// 1, delay over. The wait is the longest.
	assert.Equal(t, 7*time.Minute, th.Wait(past, false, t0.Add(4*time.Minute)))
	assert.Zero(t, th.Wait(nil, false, t0))
	assert.Zero(t, th.Wait(nil, true, t0))
}

func TestNormalizeAccountAndAddress(t *testing.T) {
	for _, v := range []string{"bob@example.com", " BOB@Example.com ", "Bob@EXAMPLE.COM\t"} {
		assert.Equal(t, "bob@example.com", NormalizeAccount(v))
	}
	for in, want := range map[string]string{
		"198.51.100.7":            "198.51.100.7",
		"::ffff:198.51.100.7":     "198.51.100.7",
		"2001:db8:1:2:3:4:5:6":    "2001:db8:1:2::/64",
		"2001:db8:1:2::ffff":      "2001:db8:1:2::/64",
		"fe80::1%eth0":            "fe80::/64",
		"not an address":          "not an address",
		strings.Repeat("x", 1000): strings.Repeat("x", 64),
	} {
		assert.Equal(t, want, NormalizeAddress(in), in)
	}
	a, b := ThrottleKey("account", "x"), ThrottleKey("address", "x")
	require.Len(t, a, 64)
	assert.NotEqual(t, a, b, "kinds never share a key")
	assert.Equal(t, a, ThrottleKey("account", "x"))
}
