package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// jsonNum is a JSON number that must be an integer.
func jsonNum(t testing.TB, v any) int {
	t.Helper()
	f, ok := v.(float64)
	require.True(t, ok && f == float64(int(f)), "want an integer, got %T %v", v, v)
	return int(f)
}

// errorField is the details.field of an error answer.
func (r response) errorField() string {
	e, _ := r.JSON["error"].(map[string]any)
	d, _ := e["details"].(map[string]any)
	f, _ := d["field"].(string)
	return f
}

// The limits API on both stores: a partial PUT changes only what it sends
// (it used to switch every omitted limit off), amounts that would round
// to 0 and counts beyond their INTEGER column are a 400 naming the field
// (the latter was a 500 from PostgreSQL), and nothing is ever switched off
// but by an explicit 0.
func TestLimitsAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		e := newEnv(t, st, noLimits)
		a := e.register("lima")
		put := func(body string) response { return e.call("PUT", "/api/v2/user/limits", a.token, body) }
		get := func() map[string]any {
			r := e.call("GET", "/api/v2/user/limits", a.token, "")
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			return r.JSON
		}

		r := put(`{"max_stake":1000,"max_open_trades":20,"max_trades_per_day":1000,"max_daily_loss":"50","cooldown_losses":3,"cooldown_seconds":600}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		full := r.JSON

		t.Run("omitted fields keep their values", func(t *testing.T) {
			r := put(`{"max_stake":500}`)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			want := map[string]any{}
			for k, v := range full {
				want[k] = v
			}
			want["max_stake"] = float64(500)
			assert.Equal(t, want, r.JSON, "only max_stake changed")
			assert.Equal(t, want, get())
		})

		t.Run("amounts that round to zero are refused", func(t *testing.T) {
			before := get()
			for _, c := range []struct{ body, field string }{
				{`{"max_daily_loss":"0.000000001"}`, "max_daily_loss"},
				{`{"max_daily_loss":0.000000001}`, "max_daily_loss"},
				{`{"max_stake":1e-9}`, "max_stake"},
				{`{"max_stake":"10.123456789"}`, "max_stake"},
			} {
				r := put(c.body)
				assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", c.body, r.Raw)
				assert.Equal(t, "validation_failed", r.errorCode(), c.body)
				assert.Equal(t, c.field, r.errorField(), c.body)
			}
			assert.Equal(t, before, get(), "nothing changed")
		})

		t.Run("bounds match the columns", func(t *testing.T) {
			before := get()
			for _, c := range []struct{ body, field string }{
				{`{"max_open_trades":2147483648}`, "max_open_trades"},
				{`{"max_trades_per_day":9223372036854775808}`, "max_trades_per_day"},
				{`{"cooldown_losses":1e30}`, "cooldown_losses"},
				{`{"max_open_trades":-1}`, "max_open_trades"},
				{`{"max_open_trades":1.5}`, "max_open_trades"},
				{`{"cooldown_seconds":604801}`, "cooldown_seconds"},
				{`{"max_stake":1000000000000}`, "max_stake"},
				{`{"max_daily_loss":-0.01}`, "max_daily_loss"},
				{`{"max_open_trades":null}`, "max_open_trades"},
				{`{"max_stake":null}`, "max_stake"},
				{`{"max_open_trades":true}`, "max_open_trades"},
				{`{"max_stake":"abc"}`, "max_stake"},
				{`{"max_daily_loss":{}}`, "max_daily_loss"},
			} {
				r := put(c.body)
				assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", c.body, r.Raw)
				assert.Equal(t, "validation_failed", r.errorCode(), c.body)
				assert.Equal(t, c.field, r.errorField(), c.body)
			}
			r := put(`{}`)
			assert.Equal(t, http.StatusBadRequest, r.Status, "an empty update: %s", r.Raw)
			assert.Equal(t, before, get(), "nothing changed")

			r = put(`{"max_open_trades":2147483647,"max_trades_per_day":2147483647,"max_stake":"999999999999.99999999","cooldown_seconds":604800}`)
			require.Equal(t, http.StatusOK, r.Status, "the column maxima fit: %s", r.Raw)
			assert.Equal(t, float64(2147483647), get()["max_open_trades"])
		})

		t.Run("zero switches a limit off explicitly", func(t *testing.T) {
			r := put(`{"max_open_trades":0}`)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			got := get()
			assert.Equal(t, float64(0), got["max_open_trades"])
			assert.Equal(t, float64(2147483647), got["max_trades_per_day"], "the others stay")
		})
	})
}

// Another user's account_id in a trade is "no such account", not "no such
// trade".
func TestTradeOnAnotherUsersAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite(t), noLimits)
	a, b := e.register("mallory"), e.register("victor")
	e.connectPaper(&a, "mallory-password-1")
	e.connectPaper(&b, "victor-password-1")
	for _, id := range []int64{b.account, 999999} {
		r := e.call("POST", "/api/v2/user/trade", a.token,
			`{"account_id":`+strconv.FormatInt(id, 10)+`,"symbol":"EURUSD-OTC","direction":"CALL","amount":1,"expiration":60}`)
		assert.Equal(t, http.StatusNotFound, r.Status, r.Raw)
		assert.Equal(t, "not_found", r.errorCode())
		assert.Equal(t, "account_id", r.errorField())
		e, _ := r.JSON["error"].(map[string]any)
		assert.Equal(t, "no such account", e["message"])
	}
}
