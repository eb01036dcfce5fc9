package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/billing"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// The plan's account limit: the free plan's third account is the last,
// the fourth is a 403 account_limit; the plans list it.
func TestAccountLimitAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenPostgres(t), noLimits)
	a := e.register("olga")
	r := e.call("GET", "/api/v2/user/subscription", a.token, "")
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	limit := jsonNum(t, jsonObj(t, r.JSON["entitlements"])["max_accounts"])
	require.Equal(t, 3, limit, "the free plan allows 3 accounts")
	for i := range limit {
		r := e.call("POST", "/api/v2/user/account", a.token,
			`{"broker":"paper","credentials":{"username":"olga-`+strconv.Itoa(i)+`-`+randHex(t)+`","password":"pw-olga-1"}}`)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	}
	r = e.call("POST", "/api/v2/user/account", a.token,
		`{"broker":"paper","credentials":{"username":"olga-x-`+randHex(t)+`","password":"pw-olga-1"}}`)
	assert.Equal(t, http.StatusForbidden, r.Status, r.Raw)
	assert.Equal(t, "account_limit", r.errorCode())
	details := jsonObj(t, jsonObj(t, r.JSON["error"])["details"])
	assert.Equal(t, float64(3), details["max_accounts"])

	r = e.call("GET", "/api/v2/plans", "", "")
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	byID := map[string]int{}
	items, ok := r.JSON["items"].([]any)
	require.True(t, ok, r.Raw)
	for _, p := range items {
		pl := jsonObj(t, p)
		byID[jsonStr(t, pl["id"])] = jsonNum(t, pl["max_accounts"])
	}
	assert.Equal(t, map[string]int{"practice": 3, "pro": 10, "elite": 50}, byID)

	// A paid plan raises the limit.
	_, err := e.billing.Grant(t.Context(), a.id, billing.Grant{PlanID: "pro", PeriodEnd: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	r = e.call("POST", "/api/v2/user/account", a.token,
		`{"broker":"paper","credentials":{"username":"olga-y-`+randHex(t)+`","password":"pw-olga-1"}}`)
	assert.Equal(t, http.StatusCreated, r.Status, r.Raw)
}
