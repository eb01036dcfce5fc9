package convert

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stc-trading/stc/sdk/broker"
	commonv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/common/v1"
	"github.com/stc-trading/stc/sdk/schema"
	"github.com/stc-trading/stc/sdk/strategy"
)

// Reasons for errors that are not broker sentinels.
const (
	ReasonInvalidConfig   = "INVALID_CONFIG"
	ReasonUnknownInstance = "UNKNOWN_INSTANCE"
	ReasonPanic           = "PLUGIN_PANIC"
	ReasonStrategyFailed  = "STRATEGY_FAILED"
)

// ErrPluginPanic is what a host sees when plugin code panicked while
// serving the call. The plugin process survives; the instance may be in a
// bad state.
var ErrPluginPanic = errors.New("plugin panicked")

// codeForReason picks the gRPC code that best describes a reason, so that
// generic gRPC tooling (grpcurl, logs) shows something sensible.
func codeForReason(reason string) codes.Code {
	switch reason {
	case "AUTH_FAILED":
		return codes.Unauthenticated
	case "RATE_LIMITED":
		return codes.ResourceExhausted
	case "UNKNOWN_INSTRUMENT", "ORDER_NOT_FOUND", "SESSION_NOT_FOUND", ReasonUnknownInstance:
		return codes.NotFound
	case "UNSUPPORTED":
		return codes.Unimplemented
	case "INVALID_ORDER", ReasonInvalidConfig:
		return codes.InvalidArgument
	case "UNAVAILABLE":
		return codes.Unavailable
	case ReasonPanic:
		return codes.Internal
	case ReasonStrategyFailed:
		return codes.Unknown
	}
	return codes.FailedPrecondition
}

// ToStatus turns a plugin-side error into a gRPC status error that carries
// an ErrorDetail with the error's stable reason.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok && reasonOf(err) == "" {
		return err // already a status (e.g. from a nested call)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	detail := detailOf(err)
	code := codes.Unknown
	if detail.GetReason() != "" {
		code = codeForReason(detail.GetReason())
	}
	st, derr := status.New(code, err.Error()).WithDetails(detail)
	if derr != nil {
		return status.Error(code, err.Error())
	}
	return st.Err()
}

// detailOf returns the wire detail of err: its stable reason (empty when
// err wraps no known sentinel) and its retry hint.
func detailOf(err error) *commonv1.ErrorDetail {
	detail := &commonv1.ErrorDetail{Reason: reasonOf(err)}
	if d, ok := broker.RetryAfter(err); ok {
		detail.RetryAfterMs = d.Milliseconds()
		detail.Retryable = true
	}
	if errors.Is(err, broker.ErrRateLimited) || errors.Is(err, broker.ErrUnavailable) {
		detail.Retryable = true
	}
	return detail
}

func reasonOf(err error) string {
	if r := broker.Reason(err); r != "" {
		return r
	}
	switch {
	case errors.Is(err, strategy.ErrInvalidParams), errors.Is(err, schema.ErrInvalid):
		return ReasonInvalidConfig
	case errors.Is(err, strategy.ErrUnknownInstance):
		return ReasonUnknownInstance
	case errors.Is(err, ErrPluginPanic):
		return ReasonPanic
	}
	return ""
}

// remoteError is an error that came back from a plugin. It keeps the
// plugin's message and unwraps to the matching SDK sentinel.
type remoteError struct {
	kind error
	msg  string
	code codes.Code
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }

// GRPCCode returns the status code the plugin answered with.
func (e *remoteError) GRPCCode() codes.Code { return e.code }

// FromStatus turns an error returned by a generated gRPC client back into
// an SDK error: errors.Is matches the SDK sentinel named by the status'
// ErrorDetail, and broker.RetryAfter sees the retry hint. Errors without a
// detail (transport failures) are returned unchanged so callers can
// classify them with status.Code.
func FromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	var detail *commonv1.ErrorDetail
	for _, d := range st.Details() {
		if ed, ok := d.(*commonv1.ErrorDetail); ok {
			detail = ed
			break
		}
	}
	if detail == nil || detail.GetReason() == "" {
		if st.Code() == codes.DeadlineExceeded {
			return fmt.Errorf("%w: %s", context.DeadlineExceeded, st.Message())
		}
		return err
	}
	if e := errorFromDetail(detail, st.Code(), st.Message()); e != nil {
		return e
	}
	return err
}

// errorFromDetail is the SDK error named by a wire detail with message
// msg, or nil when the reason is not one the SDK knows.
func errorFromDetail(detail *commonv1.ErrorDetail, code codes.Code, msg string) error {
	reason := detail.GetReason()
	if s := broker.SentinelForReason(reason); s != nil {
		return &broker.Error{Kind: s, Message: trimPrefix(msg, s), RetryAfter: time.Duration(detail.GetRetryAfterMs()) * time.Millisecond}
	}
	var kind error
	switch reason {
	case ReasonInvalidConfig:
		kind = schema.ErrInvalid
	case ReasonUnknownInstance:
		kind = strategy.ErrUnknownInstance
	case ReasonPanic:
		kind = ErrPluginPanic
	default:
		return nil
	}
	return &remoteError{kind: kind, msg: msg, code: code}
}

// RefusalMessage returns the explanation a plugin sent with a refusal of
// its configuration (reason INVALID_CONFIG): the status message without
// the texts of the SDK's own sentinels that the plugin side wrapped it in
// ("strategy: invalid parameters: ", "invalid configuration: "), so that
// "fast must be below slow (fast 12, slow 5)" is what remains. ok is false
// when err is no such refusal.
func RefusalMessage(err error) (msg string, ok bool) {
	var r *remoteError
	if !errors.As(err, &r) || !errors.Is(r.kind, schema.ErrInvalid) {
		return "", false
	}
	msg = r.msg
	for {
		trimmed := trimPrefix(trimPrefix(msg, strategy.ErrInvalidParams), schema.ErrInvalid)
		if trimmed == msg {
			return msg, true
		}
		msg = trimmed
	}
}

// trimPrefix drops the sentinel's own text from a message so a round trip
// does not print "broker: market closed: broker: market closed: …".
func trimPrefix(msg string, sentinel error) string {
	p := sentinel.Error()
	if len(msg) >= len(p) && msg[:len(p)] == p {
		msg = msg[len(p):]
		if len(msg) >= 2 && msg[:2] == ": " {
			msg = msg[2:]
		}
	}
	return msg
}

// IsUnimplemented reports an UNIMPLEMENTED answer that the plugin's gRPC
// server gave because it does not know the method (a plugin built before
// the method existed), as opposed to an adapter's broker.ErrUnsupported,
// which carries a reason.
func IsUnimplemented(err error) bool {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unimplemented {
		return false
	}
	for _, d := range st.Details() {
		if ed, ok := d.(*commonv1.ErrorDetail); ok && ed.GetReason() != "" {
			return false
		}
	}
	return true
}
