package broker

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Adapters return them (or wrap them with Errorf or
// NewError); the SDK carries them across the process boundary as a gRPC
// status with a stable reason, so errors.Is works in the host.
var (
	ErrAuthFailed           = errors.New("broker: authentication failed")
	ErrSecondFactorRequired = errors.New("broker: second factor required")
	ErrRateLimited          = errors.New("broker: rate limited")
	ErrMarketClosed         = errors.New("broker: market closed")
	ErrInsufficientFunds    = errors.New("broker: insufficient funds")
	ErrUnknownInstrument    = errors.New("broker: unknown instrument")
	ErrUnsupported          = errors.New("broker: operation not supported")
	ErrInvalidOrder         = errors.New("broker: invalid order")
	ErrOrderNotFound        = errors.New("broker: order not found")
	ErrSessionNotFound      = errors.New("broker: session not found")
	ErrUnavailable          = errors.New("broker: broker unavailable")
)

// reasons maps each sentinel to its stable wire reason. It is a function,
// not a package variable, so nothing can mutate it.
func reasons() []struct {
	err    error
	reason string
} {
	return []struct {
		err    error
		reason string
	}{
		{ErrAuthFailed, "AUTH_FAILED"},
		{ErrSecondFactorRequired, "SECOND_FACTOR_REQUIRED"},
		{ErrRateLimited, "RATE_LIMITED"},
		{ErrMarketClosed, "MARKET_CLOSED"},
		{ErrInsufficientFunds, "INSUFFICIENT_FUNDS"},
		{ErrUnknownInstrument, "UNKNOWN_INSTRUMENT"},
		{ErrUnsupported, "UNSUPPORTED"},
		{ErrInvalidOrder, "INVALID_ORDER"},
		{ErrOrderNotFound, "ORDER_NOT_FOUND"},
		{ErrSessionNotFound, "SESSION_NOT_FOUND"},
		{ErrUnavailable, "UNAVAILABLE"},
	}
}

// Reason returns the stable wire reason of the first sentinel err wraps, or
// "" when it wraps none.
func Reason(err error) string {
	for _, r := range reasons() {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return ""
}

// SentinelForReason returns the sentinel of a wire reason, or nil.
func SentinelForReason(reason string) error {
	for _, r := range reasons() {
		if r.reason == reason {
			return r.err
		}
	}
	return nil
}

// Error is a sentinel with a broker-specific message and an optional retry
// hint. errors.Is(err, Kind) matches.
type Error struct {
	Kind       error         // one of the sentinels
	Message    string        // broker's human message; may be localised
	RetryAfter time.Duration // for ErrRateLimited, when the broker says
}

// Error implements error.
func (e *Error) Error() string {
	if e.Message == "" {
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Message
}

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Kind }

// NewError returns an *Error of kind with a formatted message.
func NewError(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// RateLimited returns an ErrRateLimited error that asks to retry after d.
func RateLimited(d time.Duration, format string, args ...any) error {
	return &Error{Kind: ErrRateLimited, Message: fmt.Sprintf(format, args...), RetryAfter: d}
}

// RetryAfter returns the retry hint carried by err, if any.
func RetryAfter(err error) (time.Duration, bool) {
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter, true
	}
	return 0, false
}
