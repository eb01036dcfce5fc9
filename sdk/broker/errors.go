package broker

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Adapters return them (or wrap them with Errorf or
// NewError); the SDK carries them across the process boundary as a gRPC
// status with a stable reason, so errors.Is works in the host. Each one
// says what the host does when it sees it; the Broker methods' docs say
// which a method may return.
var (
	// ErrAuthFailed: the credentials are wrong, or the broker no longer
	// accepts the session's login (an expired token). From Open the host
	// tells the user the broker refused the credentials (echoing the
	// message with every credential value cut out); from PlaceOrder it
	// means nothing was placed.
	ErrAuthFailed = errors.New("broker: authentication failed")
	// ErrSecondFactorRequired: Open needs a second-factor code
	// (Capabilities.SecondFactor). The host asks the user for it and
	// calls Open again with the same credentials plus "code".
	ErrSecondFactorRequired = errors.New("broker: second factor required")
	// ErrRateLimited: the broker refused the call for its rate limits and
	// did nothing. Return it with RateLimited to pass the broker's retry
	// hint on to the host's client.
	ErrRateLimited = errors.New("broker: rate limited")
	// ErrMarketClosed: the instrument cannot be traded now (trading hours,
	// suspension, an expiry that falls in closed hours). The order is
	// refused; nothing was placed.
	ErrMarketClosed = errors.New("broker: market closed")
	// ErrInsufficientFunds: the balance does not cover the stake. The
	// order is refused; nothing was placed.
	ErrInsufficientFunds = errors.New("broker: insufficient funds")
	// ErrUnknownInstrument: the broker has no such symbol (Candles,
	// SubscribeCandles, PlaceOrder). Nothing was placed.
	ErrUnknownInstrument = errors.New("broker: unknown instrument")
	// ErrUnsupported: the adapter does not offer this (a mode, timeframe,
	// login method or stream). From SubscribeCandles it makes the host
	// poll Candles; from PlaceOrder it means nothing was placed.
	ErrUnsupported = errors.New("broker: operation not supported")
	// ErrInvalidOrder: the order breaks the broker's rules (stake out of
	// range or of too many decimals, an expiry not offered, an empty
	// client order id). The order is refused; nothing was placed.
	ErrInvalidOrder = errors.New("broker: invalid order")
	// ErrOrderNotFound: GetOrder's proof that the broker never accepted
	// the order; the host then records the trade as rejected. Never
	// return it for an order whose fate is unknown: return ErrUnavailable.
	ErrOrderNotFound = errors.New("broker: order not found")
	// ErrSessionNotFound: the session is not open (never opened, or
	// closed). The SDK answers it itself for unknown session ids; the
	// host treats the account as disconnected.
	ErrSessionNotFound = errors.New("broker: session not found")
	// ErrUnavailable: the broker cannot be reached or did not answer in
	// time; transient. From PlaceOrder it means the outcome is unknown:
	// the host resolves the order with GetOrder and never resends it.
	ErrUnavailable = errors.New("broker: broker unavailable")
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
