package iqoption

import (
	"errors"
	"fmt"
	"strings"

	"github.com/stc-trading/stc/sdk/broker"
)

// orderError maps a refused binary-options.open-option to an SDK sentinel.
// Status codes decide first; the message text only refines a generic
// status, because texts are localised to the profile's language.
func orderError(err error) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	kind := broker.ErrInvalidOrder
	text := strings.ToLower(ae.Message)
	switch {
	case ae.Status == 4119, ae.Status == 4103, ae.Status == 5000:
		kind = broker.ErrMarketClosed // 4119 active suspended; 4103/5000 asset closed
	case strings.Contains(text, "no money"), strings.Contains(text, "no_money"),
		strings.Contains(text, "insufficient"), strings.Contains(text, "not enough money"):
		kind = broker.ErrInsufficientFunds
	case strings.Contains(text, "suspended"), strings.Contains(text, "not available at the moment"),
		strings.Contains(text, "purchasing options is over"), strings.Contains(text, "purchase time"):
		kind = broker.ErrMarketClosed
	case strings.Contains(text, "rejected by risks"), strings.Contains(text, "rejected_by_risks"):
		kind = broker.ErrInvalidOrder
	}
	msg := ae.Message
	if msg == "" {
		msg = "refused"
	}
	return fmt.Errorf("%w (%w)", &broker.Error{Kind: kind, Message: fmt.Sprintf("%s (status %d)", msg, ae.Status)}, ae)
}

// rejectKind maps an option-rejected reason code (machine-readable) to a
// sentinel for the order's reject reason text.
func rejectKind(reason string) error {
	switch reason {
	case "no_money":
		return broker.ErrInsufficientFunds
	case "active_suspended", "active_closed":
		return broker.ErrMarketClosed
	}
	return broker.ErrInvalidOrder
}

// callErr wraps a failed non-order request as ErrUnavailable, keeping the
// cause for errors.Is/As.
func callErr(op string, err error) error {
	var be *broker.Error
	if errors.As(err, &be) {
		return fmt.Errorf("iqoption: %s: %w", op, err)
	}
	if errors.Is(err, broker.ErrUnavailable) {
		return fmt.Errorf("iqoption: %s: %w", op, err)
	}
	return fmt.Errorf("%w: iqoption: %s: %w", broker.ErrUnavailable, op, err)
}
