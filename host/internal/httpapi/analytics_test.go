package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// settledTrades places trades on a's paper account (symbol and amount
// each) and waits until the paper broker has settled them all; it
// returns them as GET /api/v2/user/trades/{id} does.
func (e *env) settledTrades(a actor, orders ...[2]string) []map[string]any {
	e.t.Helper()
	var ids []int64
	for i, o := range orders {
		dir := "CALL"
		if i%2 == 1 {
			dir = "PUT"
		}
		r := e.call("POST", "/api/v2/user/trade", a.token, fmt.Sprintf(`{"account_id":%d,"symbol":%q,"direction":%q,"amount":%s,"expiration":60}`,
			a.account, o[0], dir, o[1]))
		require.Equal(e.t, http.StatusCreated, r.Status, r.Raw)
		ids = append(ids, jsonID(e.t, jsonObj(e.t, r.JSON["trade"])["id"]))
	}
	out := make([]map[string]any, len(ids))
	deadline := time.Now().Add(2 * time.Minute) // a hang guard only: paper runs 60 market seconds a second
	for i, id := range ids {
		for {
			r := e.call("GET", "/api/v2/user/trades/"+strconv.FormatInt(id, 10), a.token, "")
			require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
			tr := jsonObj(e.t, r.JSON["trade"])
			if st := tr["status"]; st == "won" || st == "lost" || st == "draw" {
				out[i] = tr
				break
			}
			require.True(e.t, time.Now().Before(deadline), "trade %d never settled: %s", id, r.Raw)
			time.Sleep(50 * time.Millisecond)
		}
	}
	return out
}

// TestAnalyticsRoutes settles real paper trades of two users and reads
// every analytics route: the numbers add up to the trades the caller
// sees in their own list, days and hours fall in the zone asked for, and
// the other user's trades never count.
func TestAnalyticsRoutes(t *testing.T) {
	each := func(name string, f func(t *testing.T, e *env)) {
		t.Run(name, func(t *testing.T) {
			st := storetest.OpenSQLite(t)
			if name == "postgres" {
				st = storetest.OpenPostgres(t)
			}
			f(t, newEnv(t, st, httpapi.RateLimits{PerIP: -1, PerUser: -1, Auth: -1}))
		})
	}
	for _, store := range []string{"postgres", "sqlite"} {
		each(store, func(t *testing.T, e *env) {
			alice, bob := e.register("alice"), e.register("bob")
			e.connectPaper(&alice, "alice-pw-"+randHex(t))
			e.connectPaper(&bob, "bob-pw-"+randHex(t))
			trades := e.settledTrades(alice, [2]string{"EURUSD-OTC", "1"}, [2]string{"EURUSD-OTC", "2.5"}, [2]string{"GBPUSD-OTC", "3"}, [2]string{"EURUSD-OTC", "4"})
			e.settledTrades(bob, [2]string{"EURUSD-OTC", "7"})

			profit, wins := 0.0, 0
			perSymbol := map[string]int{}
			saoPaulo, err := time.LoadLocation("America/Sao_Paulo")
			require.NoError(t, err)
			perDay, perHour := map[string]int{}, map[int]int{}
			for _, tr := range trades {
				profit += jsonFloat(t, tr["profit"])
				if tr["status"] == "won" {
					wins++
				}
				perSymbol[jsonStr(t, tr["symbol"])]++
				closed, err := time.Parse(time.RFC3339, jsonStr(t, tr["closed_at"]))
				require.NoError(t, err)
				perDay[closed.In(saoPaulo).Format(time.DateOnly)]++
				perHour[closed.In(saoPaulo).Hour()]++
			}

			r := e.call("GET", "/api/v2/user/analytics/bots", alice.token, "")
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			totals := jsonObj(t, r.JSON["totals"])
			assert.Equal(t, 4.0, totals["trades"])
			assert.Equal(t, float64(wins), totals["wins"])
			assert.InDelta(t, profit, totals["profit"], 1e-9)
			items := jsonArr(t, r.JSON["items"])
			require.Len(t, items, 1, "manual trades only: %s", r.Raw)
			assert.Nil(t, jsonObj(t, items[0])["bot_id"])

			r = e.call("GET", "/api/v2/user/analytics/by-symbol", alice.readKey, "")
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			items = jsonArr(t, r.JSON["items"])
			require.Len(t, items, 2, r.Raw)
			assert.Equal(t, "EURUSD-OTC", jsonObj(t, items[0])["symbol"], "the most traded first")
			for _, it := range items {
				s := jsonObj(t, it)
				assert.Equal(t, float64(perSymbol[jsonStr(t, s["symbol"])]), s["trades"])
			}

			r = e.call("GET", "/api/v2/user/analytics/daily?tz="+url.QueryEscape("America/Sao_Paulo"), alice.token, "")
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			assert.Equal(t, "America/Sao_Paulo", r.JSON["tz"])
			for _, it := range jsonArr(t, r.JSON["items"]) {
				d := jsonObj(t, it)
				assert.Equal(t, float64(perDay[jsonStr(t, d["date"])]), d["trades"], "day %s", d["date"])
			}
			assert.Len(t, r.JSON["items"], len(perDay))

			r = e.call("GET", "/api/v2/user/analytics/by-hour?tz=America/Sao_Paulo", alice.token, "")
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			hours := jsonArr(t, r.JSON["items"])
			require.Len(t, hours, 24)
			for h, it := range hours {
				assert.Equal(t, float64(perHour[h]), jsonObj(t, it)["trades"], "hour %d", h)
			}

			r = e.call("GET", "/api/v2/user/analytics/equity", alice.token, "")
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			assert.Equal(t, 0.0, r.JSON["bucket_seconds"], "four trades: one point each")
			points := jsonArr(t, r.JSON["points"])
			require.Len(t, points, 4)
			assert.InDelta(t, profit, jsonObj(t, points[3])["equity"], 1e-9)

			// Bob's numbers are his one trade; alice's never count.
			r = e.call("GET", "/api/v2/user/analytics/bots", bob.token, "")
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			assert.Equal(t, 1.0, jsonObj(t, r.JSON["totals"])["trades"])
			r = e.call("GET", "/api/v2/user/analytics/by-symbol", bob.token, "")
			assert.Len(t, r.JSON["items"], 1)
			assert.NotContains(t, r.Raw, "GBPUSD-OTC")

			// Filters: paper is practice only, and these are manual trades.
			r = e.call("GET", "/api/v2/user/analytics/bots?mode=real", alice.token, "")
			assert.Equal(t, 0.0, jsonObj(t, r.JSON["totals"])["trades"], r.Raw)
			r = e.call("GET", "/api/v2/user/analytics/bots?mode=practice&manual=true", alice.token, "")
			assert.Equal(t, 4.0, jsonObj(t, r.JSON["totals"])["trades"], r.Raw)
			r = e.call("GET", "/api/v2/user/analytics/equity?bot_id=12345", alice.token, "")
			assert.Equal(t, []any{}, r.JSON["points"], r.Raw)
			future := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
			r = e.call("GET", "/api/v2/user/analytics/daily?from="+future, alice.token, "")
			assert.Equal(t, []any{}, r.JSON["items"], r.Raw)
			assert.Equal(t, "UTC", r.JSON["tz"], "UTC without tz")
		})
	}
}

