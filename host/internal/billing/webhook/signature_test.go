package webhook

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testNow is a fixed instant so tolerance edges are exact. A constant (not a
// time.Time var) keeps the package free of mutable globals, tests included.
const testNowUnix = 1_760_000_000

func testNow() time.Time { return time.Unix(testNowUnix, 0).UTC() }

func testSecret() []byte { return []byte("whsec_test_secret_do_not_leak") }

func newVerifier() *Verifier {
	return &Verifier{Secret: testSecret(), Now: testNow}
}

// sigHex returns only the hex MAC for secret/t/body, for building header variants.
func sigHex(secret []byte, t time.Time, body []byte) string {
	h := Sign(secret, t, body)
	_, v, _ := strings.Cut(h, ",v1=")
	return v
}

func TestVerify(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"invoice.paid"}`)
	ts := testNow().Unix()
	good := sigHex(testSecret(), testNow(), body)
	other := sigHex([]byte("old-rotated-secret"), testNow(), body)

	tests := []struct {
		name    string
		header  string
		body    []byte
		wantErr error
	}{
		{"valid", Sign(testSecret(), testNow(), body), body, nil},
		{"unsigned empty header", "", body, ErrMissingSignature},
		{"unsigned blank header", "  \t ", body, ErrMissingSignature},
		{"timestamp without v1", fmt.Sprintf("t=%d", ts), body, ErrMissingSignature},
		{"only v0", fmt.Sprintf("t=%d,v0=%s", ts, good), body, ErrMissingSignature},
		{"wrong secret", Sign([]byte("wrong"), testNow(), body), body, ErrBadSignature},
		{"body tampered", Sign(testSecret(), testNow(), body), []byte(`{"id":"evt_2","type":"invoice.paid"}`), ErrBadSignature},
		{"timestamp tampered", fmt.Sprintf("t=%d,v1=%s", ts+1, good), body, ErrBadSignature},
		{"spaces", fmt.Sprintf("  t = %d ,  v1 = %s  ", ts, good), body, nil},
		{"reordered", fmt.Sprintf("v1=%s,t=%d", good, ts), body, nil},
		{"multiple v1 first matches", fmt.Sprintf("t=%d,v1=%s,v1=%s", ts, good, other), body, nil},
		{"multiple v1 second matches", fmt.Sprintf("t=%d,v1=%s,v1=%s", ts, other, good), body, nil},
		{"multiple v1 none match", fmt.Sprintf("t=%d,v1=%s,v1=%s", ts, other, other), body, ErrBadSignature},
		{"v0 ignored", fmt.Sprintf("t=%d,v0=garbage,v1=%s", ts, good), body, nil},
		{"unknown key ignored", fmt.Sprintf("t=%d,v1=%s,scheme=x", ts, good), body, nil},
		{"trailing comma", fmt.Sprintf("t=%d,v1=%s,", ts, good), body, nil},
		{"uppercase hex", fmt.Sprintf("t=%d,v1=%s", ts, strings.ToUpper(good)), body, nil},
		{"duplicate t", fmt.Sprintf("t=%d,t=%d,v1=%s", ts, ts, good), body, ErrMalformedHeader},
		{"missing t", "v1=" + good, body, ErrMalformedHeader},
		{"entry without equals", fmt.Sprintf("t=%d,v1=%s,junk", ts, good), body, ErrMalformedHeader},
		{"non-numeric t", "t=abc,v1=" + good, body, ErrMalformedHeader},
		{"negative t", "t=-5,v1=" + good, body, ErrMalformedHeader},
		{"signed t", fmt.Sprintf("t=+%d,v1=%s", ts, good), body, ErrMalformedHeader},
		{"empty t", "t=,v1=" + good, body, ErrMalformedHeader},
		{"huge t overflow", "t=99999999999999999999999999,v1=" + good, body, ErrMalformedHeader},
		{"max int64 t", "t=9223372036854775807,v1=" + good, body, ErrMalformedHeader},
		{"non-hex v1", fmt.Sprintf("t=%d,v1=zz", ts), body, ErrMalformedHeader},
		{"short v1", fmt.Sprintf("t=%d,v1=abcd", ts), body, ErrMalformedHeader},
		{"oversized header", fmt.Sprintf("t=%d,v1=%s,x=%s", ts, good, strings.Repeat("a", MaxHeaderLength)), body, ErrMalformedHeader},
		{"stale by 301s", Sign(testSecret(), testNow().Add(-301*time.Second), body), body, ErrTimestampOutOfTolerance},
		{"future by 301s", Sign(testSecret(), testNow().Add(301*time.Second), body), body, ErrTimestampOutOfTolerance},
		{"stale by exactly 300s", Sign(testSecret(), testNow().Add(-300*time.Second), body), body, nil},
		{"future by exactly 300s", Sign(testSecret(), testNow().Add(300*time.Second), body), body, nil},
		{"empty body signed", Sign(testSecret(), testNow(), nil), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := newVerifier().Verify(tc.header, tc.body)
			if tc.wantErr == nil {
				require.NoError(t, err)
				assert.False(t, got.IsZero())
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			assert.True(t, got.IsZero(), "a failed verification returns the zero time")
		})
	}
}

func TestVerifyReturnsSignedTimestamp(t *testing.T) {
	signedAt := testNow().Add(-42 * time.Second)
	got, err := newVerifier().Verify(Sign(testSecret(), signedAt, []byte("x")), []byte("x"))
	require.NoError(t, err)
	assert.True(t, signedAt.Equal(got))
}

func TestVerifyEmptySecretRefused(t *testing.T) {
	for _, secret := range [][]byte{nil, {}} {
		v := &Verifier{Secret: secret, Now: testNow}
		// Even a header "signed" with the same empty secret must be refused.
		_, err := v.Verify(Sign(secret, testNow(), []byte("b")), []byte("b"))
		require.ErrorIs(t, err, ErrNoSecret)
	}
}

func TestVerifyTolerance(t *testing.T) {
	body := []byte("b")
	tests := []struct {
		name      string
		tolerance time.Duration
		skew      time.Duration
		wantErr   error
	}{
		{"zero means default, inside", 0, 299 * time.Second, nil},
		{"zero means default, outside", 0, 301 * time.Second, ErrTimestampOutOfTolerance},
		{"negative means default", -time.Second, 299 * time.Second, nil},
		{"custom tighter", 10 * time.Second, 11 * time.Second, ErrTimestampOutOfTolerance},
		{"custom tighter future", 10 * time.Second, -11 * time.Second, ErrTimestampOutOfTolerance},
		{"custom wider", 600 * time.Second, 599 * time.Second, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier()
			v.Tolerance = tc.tolerance
			_, err := v.Verify(Sign(testSecret(), testNow().Add(-tc.skew), body), body)
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
}

func TestVerifyNilNowUsesWallClock(t *testing.T) {
	v := &Verifier{Secret: testSecret()}
	_, err := v.Verify(Sign(testSecret(), time.Now(), []byte("b")), []byte("b"))
	require.NoError(t, err)
	_, err = v.Verify(Sign(testSecret(), time.Now().Add(-time.Hour), []byte("b")), []byte("b"))
	require.ErrorIs(t, err, ErrTimestampOutOfTolerance)
}

// TestErrorsDoNotLeak checks that no error message carries the secret or the
// signature the verifier computed, since errors end up in logs and responses.
func TestErrorsDoNotLeak(t *testing.T) {
	body := []byte(`{"id":"evt_1"}`)
	secret := testSecret()
	expected := sigHex(secret, testNow(), body)
	expectedRaw, err := hex.DecodeString(expected)
	require.NoError(t, err)
	headers := []string{
		"",
		"garbage",
		"t=abc,v1=00",
		Sign([]byte("wrong"), testNow(), body),
		Sign(secret, testNow().Add(-time.Hour), body),
		Sign(secret, testNow().Add(time.Hour), body),
		Sign(secret, testNow(), []byte("tampered")),
		fmt.Sprintf("t=%d,t=%d,v1=%s", testNow().Unix(), testNow().Unix(), expected),
	}
	for _, h := range headers {
		_, err := newVerifier().Verify(h, body)
		require.Error(t, err, h)
		msg := err.Error()
		assert.NotContains(t, msg, string(secret))
		assert.NotContains(t, strings.ToLower(msg), expected)
		assert.NotContains(t, msg, string(expectedRaw))
	}
}

func TestSignFormat(t *testing.T) {
	h := Sign([]byte("s"), time.Unix(1700000000, 999), []byte("body"))
	require.True(t, strings.HasPrefix(h, "t=1700000000,v1="), h)
	assert.Len(t, strings.TrimPrefix(h, "t=1700000000,v1="), 64)
}

// FuzzVerify checks that arbitrary headers and bodies never panic, that every
// failure is one of the documented sentinels, and that Sign always round-trips.
func FuzzVerify(f *testing.F) {
	body := []byte(`{"id":"evt_1","type":"invoice.paid"}`)
	good := Sign(testSecret(), testNow(), body)
	f.Add(good, body)
	f.Add("", body)
	f.Add("t=,v1=", []byte{})
	f.Add("t=1,t=2", body)
	f.Add("v1=zz,t=99999999999999999999999", body)
	f.Add("t=9223372036854775807,v1="+strings.Repeat("0", 64), body)
	f.Add(" t = 1760000000 , v0=x, v1 = "+strings.Repeat("a", 64)+",,", body)
	f.Add("===,,,=", []byte("\x00\xff"))
	sentinels := []error{ErrMissingSignature, ErrMalformedHeader, ErrTimestampOutOfTolerance, ErrBadSignature}

	f.Fuzz(func(t *testing.T, header string, body []byte) {
		v := newVerifier()
		_, err := v.Verify(header, body)
		if err != nil {
			matched := false
			for _, s := range sentinels {
				matched = matched || errors.Is(err, s)
			}
			if !matched {
				t.Fatalf("undocumented error %v", err)
			}
			if strings.Contains(err.Error(), string(testSecret())) {
				t.Fatalf("error leaks secret: %v", err)
			}
		}
		if _, err := v.Verify(Sign(testSecret(), testNow(), body), body); err != nil {
			t.Fatalf("Sign/Verify round trip failed: %v", err)
		}
	})
}
