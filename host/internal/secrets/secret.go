package secrets

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// redacted is what every printing path of Secret shows instead of the value.
const redacted = "[redacted]"

// Secret is a credential value that does not print itself: fmt (every verb),
// encoding/json, encoding.TextMarshaler users, slog and hclog (text and JSON)
// all see "[redacted]". Use Reveal only where the value is handed on.
//
// It is a struct rather than a named string on purpose: reflection-based
// printers read string-kind values directly and skip the methods below
// (hclog renders []T by reflect.Value.String, encoding/json writes string-kind
// map keys verbatim), which leaked the value in tests.
type Secret struct {
	v string
}

// NewSecret wraps a credential value.
func NewSecret(v string) Secret { return Secret{v: v} }

// Reveal returns the secret value.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty, so callers can validate input
// without revealing it.
func (s Secret) IsZero() bool { return s.v == "" }

// String implements fmt.Stringer without revealing the value.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer so %#v does not reveal the value.
func (s Secret) GoString() string { return redacted }

// Format implements fmt.Formatter so that no verb (%s %v %q %x %d ...)
// reaches the underlying string.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON implements json.Marshaler, writing "[redacted]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// UnmarshalJSON implements json.Unmarshaler so request bodies can decode a
// credential straight into a Secret; it is write-only, MarshalJSON redacts.
func (s *Secret) UnmarshalJSON(data []byte) error {
	var v string
	if err := json.Unmarshal(data, &v); err != nil {
		// The decoder error may quote the input, so it is not wrapped.
		return fmt.Errorf("secrets: secret must be a JSON string: %w", ErrMalformed)
	}
	s.v = v
	return nil
}

// MarshalText implements encoding.TextMarshaler, used by non-JSON encoders and
// by encoding/json for map keys.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue implements slog.LogValuer so structured slog output is redacted too.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
