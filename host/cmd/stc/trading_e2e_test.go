package main

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/storetest"
)

// trader is one signed-up user of an end-to-end test.
type trader struct {
	email   string
	token   string
	id      int64
	account int64
	bots    []int64
}

func num(t testing.TB, v any) float64 {
	t.Helper()
	f, ok := v.(float64)
	require.True(t, ok, "want a JSON number, got %T %v", v, v)
	return f
}

// signUp registers email and connects a paper account for it.
func signUp(t testing.TB, h *hostProc, email, paperUser string) *trader {
	t.Helper()
	code, body := h.call("POST", "/api/v2/auth/register", "", `{"email":"`+email+`","password":"correct horse battery"}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	u := &trader{email: email, token: str(t, body["token"]), id: int64(num(t, obj(t, body["user"])["id"]))}
	code, body = h.call("POST", "/api/v2/user/account", u.token, `{"broker":"paper","credentials":{"username":"`+paperUser+`","password":"paper-secret-1"}}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	u.account = int64(num(t, obj(t, body["account"])["id"]))
	return u
}

// makeAdmin creates an operator with the CLI and returns its token.
func makeAdmin(t *testing.T, h *hostProc, bin, db, data string) string {
	t.Helper()
	cli := exec.Command(bin, "user", "create", "--email", "ops@example.com", "--admin", "--database-url", db, "--data-dir", data)
	cli.Stdin = strings.NewReader("operator passphrase 1\n")
	out, err := cli.CombinedOutput()
	require.NoError(t, err, "%s", out)
	code, body := h.call("POST", "/api/v2/auth/login", "", `{"email":"ops@example.com","password":"operator passphrase 1"}`)
	require.Equal(t, http.StatusOK, code, "%v", body)
	return str(t, body["token"])
}

func grant(t *testing.T, h *hostProc, admin string, userID int64, plan string) {
	t.Helper()
	code, body := h.call("POST", fmt.Sprintf("/api/v2/admin/users/%d/subscription", userID), admin, `{"plan_id":"`+plan+`"}`)
	require.Equal(t, http.StatusOK, code, "%v", body)
}

// startBot creates and starts a bot on 1m candles and returns its id.
func startBot(t *testing.T, h *hostProc, u *trader, strategy, params, symbol string) int64 {
	t.Helper()
	return startBotTF(t, h, u, strategy, params, symbol, "1m")
}

// startBotTF is startBot on timeframe tf.
func startBotTF(t *testing.T, h *hostProc, u *trader, strategy, params, symbol, tf string) int64 {
	t.Helper()
	code, body := h.call("POST", "/api/v2/bots", u.token, fmt.Sprintf(
		`{"name":"%s on %s","strategy":"%s","params":%s,"account_id":%d,"symbol":"%s","timeframe":"%s","amount":5,"expiration":60}`,
		strategy, symbol, strategy, params, u.account, symbol, tf))
	require.Equal(t, http.StatusCreated, code, "%v", body)
	id := int64(num(t, obj(t, body["bot"])["id"]))
	code, body = h.call("POST", fmt.Sprintf("/api/v2/bots/%d/start", id), u.token, "")
	require.Equal(t, http.StatusOK, code, "%v", body)
	assert.Equal(t, "running", obj(t, body["bot"])["status"])
	u.bots = append(u.bots, id)
	return id
}

// allTrades pages through a user's trades.
func allTrades(t *testing.T, h *hostProc, token string) []map[string]any {
	t.Helper()
	var out []map[string]any
	path := "/api/v2/user/trades?limit=500"
	for {
		code, body := h.call("GET", path, token, "")
		require.Equal(t, http.StatusOK, code, "%v", body)
		for _, it := range arr(t, body["items"]) {
			out = append(out, obj(t, it))
		}
		next, ok := body["next_cursor"].(string)
		if !ok {
			return out
		}
		path = "/api/v2/user/trades?limit=500&cursor=" + next
	}
}

func isFinal(status any) bool {
	switch status {
	case "won", "lost", "draw", "rejected", "unresolved":
		return true
	}
	return false
}

// waitFor polls cond until it holds or the hang guard fires.
func waitFor(t *testing.T, h *hostProc, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "%s: not within %s (hang guard)\n%s", what, limit, tail(h.logs.String(), 4000))
		time.Sleep(250 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestTradingEndToEnd is the README's flow on the real host, real plugin
// processes and PostgreSQL, with the paper market 60× faster: two users,
// each with a paper account, manual trades and an RSI and a MACD bot.
// Every trade carries its owner and bot, settles with the payout's profit,
// the stats add up, and nothing crosses between the users.
func TestTradingEndToEnd(t *testing.T) {
	bin, pluginDir := buildBinaries(t)
	data, err := os.MkdirTemp("", "stctr") //nolint:usetesting // t.TempDir paths are too long for the plugin sockets under it
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(data) })
	db := storetest.NewSchema(t).URL
	h := startHost(t, bin, hostEnv(freeAddr(t), data, pluginDir, db, "STC_PAPER_TIME_SCALE=60",
		"STC_TRACK=paper:EURUSD-OTC:1m,paper:GBPUSD-OTC:1m"))
	admin := makeAdmin(t, h, bin, db, data)

	alice := signUp(t, h, "alice@example.com", "alice-paper")
	bob := signUp(t, h, "bob@example.com", "bob-paper")
	// Two bots each: beyond the free plan's one.
	code, body := h.call("POST", "/api/v2/bots", alice.token, fmt.Sprintf(
		`{"name":"a","strategy":"rsi","account_id":%d,"symbol":"EURUSD-OTC","timeframe":"1m","amount":5,"expiration":60}`, alice.account))
	require.Equal(t, http.StatusCreated, code, "%v", body)
	code, body = h.call("POST", "/api/v2/bots", alice.token, fmt.Sprintf(
		`{"name":"b","strategy":"macd","account_id":%d,"symbol":"EURUSD-OTC","timeframe":"1m","amount":5,"expiration":60}`, alice.account))
	require.Equal(t, http.StatusForbidden, code, "the practice plan has one bot: %v", body)
	assert.Equal(t, "not_entitled", errCode(body))
	grant(t, h, admin, alice.id, "pro")
	grant(t, h, admin, bob.id, "pro")

	// RSI with levels around 50 trades on nearly every candle; MACD on
	// its crossovers.
	const busyRSI = `{"period":14,"oversold":49.99,"overbought":50}`
	startBot(t, h, alice, "macd", `{}`, "EURUSD-OTC")
	startBot(t, h, bob, "rsi", busyRSI, "GBPUSD-OTC")
	startBot(t, h, bob, "macd", `{}`, "GBPUSD-OTC")
	startBot(t, h, alice, "rsi", busyRSI, "EURUSD-OTC")

	for _, u := range []*trader{alice, bob} {
		for i, dir := range []string{"CALL", "PUT", "CALL"} {
			code, body := h.call("POST", "/api/v2/user/trade", u.token, fmt.Sprintf(
				`{"broker":"paper","symbol":"EURUSD-OTC","direction":"%s","amount":%d.25,"expiration":60}`, dir, i+1))
			require.Equal(t, http.StatusCreated, code, "%v", body)
			tr := obj(t, body["trade"])
			assert.Nil(t, tr["bot_id"], "a manual trade has no bot")
			assert.Equal(t, "open", tr["status"], "%v", tr)
		}
	}

	// Wait until each user's RSI bot has settled trades and every manual
	// trade has settled.
	settled := func(u *trader, manual bool) int {
		n := 0
		for _, tr := range allTrades(t, h, u.token) {
			if (tr["bot_id"] == nil) == manual && (tr["status"] == "won" || tr["status"] == "lost" || tr["status"] == "draw") {
				n++
			}
		}
		return n
	}
	waitFor(t, h, "bot and manual trades settle", 3*time.Minute, func() bool {
		return settled(alice, true) == 3 && settled(bob, true) == 3 && settled(alice, false) >= 3 && settled(bob, false) >= 3
	})
	for _, u := range []*trader{alice, bob} {
		for _, id := range u.bots {
			code, body := h.call("POST", fmt.Sprintf("/api/v2/bots/%d/stop", id), u.token, "")
			require.Equal(t, http.StatusOK, code, "%v", body)
		}
	}
	waitFor(t, h, "every trade reaches a final state", 2*time.Minute, func() bool {
		for _, u := range []*trader{alice, bob} {
			for _, tr := range allTrades(t, h, u.token) {
				if !isFinal(tr["status"]) {
					return false
				}
			}
		}
		return true
	})

	for _, pair := range [][2]*trader{{alice, bob}, {bob, alice}} {
		u, other := pair[0], pair[1]
		trades := allTrades(t, h, u.token)
		own := map[any]bool{nil: true}
		for _, id := range u.bots {
			own[float64(id)] = true
		}
		var profit float64
		var wins, losses, draws int
		perBot := map[any]float64{}
		for _, tr := range trades {
			assert.Equal(t, float64(u.id), tr["user_id"], "trade %v belongs to its user", tr["id"])
			assert.Equal(t, float64(u.account), tr["account_id"])
			assert.True(t, own[tr["bot_id"]], "trade %v's bot %v is the user's", tr["id"], tr["bot_id"])
			amount, payout := num(t, tr["amount"]), 0.0
			if tr["payout"] != nil {
				payout = num(t, tr["payout"])
			}
			var p float64
			switch tr["status"] {
			case "won":
				wins++
				p = num(t, tr["profit"])
				assert.InDelta(t, math.Round(amount*payout)/100, p, 1e-9, "a win pays amount × payout %%: %v", tr)
			case "lost":
				losses++
				p = num(t, tr["profit"])
				assert.InDelta(t, -amount, p, 1e-9, "a loss costs the amount: %v", tr)
			case "draw":
				draws++
				p = num(t, tr["profit"])
				assert.InDelta(t, 0, p, 1e-9)
			}
			profit += p
			perBot[tr["bot_id"]] += p
			// The other user cannot read it.
			code, _ := h.call("GET", fmt.Sprintf("/api/v2/user/trades/%v", tr["id"]), other.token, "")
			assert.Equal(t, http.StatusNotFound, code, "trade %v is invisible to the other user", tr["id"])
		}
		code, body := h.call("GET", "/api/v2/user/stats", u.token, "")
		require.Equal(t, http.StatusOK, code, "%v", body)
		totals := obj(t, body["totals"])
		assert.Equal(t, float64(wins+losses+draws), totals["trades"], "stats count the settled trades")
		assert.Equal(t, float64(wins), totals["wins"])
		assert.Equal(t, float64(losses), totals["losses"])
		assert.Equal(t, float64(draws), totals["draws"])
		assert.InDelta(t, profit, num(t, totals["profit"]), 1e-6, "stats profit is the trades' sum")
		if wins+losses+draws > 0 {
			assert.InDelta(t, float64(wins)/float64(wins+losses+draws), num(t, totals["win_rate"]), 1e-9)
		}
		rows := arr(t, body["bots"])
		var rowTrades float64
		for _, r := range rows {
			row := obj(t, r)
			assert.True(t, own[row["bot_id"]], "stats rows are the user's own bots or manual")
			assert.InDelta(t, perBot[row["bot_id"]], num(t, row["profit"]), 1e-6, "per-bot profit of %v", row["bot_id"])
			rowTrades += num(t, row["trades"])
		}
		assert.Equal(t, totals["trades"], rowTrades, "per-bot rows add up to the totals")
	}

	// An account with trades in flight cannot be disconnected: they would
	// have no session to settle through.
	code, body = h.call("POST", "/api/v2/user/trade", bob.token, `{"broker":"paper","symbol":"EURUSD-OTC","direction":"PUT","amount":1,"expiration":60}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	code, body = h.call("POST", "/api/v2/user/disconnect", bob.token, `{"broker":"paper"}`)
	require.Equal(t, http.StatusConflict, code, "%v", body)
	assert.Equal(t, "account_busy", errCode(body))
	assert.Contains(t, obj(t, body["error"])["message"], "1 trade(s) on this account are still open",
		"the refusal tells the trader why and what to do")
	waitFor(t, h, "bob's last trade settles", time.Minute, func() bool {
		for _, tr := range allTrades(t, h, bob.token) {
			if !isFinal(tr["status"]) {
				return false
			}
		}
		return true
	})
	// Disconnecting pauses the account's running bots at once, with the
	// reason shown. A daily bot has no candle closing during the test, so
	// it is running without trades in flight.
	daily := startBotTF(t, h, bob, "rsi", `{}`, "EURUSD-OTC", "1d")
	code, body = h.call("POST", "/api/v2/user/disconnect", bob.token, `{"broker":"paper"}`)
	require.Equal(t, http.StatusOK, code, "%v", body)
	code, body = h.call("GET", fmt.Sprintf("/api/v2/bots/%d", daily), bob.token, "")
	require.Equal(t, http.StatusOK, code, "%v", body)
	assert.Equal(t, "paused", obj(t, body["bot"])["status"])
	assert.Equal(t, "account_not_connected", obj(t, body["bot"])["status_reason"])
	code, body = h.call("POST", fmt.Sprintf("/api/v2/bots/%d/start", daily), bob.token, "")
	assert.Equal(t, http.StatusConflict, code, "a bot cannot start on a disconnected account: %v", body)
}
