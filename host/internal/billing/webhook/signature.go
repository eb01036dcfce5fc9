// Package webhook verifies and decodes payment-provider webhooks for the
// billing service.
//
// Verification follows the Stripe-style scheme: the provider sends a header
// "t=<unix seconds>,v1=<hex HMAC-SHA256>" where the MAC covers "<t>.<raw body>".
// The raw bytes must be verified before any JSON parsing, because re-encoding a
// parsed body would not reproduce the bytes the provider signed.
//
// Unlike stripe-go, the verifier rejects timestamps that are too far in the
// future as well as in the past (docs/SECURITY.md "Subscriptions and
// webhooks"): a future-dated signature would otherwise stay replayable for longer than the
// tolerance window.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is the maximum allowed distance between the signed
// timestamp and the verifier's clock, in either direction. 300 s matches
// stripe-go's DefaultTolerance, which providers and operators expect.
const DefaultTolerance = 300 * time.Second

// MaxHeaderLength bounds the signature header we are willing to parse, so a
// hostile client cannot make us split and decode megabytes of header text.
const MaxHeaderLength = 4096

// maxUnixSeconds is the last second of year 9999. Larger timestamps are
// rejected as malformed: they are never legitimate, and time.Unix would
// overflow its internal representation for values near math.MaxInt64.
const maxUnixSeconds = 253402300799

// signatureScheme is the only signature version we verify. Other versions
// (such as the provider's "v0" test scheme) are ignored, never trusted.
const signatureScheme = "v1"

// Sentinel errors returned (wrapped) by Verify. Callers match them with
// errors.Is. Messages never contain the secret or the expected signature, so
// they are safe to log and to return to the caller.
var (
	// ErrNoSecret means the verifier has no secret configured. Verification
	// fails closed: missing configuration must never let unsigned input in.
	ErrNoSecret = errors.New("webhook: no signing secret configured")
	// ErrMissingSignature means the header is empty or carries no v1 entry.
	ErrMissingSignature = errors.New("webhook: missing signature")
	// ErrMalformedHeader means the header could not be parsed.
	ErrMalformedHeader = errors.New("webhook: malformed signature header")
	// ErrTimestampOutOfTolerance means the signed timestamp is too old or too
	// far in the future.
	ErrTimestampOutOfTolerance = errors.New("webhook: timestamp outside tolerance")
	// ErrBadSignature means no v1 signature matched the body.
	ErrBadSignature = errors.New("webhook: signature mismatch")
)

// Verifier checks webhook signatures. The zero value is not usable because it
// has no Secret; Verify then returns ErrNoSecret. A Verifier is safe for
// concurrent use as long as its fields are not modified.
type Verifier struct {
	// Secret is the shared signing secret (STC_BILLING_WEBHOOK_SECRET).
	Secret []byte
	// Tolerance is the maximum |now − t|. Zero or negative means
	// DefaultTolerance, so a forgotten setting cannot disable the check.
	Tolerance time.Duration
	// Now returns the current time; nil means time.Now. Tests inject a clock.
	Now func() time.Time
}

// signatureHeader is the parsed form of the header.
type signatureHeader struct {
	rawTimestamp string // exactly as sent, because it is part of the MAC input
	timestamp    time.Time
	signatures   [][]byte
}

// Verify checks header against body and returns the signed timestamp.
//
// The signature is checked before the timestamp, so ErrTimestampOutOfTolerance
// is only reported for authentic (but stale or future-dated) deliveries and a
// forger learns nothing about the clock window.
func (v *Verifier) Verify(header string, body []byte) (time.Time, error) {
	if len(v.Secret) == 0 {
		return time.Time{}, ErrNoSecret
	}
	parsed, err := parseHeader(header)
	if err != nil {
		return time.Time{}, err
	}

	expected := computeMAC(v.Secret, parsed.rawTimestamp, body)
	matched := false
	for _, sig := range parsed.signatures {
		// hmac.Equal is constant-time; keep looping over all candidates so the
		// timing does not reveal which rotated secret matched.
		if hmac.Equal(expected, sig) {
			matched = true
		}
	}
	if !matched {
		return time.Time{}, fmt.Errorf("%w: none of %d v1 signatures matched", ErrBadSignature, len(parsed.signatures))
	}

	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	tolerance := v.Tolerance
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	// time.Time.Sub saturates instead of overflowing, and maxUnixSeconds keeps
	// the timestamp representable, so this arithmetic is safe.
	skew := now().Sub(parsed.timestamp)
	if skew > tolerance || skew < -tolerance {
		return time.Time{}, fmt.Errorf("%w: skew %s exceeds %s", ErrTimestampOutOfTolerance, skew.Round(time.Second), tolerance)
	}
	return parsed.timestamp, nil
}

