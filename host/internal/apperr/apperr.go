// Package apperr holds the two kinds of refusal a service returns for a
// client to read: a *FieldError names the request field at fault, a
// *Refusal explains why a request was refused in the present state. Both
// carry a human sentence written for the person who sent the request, so
// the HTTP layer never has to pick an explanation out of an error's text.
//
// Services keep their own sentinels (bots.ErrInvalidSpec,
// accounts.ErrBusy, ...): a refusal wraps one, so errors.Is works as
// before, and adds the sentence. The HTTP layer maps the sentinel to a
// status and a stable code and takes the sentence from here.
package apperr

import (
	"errors"
	"fmt"
)

// FieldError refuses one field of a request.
type FieldError struct {
	// Field is the field's name in the API, as a JSON path: "name",
	// "params.period", "limits.max_stake", "credentials". Empty only when
	// the refusal is about the request as a whole.
	Field string
	// Reason says what the field must be, in a sentence that names it:
	// "name must be 1 to 100 characters of visible text".
	Reason string
}

// Error implements error.
func (e *FieldError) Error() string { return e.Reason }

func (e *FieldError) clientReason() string { return e.Reason }

// Field returns a *FieldError for field with a formatted reason.
func Field(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Invalid returns a *FieldError for field wrapped in the service's
// sentinel kind, so that errors.Is(err, kind) and errors.As(err,
// **FieldError) both hold.
func Invalid(kind error, field, format string, args ...any) error {
	return fmt.Errorf("%w: %w", kind, Field(field, format, args...))
}

// Refusal explains a refused request. Kind is what it refuses for: a
// service's sentinel, or an error chain holding one; errors.Is sees
// through it.
type Refusal struct {
	Kind error
	// Reason is the explanation for the client: "the free plan allows 1
	// bot". It never holds secrets, paths or process details.
	Reason string
}

// Error implements error.
func (e *Refusal) Error() string {
	if e.Kind == nil {
		return e.Reason
	}
	return e.Kind.Error() + ": " + e.Reason
}

// Unwrap returns Kind.
func (e *Refusal) Unwrap() error { return e.Kind }

func (e *Refusal) clientReason() string { return e.Reason }

// Refuse returns a *Refusal of kind with a formatted reason.
func Refuse(kind error, format string, args ...any) error {
	return &Refusal{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

// reasoned is what both refusals have in common.
type reasoned interface {
	error
	clientReason() string
}

// Reason returns the client's explanation of err: the reason of the
// outermost *FieldError or *Refusal in its chain. ok is false when err
// carries none; its text is then not for clients.
func Reason(err error) (reason string, ok bool) {
	var r reasoned
	if errors.As(err, &r) && r.clientReason() != "" {
		return r.clientReason(), true
	}
	return "", false
}

// FieldOf returns the *FieldError in err's chain, if any.
func FieldOf(err error) (*FieldError, bool) {
	var fe *FieldError
	ok := errors.As(err, &fe)
	return fe, ok
}