// TestAnalyticsValidation: every filter a client gets wrong is a 400
// naming its field, never a 500.
func TestAnalyticsValidation(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), httpapi.RateLimits{PerIP: -1, PerUser: -1, Auth: -1})
	a := e.register("alice")
	for query, field := range map[string]string{
		"/daily?tz=Mars/Olympus_Mons":                         "tz",
		"/daily?tz=Local":                                     "tz",
		"/by-hour?tz=../../etc/passwd":                        "tz",
		"/by-hour?tz=" + url.QueryEscape("America/Sao Paulo"): "tz",
		"/daily?tz=Europe/Berlin%00":                          "tz",
		"/equity?points=1":                                    "points",
		"/equity?points=5001":                                 "points",
		"/equity?points=ten":                                  "points",
		"/bots?mode=demo":                                     "mode",
		"/by-symbol?bot_id=0":                                 "bot_id",
		"/by-symbol?bot_id=x":                                 "bot_id",
		"/bots?bot_id=3&manual=true":                          "manual",
		"/bots?manual=yes":                                    "manual",
		"/daily?from=yesterday":                               "from",
		"/daily?to=2024-13-01T00:00:00Z":                      "to",
		"/daily?from=1700000000&to=1600000000":                "to",
	} {
		r := e.call("GET", "/api/v2/user/analytics"+query, a.token, "")
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", query, r.Raw)
		assert.Equal(t, "validation_failed", r.errorCode(), query)
		assert.Equal(t, field, jsonObj(t, jsonObj(t, r.JSON["error"])["details"])["field"], query)
	}
	r := e.call("GET", "/api/v2/user/analytics/equity?points=2&tz=Asia/Kolkata", a.token, "")
	assert.Equal(t, http.StatusOK, r.Status, r.Raw)
}
