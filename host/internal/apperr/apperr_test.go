package apperr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/apperr"
)

var errInvalid = errors.New("svc: invalid")

var errBusy = errors.New("svc: busy")

// A refusal keeps the service's sentinel for errors.Is and carries the
// client's sentence, however deep it is wrapped.
func TestRefusalsKeepSentinelAndReason(t *testing.T) {
	err := fmt.Errorf("svc: create: %w", apperr.Invalid(errInvalid, "name", "name must be %d bytes", 3))
	require.ErrorIs(t, err, errInvalid)
	fe, ok := apperr.FieldOf(err)
	require.True(t, ok)
	assert.Equal(t, "name", fe.Field)
	reason, ok := apperr.Reason(err)
	require.True(t, ok)
	assert.Equal(t, "name must be 3 bytes", reason)
	assert.Equal(t, "svc: create: svc: invalid: name must be 3 bytes", err.Error(), "the log keeps the whole chain")

	err = fmt.Errorf("outer: %w", apperr.Refuse(errBusy, "account %d has open trades", 7))
	require.ErrorIs(t, err, errBusy)
	reason, ok = apperr.Reason(err)
	require.True(t, ok)
	assert.Equal(t, "account 7 has open trades", reason)
	_, ok = apperr.FieldOf(err)
	assert.False(t, ok, "a refusal of a state names no field")
	assert.Equal(t, "outer: svc: busy: account 7 has open trades", err.Error())

	assert.Equal(t, "plan", apperr.Refuse(nil, "plan").Error(), "a refusal without a sentinel reads as its reason")

	_, ok = apperr.Reason(fmt.Errorf("svc: %w", errBusy))
	assert.False(t, ok, "an error without a refusal has no reason for clients")
}