// Sign returns a header value for body signed with secret at time t. It is
// meant for tests and for operators checking their provider setup; the
// billing service itself only verifies.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + "," + signatureScheme + "=" + hex.EncodeToString(computeMAC(secret, ts, body))
}

// computeMAC returns HMAC-SHA256(secret, "<t>.<body>").
func computeMAC(secret []byte, rawTimestamp string, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(rawTimestamp)) // hash.Hash.Write never returns an error
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

// parseHeader splits "t=…,v1=…[,v1=…]" into its parts. Entries may appear in
// any order and be surrounded by whitespace; unknown keys are ignored so new
// provider schemes do not break us. A repeated t is malformed because it would
// be ambiguous which one was signed.
func parseHeader(header string) (signatureHeader, error) {
	var out signatureHeader
	if len(header) > MaxHeaderLength {
		return out, fmt.Errorf("%w: header longer than %d bytes", ErrMalformedHeader, MaxHeaderLength)
	}
	if strings.TrimSpace(header) == "" {
		return out, ErrMissingSignature
	}
	seenTimestamp := false
	for _, item := range strings.Split(header, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue // tolerate stray or trailing commas
		}
		key, value, ok := strings.Cut(item, "=")
		if !ok {
			return out, fmt.Errorf("%w: entry without '='", ErrMalformedHeader)
		}
		key = strings.TrimSpace(key)
		value = strings.TrimSpace(value)
		switch key {
		case "t":
			if seenTimestamp {
				return out, fmt.Errorf("%w: duplicate timestamp", ErrMalformedHeader)
			}
			seenTimestamp = true
			ts, err := parseTimestamp(value)
			if err != nil {
				return out, err
			}
			out.rawTimestamp = value
			out.timestamp = ts
		case signatureScheme:
			sig, err := hex.DecodeString(value)
			if err != nil || len(sig) != sha256.Size {
				// Do not wrap the hex error: it would echo header bytes.
				return out, fmt.Errorf("%w: v1 is not a %d-byte hex value", ErrMalformedHeader, sha256.Size)
			}
			out.signatures = append(out.signatures, sig)
		default:
			// Unknown schemes (v0, future versions) are ignored on purpose.
		}
	}
	if !seenTimestamp {
		if len(out.signatures) == 0 {
			return out, ErrMissingSignature
		}
		return out, fmt.Errorf("%w: missing timestamp", ErrMalformedHeader)
	}
	if len(out.signatures) == 0 {
		return out, fmt.Errorf("%w: no %s entry", ErrMissingSignature, signatureScheme)
	}
	return out, nil
}

// parseTimestamp accepts only plain decimal digits (no sign, no spaces) so
// that the string we MAC is unambiguous, and bounds the value so it cannot
// overflow time arithmetic.
func parseTimestamp(value string) (time.Time, error) {
	if value == "" {
		return time.Time{}, fmt.Errorf("%w: empty timestamp", ErrMalformedHeader)
	}
	for i := 0; i < len(value); i++ {
		if value[i] < '0' || value[i] > '9' {
			return time.Time{}, fmt.Errorf("%w: timestamp is not a decimal number", ErrMalformedHeader)
		}
	}
	secs, err := strconv.ParseInt(value, 10, 64)
	if err != nil || secs > maxUnixSeconds {
		return time.Time{}, fmt.Errorf("%w: timestamp out of range", ErrMalformedHeader)
	}
	return time.Unix(secs, 0).UTC(), nil
}
