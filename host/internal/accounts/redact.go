package accounts

import (
	"strings"
)

// minRedactLen is the shortest credential value redacted from error texts:
// shorter values (a mode flag, "1") would garble every message and are not
// secrets worth the name.
const minRedactLen = 4

// redactedError hides credential values that a broker adapter might echo in
// its error message (for example "bad password 'hunter2'") from whoever
// prints the error: logs, the HTTP error envelope. The chain is unchanged,
// so errors.Is and errors.As still work; only Error() is scrubbed.
type redactedError struct {
	err error
	msg string
}

// Error implements error with the scrubbed message.
func (e *redactedError) Error() string { return e.msg }

// Unwrap returns the original error.
func (e *redactedError) Unwrap() error { return e.err }

// redact returns err with every credential value of creds removed from its
// message; nil stays nil.
func redact(err error, creds map[string]string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, v := range creds {
		if len(v) >= minRedactLen {
			msg = strings.ReplaceAll(msg, v, "[redacted]")
		}
	}
	return &redactedError{err: err, msg: msg}
}
