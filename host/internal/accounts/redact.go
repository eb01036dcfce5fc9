package accounts

import (
	"errors"
	"strings"

	"github.com/stc-trading/stc/host/internal/apperr"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/schema"
)

// minRedactLen is the shortest credential value redacted from error texts:
// shorter values (a mode flag, "1") would garble every message and are not
// secrets worth the name.
const minRedactLen = 3

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
	return &redactedError{err: err, msg: scrub(err.Error(), creds)}
}

// scrub replaces every credential value of creds in msg.
func scrub(msg string, creds map[string]string) string {
	for _, v := range creds {
		if len(v) >= minRedactLen {
			msg = strings.ReplaceAll(msg, v, "[redacted]")
		}
	}
	return msg
}

// explainLogin adds the client's explanation to a failed login: the
// broker's own words when it refused the credentials (a too-short
// username, say), with every credential value cut out in case it echoed
// one, and the field at fault when the plugin refused their form.
func explainLogin(err error, creds map[string]string) error {
	var be *broker.Error
	switch {
	case errors.Is(err, schema.ErrInvalid):
		return credentialsError(err)
	case errors.Is(err, broker.ErrAuthFailed) && errors.As(err, &be) && be.Message != "":
		return &apperr.Refusal{Kind: err, Reason: "the broker refused these credentials: " + scrub(be.Message, creds)}
	}
	return err
}
