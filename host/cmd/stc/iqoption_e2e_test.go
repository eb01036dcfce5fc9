package main

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/plugins/broker/iqoption/iqfake"
)

// register signs a user up without connecting an account.
func register(t *testing.T, h *hostProc, email string) *trader {
	t.Helper()
	code, body := h.call("POST", "/api/v2/auth/register", "", `{"email":"`+email+`","password":"correct horse battery"}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	return &trader{email: email, token: str(t, body["token"]), id: int64(num(t, obj(t, body["user"])["id"]))}
}

// connectIQ connects u's IQ Option account with creds (a JSON object).
func connectIQ(t *testing.T, h *hostProc, u *trader, creds string) (int, map[string]any) {
	t.Helper()
	return h.call("POST", "/api/v2/user/account", u.token, `{"broker":"iqoption","credentials":`+creds+`}`)
}

// iqAccount returns u's IQ Option account as listed by the API.
func iqAccount(t *testing.T, h *hostProc, u *trader) map[string]any {
	t.Helper()
	code, body := h.call("GET", "/api/v2/user/accounts", u.token, "")
	require.Equal(t, http.StatusOK, code, "%v", body)
	for _, it := range arr(t, body["items"]) {
		if a := obj(t, it); a["broker"] == "iqoption" {
			return a
		}
	}
	t.Fatalf("no iqoption account in %v", body)
	return nil
}

// checkSettled asserts a final trade's profit: amount × payout % on a
// win, −amount on a loss, zero on a draw. It returns false while open.
func checkSettled(t *testing.T, tr map[string]any) bool {
	t.Helper()
	amount := num(t, tr["amount"])
	switch tr["status"] {
	case "won":
		payout := num(t, tr["payout"])
		assert.Positive(t, payout, "%v", tr)
		assert.InDelta(t, math.Round(amount*payout)/100, num(t, tr["profit"]), 1e-9, "a win pays amount × payout %%: %v", tr)
	case "lost":
		assert.InDelta(t, -amount, num(t, tr["profit"]), 1e-9, "a loss costs the amount: %v", tr)
	case "draw":
		assert.InDelta(t, 0, num(t, tr["profit"]), 1e-9, "%v", tr)
	default:
		return false
	}
	return true
}

// samePositions asserts that the user's trades and the fake's positions
// are one-to-one: each position has exactly one trade row (by broker
// order id = option id) and no filled trade lacks a position.
func samePositions(t *testing.T, h *hostProc, fk *iqfake.Server, u *trader, iqUser int64) {
	t.Helper()
	byOption := map[string]int{}
	for _, tr := range allTrades(t, h, u.token) {
		if id, _ := tr["broker_order_id"].(string); id != "" {
			byOption[id]++
		}
	}
	positions := fk.Positions(iqUser)
	require.NotEmpty(t, positions)
	for _, p := range positions {
		id := fmt.Sprint(p.OptionID)
		assert.Equal(t, 1, byOption[id], "position %d is recorded exactly once", p.OptionID)
		delete(byOption, id)
	}
	assert.Empty(t, byOption, "trades without an IQ Option position")
}

// TestIQOptionEndToEnd runs the host, the real IQ Option plugin process and
// PostgreSQL against the fake IQ Option server at 60× speed: connecting an
// account (with and without SMS 2FA), market data through the connected
// account (symbols, candles, the tracked feed), manual trades on both
// APIs, a bot, settlement, a socket drop mid-trade whose result is
// recovered and recorded once, and a host restart that resumes the
// account from the stored ssid (the password is never stored nor logged).
func TestIQOptionEndToEnd(t *testing.T) {
	bin, pluginDir := buildBinaries(t)
	fk, err := iqfake.Start(iqfake.Config{Scale: 60, Seed: 42, Start: time.Now().UTC().Truncate(time.Minute)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = fk.Close() })
	const (
		alicePW = "iq-alice-Secret-7731"
		bobPW   = "iq-bob-Secret-5519"
		bobCode = "482913"
	)
	aliceIQ := fk.AddUser(iqfake.User{Identifier: "alice@iq.example", Password: alicePW})
	bobIQ := fk.AddUser(iqfake.User{Identifier: "bob@iq.example", Password: bobPW, TwoFactorCode: bobCode})

	data, err := os.MkdirTemp("", "stciq") //nolint:usetesting // t.TempDir paths are too long for the plugin sockets under it
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(data) })
	db := storetest.NewSchema(t).URL
	env := hostEnv(freeAddr(t), data, pluginDir, db, "STC_TRACK=iqoption:EURUSD-OTC:1m",
		"STC_IQOPTION_AUTH_URL="+fk.AuthURL(), "STC_IQOPTION_WS_URL="+fk.WSURL())
	h := startHost(t, bin, env)
	var logs []*hostProc
	logs = append(logs, h)
	t.Cleanup(func() {
		for _, p := range logs {
			for _, pw := range []string{alicePW, bobPW} {
				assert.NotContains(t, p.logs.String(), pw, "a broker password in the host or plugin logs")
			}
		}
	})
	admin := makeAdmin(t, h, bin, db, data)

	// No account connected yet: IQ Option serves no anonymous market data,
	// so the symbols are the host's built-in fallback list.
	code, body := h.call("GET", "/api/v2/symbols?broker=iqoption", "", "")
	require.Equal(t, http.StatusOK, code, "%v", body)
	assert.Equal(t, "fallback", body["source"], "%v", body)

	alice := register(t, h, "alice@example.com")
	bob := register(t, h, "bob@example.com")
	grant(t, h, admin, alice.id, "pro")
	grant(t, h, admin, bob.id, "pro")

	code, body = connectIQ(t, h, alice, `{"identifier":"alice@iq.example","password":"wrong password"}`)
	require.Equal(t, http.StatusUnprocessableEntity, code, "%v", body)
	assert.Equal(t, "broker_auth_failed", errCode(body))

	code, body = connectIQ(t, h, alice, `{"identifier":"alice@iq.example","password":"`+alicePW+`"}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	acc := obj(t, body["account"])
	alice.account = int64(num(t, acc["id"]))
	assert.Equal(t, "practice", acc["mode"])
	assert.Equal(t, true, acc["connected"], "%v", acc)
	assert.InDelta(t, 10000, num(t, acc["balance"]), 1e-9)

	// 2FA: the first attempt sends the SMS, the second carries the code.
	smsBefore := fk.Stats().SMSSent
	bobCreds := `{"identifier":"bob@iq.example","password":"` + bobPW + `"`
	code, body = connectIQ(t, h, bob, bobCreds+`}`)
	require.Equal(t, http.StatusConflict, code, "%v", body)
	assert.Equal(t, "second_factor_required", errCode(body))
	assert.Equal(t, smsBefore+1, fk.Stats().SMSSent)
	code, body = connectIQ(t, h, bob, bobCreds+`,"code":"000000"}`)
	require.Equal(t, http.StatusUnprocessableEntity, code, "a wrong code: %v", body)
	assert.Equal(t, "broker_auth_failed", errCode(body))
	code, body = connectIQ(t, h, bob, bobCreds+`,"code":"`+bobCode+`"}`)
	require.Equal(t, http.StatusCreated, code, "the challenge survives a wrong code: %v", body)
	assert.Equal(t, smsBefore+1, fk.Stats().SMSSent, "one SMS for the whole flow")
	bob.account = int64(num(t, obj(t, body["account"])["id"]))

	// Market data through the connected accounts, on both APIs.
	code, body = h.call("GET", "/api/v2/symbols?broker=iqoption", "", "")
	require.Equal(t, http.StatusOK, code, "%v", body)
	assert.Equal(t, "live", body["source"], "%v", body)
	var payout float64
	symbols := map[string]bool{}
	for _, it := range arr(t, body["items"]) {
		in := obj(t, it)
		symbols[str(t, in["symbol"])] = true
		if in["symbol"] == "EURUSD-OTC" {
			payout = num(t, in["payout"])
		}
	}
	assert.True(t, symbols["EURUSD-OTC"], "%v", symbols)
	assert.Positive(t, payout)
	code, body = h.call("GET", "/api/iq/symbols", "", "")
	require.Equal(t, http.StatusOK, code, "%v", body)
	assert.NotEmpty(t, arr(t, body["symbols"]))

	checkCandles := func(path, key string, want int) {
		t.Helper()
		var got []any
		waitFor(t, h, path, 2*time.Minute, func() bool {
			code, body := h.call("GET", path, "", "")
			if code != http.StatusOK {
				return false
			}
			got = arr(t, body[key])
			return len(got) == want
		})
		prev := int64(0)
		for _, c := range got {
			cd := obj(t, c)
			ts := int64(num(t, cd["timestamp"]))
			assert.Zero(t, ts%60, "minute-aligned")
			assert.Greater(t, ts, prev, "ascending")
			prev = ts
			assert.LessOrEqual(t, num(t, cd["low"]), math.Min(num(t, cd["open"]), num(t, cd["close"])))
			assert.GreaterOrEqual(t, num(t, cd["high"]), math.Max(num(t, cd["open"]), num(t, cd["close"])))
		}
	}
	checkCandles("/api/v2/candles?broker=iqoption&symbol=EURUSD-OTC&timeframe=1m&limit=100", "candles", 100)
	checkCandles("/api/iq/candles?symbol=EURUSD-OTC&timeframe=1m&count=50", "candles", 50)
	checkCandles("/api/v2/candles?broker=iqoption&symbol=GBPUSD-OTC&timeframe=5m&limit=20", "candles", 20) // untracked

	// Manual trades, on the legacy and the v2 API.
	fk.SetFaults(iqfake.Faults{ForceResult: "win"})
	code, body = h.call("POST", "/api/iq/trade", alice.token, `{"symbol":"EURUSD-OTC","direction":"CALL","amount":10,"expiration":60}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	legacy := obj(t, body["trade"])
	assert.Equal(t, "iqoption", legacy["broker"])
	assert.Equal(t, float64(alice.account), legacy["account_id"])
	code, body = h.call("POST", "/api/v2/user/trade", bob.token, `{"broker":"iqoption","symbol":"EURUSD-OTC","direction":"PUT","amount":7.5,"expiration":60}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	v2 := obj(t, body["trade"])
	for _, tr := range []map[string]any{legacy, v2} {
		assert.Nil(t, tr["bot_id"])
		assert.NotEmpty(t, tr["broker_order_id"], "%v", tr)
	}
	tradeStatus := func(u *trader, id any) map[string]any {
		code, body := h.call("GET", fmt.Sprintf("/api/v2/user/trades/%v", id), u.token, "")
		require.Equal(t, http.StatusOK, code, "%v", body)
		return obj(t, body["trade"])
	}
	waitFor(t, h, "the manual wins settle", 2*time.Minute, func() bool {
		return isFinal(tradeStatus(alice, legacy["id"])["status"]) && isFinal(tradeStatus(bob, v2["id"])["status"])
	})
	for _, pair := range []struct {
		u  *trader
		tr map[string]any
	}{{alice, legacy}, {bob, v2}} {
		tr := tradeStatus(pair.u, pair.tr["id"])
		assert.Equal(t, "won", tr["status"], "%v", tr)
		checkSettled(t, tr)
	}

	// A loss and a draw.
	for result, want := range map[string]string{"loose": "lost", "equal": "draw"} {
		fk.SetFaults(iqfake.Faults{ForceResult: result})
		code, body := h.call("POST", "/api/v2/user/trade", alice.token, `{"broker":"iqoption","symbol":"EURUSD-OTC","direction":"CALL","amount":3,"expiration":60}`)
		require.Equal(t, http.StatusCreated, code, "%v", body)
		id := obj(t, body["trade"])["id"]
		var tr map[string]any
		waitFor(t, h, "the "+want+" settles", 2*time.Minute, func() bool {
			tr = tradeStatus(alice, id)
			return isFinal(tr["status"])
		})
		assert.Equal(t, want, tr["status"], "%v", tr)
		checkSettled(t, tr)
	}
	fk.SetFaults(iqfake.Faults{})

	// A bot on the tracked feed (which runs through the connected
	// accounts): RSI with levels around 50 trades on nearly every candle.
	startBot(t, h, alice, "rsi", `{"period":5,"oversold":49.99,"overbought":50}`, "EURUSD-OTC")
	botSettled := func() int {
		n := 0
		for _, tr := range allTrades(t, h, alice.token) {
			if tr["bot_id"] != nil && isFinal(tr["status"]) {
				assert.Equal(t, float64(alice.bots[0]), tr["bot_id"])
				checkSettled(t, tr)
				n++
			}
		}
		return n
	}
	waitFor(t, h, "bot trades settle", 3*time.Minute, func() bool { return botSettled() >= 2 })
	code, body = h.call("POST", fmt.Sprintf("/api/v2/bots/%d/stop", alice.bots[0]), alice.token, "")
	require.Equal(t, http.StatusOK, code, "%v", body)

	// The socket drops after IQ Option opened the option and before its
	// answer; then an answer is swallowed on a live socket. Each result is
	// recovered and recorded once.
	for _, fault := range []iqfake.Faults{{DropBeforeAnswer: true, ForceResult: "win"}, {SwallowAnswer: true, ForceResult: "loose"}} {
		before := len(fk.Positions(bobIQ))
		fk.SetFaults(fault)
		code, body := h.callAllowing([]int{http.StatusServiceUnavailable, http.StatusGatewayTimeout},
			"POST", "/api/v2/user/trade", bob.token, `{"broker":"iqoption","symbol":"EURUSD-OTC","direction":"CALL","amount":4,"expiration":60}`)
		t.Logf("trade across a lost answer (%+v): %d %v", fault, code, body)
		require.Contains(t, []int{http.StatusCreated, http.StatusServiceUnavailable, http.StatusGatewayTimeout}, code, "%v", body)
		assert.NotContains(t, fmt.Sprint(body), "call timed out", "the adapter answers before the host's call deadline")
		require.Len(t, fk.Positions(bobIQ), before+1, "the option was opened once")
		waitFor(t, h, "the trade across the lost answer settles", 3*time.Minute, func() bool {
			trades := allTrades(t, h, bob.token)
			for _, tr := range trades {
				if !isFinal(tr["status"]) {
					return false
				}
			}
			return len(trades) == before+1
		})
		want := map[string]string{"win": "won", "loose": "lost"}[fault.ForceResult]
		last := allTrades(t, h, bob.token)[0]
		for _, tr := range allTrades(t, h, bob.token) {
			if num(t, tr["id"]) > num(t, last["id"]) {
				last = tr
			}
		}
		assert.Equal(t, want, last["status"], "%v", last)
		checkSettled(t, last)
	}
	fk.SetFaults(iqfake.Faults{})
	waitFor(t, h, "every trade is final", 3*time.Minute, func() bool {
		for _, u := range []*trader{alice, bob} {
			for _, tr := range allTrades(t, h, u.token) {
				if !isFinal(tr["status"]) {
					return false
				}
			}
		}
		return true
	})
	samePositions(t, h, fk, alice, aliceIQ)
	samePositions(t, h, fk, bob, bobIQ)

	// Alice's connection carries the anonymous market data (the oldest
	// one); when she disconnects, the tracked feed moves to Bob's without
	// the host noticing.
	latest := func() int64 {
		code, body := h.call("GET", "/api/v2/candles?broker=iqoption&symbol=EURUSD-OTC&timeframe=1m&limit=1", "", "")
		require.Equal(t, http.StatusOK, code, "%v", body)
		c := arr(t, body["candles"])
		require.Len(t, c, 1)
		return int64(num(t, obj(t, c[0])["timestamp"]))
	}
	const interrupted = "candle feed interrupted"
	interruptions := strings.Count(h.logs.String(), interrupted)
	code, body = h.call("POST", "/api/v2/user/disconnect", alice.token, fmt.Sprintf(`{"account_id":%d}`, alice.account))
	require.Equal(t, http.StatusOK, code, "%v", body)
	waitFor(t, h, "alice's IQ Option socket closes", time.Minute, func() bool { return fk.Connections() == 1 })
	since := latest()
	waitFor(t, h, "the tracked feed goes on through bob's connection", 2*time.Minute, func() bool { return latest() >= since+180 })
	assert.Equal(t, interruptions, strings.Count(h.logs.String(), interrupted), "the feed moved without an interruption")
	code, body = h.call("GET", "/api/v2/symbols?broker=iqoption", "", "")
	require.Equal(t, http.StatusOK, code, "%v", body)

	// A restart resumes Bob's account from the stored ssid: no login (the
	// fake counts them), no 2FA code, and trading goes on.
	h.stop()
	logins := fk.Stats().Logins
	h = startHost(t, bin, env)
	logs = append(logs, h)
	waitFor(t, h, "the account is resumed after the restart", time.Minute, func() bool {
		return iqAccount(t, h, bob)["connected"] == true
	})
	assert.Equal(t, false, iqAccount(t, h, alice)["connected"], "a disconnected account stays so")
	code, body = h.call("POST", "/api/v2/user/trade", bob.token, `{"broker":"iqoption","symbol":"EURUSD-OTC","direction":"PUT","amount":2,"expiration":60}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	id := obj(t, body["trade"])["id"]
	waitFor(t, h, "the trade after the restart settles", 2*time.Minute, func() bool { return isFinal(tradeStatus(bob, id)["status"]) })
	checkSettled(t, tradeStatus(bob, id))
	assert.Equal(t, logins, fk.Stats().Logins, "the restart re-opened the accounts with the ssid, not the password")
	code, body = h.call("GET", "/api/v2/symbols?broker=iqoption", "", "")
	require.Equal(t, http.StatusOK, code, "%v", body)
	samePositions(t, h, fk, bob, bobIQ)
	h.stop()
	assert.False(t, strings.Contains(h.logs.String(), bobCode+`"`), "the 2FA code is not logged")
}
