package httpapi

import (
	"errors"
	"strings"

	"github.com/stc-trading/stc/host/internal/bots"
)

// botSpecError answers a bot spec the bots service refused, naming the
// field in details.field (the service's message starts with it:
// "bots: invalid bot: limits.max_stake: …"), so a form can show the
// error at its input.
func botSpecError(err error) *apiError {
	msg := err.Error()
	if i := strings.Index(msg, bots.ErrInvalidSpec.Error()+": "); i >= 0 {
		rest := msg[i+len(bots.ErrInvalidSpec.Error())+2:]
		if field, text, ok := strings.Cut(rest, ": "); ok && isFieldPath(field) {
			return fieldError(field, field+": "+text)
		}
	}
	if errors.Is(err, bots.ErrInvalidSpec) {
		return badRequest("validation_failed", cleanMessage(err, ""))
	}
	return badRequest("validation_failed", msg)
}

// isFieldPath reports whether s looks like a request field: "name",
// "limits.max_stake".
func isFieldPath(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && c != '_' && c != '.' {
			return false
		}
	}
	return true
}
