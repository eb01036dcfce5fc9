package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/storetest"
)

// An admin grant whose period end is the zero time (0001-01-01) is a
// mistake, not an endless plan; leaving the field out (or null) is how an
// open-ended grant is asked for.
func TestGrantZeroPeriodEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite(t), noLimits)
	a := e.register("gina")
	adminEmail := "ops-" + a.email
	_, err := e.users.CreateUser(t.Context(), adminEmail, "correct horse battery", "admin")
	require.NoError(t, err)
	r := e.call("POST", "/api/v2/auth/login", "", `{"email":"`+adminEmail+`","password":"correct horse battery"}`)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	admin := jsonStr(t, r.JSON["token"])
	path := "/api/v2/admin/users/" + strconv.FormatInt(a.id, 10) + "/subscription"

	for _, end := range []string{`"0001-01-01T00:00:00Z"`, `"1970-01-01T00:00:00Z"`, `"0001-01-01T00:00:00+01:00"`} {
		r = e.call("POST", path, admin, `{"plan_id":"pro","current_period_end":`+end+`}`)
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", end, r.Raw)
		assert.Equal(t, "validation_failed", r.errorCode(), end)
	}
	sub, ok, err := e.billing.Subscription(t.Context(), a.id)
	require.NoError(t, err)
	assert.False(t, ok, "no grant was stored: %+v", sub)

	r = e.call("POST", path, admin, `{"plan_id":"pro","current_period_end":null}`)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Nil(t, r.JSON["current_period_end"], "null asks for an open-ended grant")
}
