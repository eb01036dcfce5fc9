package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// TestBotErrorsNameTheirField: a bot spec the service refuses says which
// field is wrong in details.field, so the cockpit's form shows the error
// at that input.
func TestBotErrorsNameTheirField(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), httpapi.RateLimits{PerIP: -1, PerUser: -1, Auth: -1})
	a := e.register("fields")
	e.connectPaper(&a, "pw-"+randHex(t))
	acct := strconv.FormatInt(a.account, 10)
	for _, c := range []struct{ body, field string }{
		{`{"name":" ","strategy":"rsi","account_id":` + acct + `,"symbol":"EURUSD-OTC","timeframe":"1m","amount":1,"expiration":60}`, "name"},
		{`{"name":"b","strategy":"rsi","account_id":` + acct + `,"symbol":"EURUSD-OTC","timeframe":"1m","amount":0,"expiration":60}`, "amount"},
		{`{"name":"b","strategy":"rsi","account_id":` + acct + `,"symbol":"EURUSD-OTC","timeframe":"1m","amount":1,"expiration":60,"limits":{"cooldown_losses":2}}`, "limits.cooldown_candles"},
		{`{"name":"b","strategy":"rsi","account_id":` + acct + `,"symbol":"NOPE-OTC","timeframe":"1m","amount":1,"expiration":60}`, "symbol"},
	} {
		r := e.call("POST", "/api/v2/bots", a.token, c.body)
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		assert.Equal(t, "validation_failed", r.errorCode())
		details, _ := jsonObj(t, r.JSON["error"])["details"].(map[string]any)
		assert.Equal(t, c.field, details["field"], r.Raw)
	}
}
