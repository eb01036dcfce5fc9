package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// 100 concurrent requests with one Idempotency-Key create one trade, and
// every one of them answers with it; the key with another body is a 409.
func TestIdempotencyKeyCreatesOneTrade(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenPostgres(t), noLimits)
	a := e.register("grace")
	e.connectPaper(&a, "grace-password-1")
	body := `{"account_id":` + strconv.FormatInt(a.account, 10) + `,"symbol":"EURUSD-OTC","direction":"CALL","amount":2.5,"expiration":60}`
	const key = "order-7f3a"
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids = map[int64]int{}
		bad []string
	)
	for range 100 {
		wg.Go(func() {
			r := e.call("POST", "/api/v2/user/trade", a.token, body, httpapi.IdempotencyKeyHeader, key)
			mu.Lock()
			defer mu.Unlock()
			if r.Status != http.StatusCreated {
				bad = append(bad, r.Raw)
				return
			}
			ids[jsonID(t, jsonObj(t, r.JSON["trade"])["id"])]++
		})
	}
	wg.Wait()
	require.Empty(t, bad)
	require.Len(t, ids, 1, "one trade for one key: %v", ids)
	r := e.call("GET", "/api/v2/user/trades", a.token, "")
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Len(t, r.JSON["items"], 1, "one trade row")

	r = e.call("POST", "/api/v2/user/trade", a.token, body[:len(body)-1]+`,"broker":"paper"}`, httpapi.IdempotencyKeyHeader, key)
	assert.Equal(t, http.StatusConflict, r.Status, r.Raw)
	assert.Equal(t, "idempotency_conflict", r.errorCode())

	// Keys are per user: bob may use the same one.
	b := e.register("heidi")
	e.connectPaper(&b, "heidi-password-1")
	r = e.call("POST", "/api/v2/user/trade", b.token,
		`{"account_id":`+strconv.FormatInt(b.account, 10)+`,"symbol":"EURUSD-OTC","direction":"CALL","amount":2.5,"expiration":60}`,
		httpapi.IdempotencyKeyHeader, key)
	assert.Equal(t, http.StatusCreated, r.Status, r.Raw)
}

func TestTradeValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite(t), noLimits)
	a := e.register("ivan")
	e.connectPaper(&a, "ivan-password-1")
	acct := `"account_id":` + strconv.FormatInt(a.account, 10)
	for _, c := range []struct {
		body, code string
		status     int
	}{
		{`{` + acct + `,"symbol":"EURUSD-OTC","direction":"UP","amount":1,"expiration":60}`, "validation_failed", 400},
		{`{` + acct + `,"symbol":"EURUSD-OTC","direction":"CALL","amount":-1,"expiration":60}`, "validation_failed", 400},
		{`{` + acct + `,"symbol":"EURUSD-OTC","direction":"CALL","amount":1.005,"expiration":60}`, "validation_failed", 400},
		{`{` + acct + `,"symbol":"EURUSD-OTC","direction":"CALL","amount":true,"expiration":60}`, "validation_failed", 400},
		{`{` + acct + `,"symbol":"EURUSD-OTC","direction":"CALL","amount":1,"expiration":5}`, "validation_failed", 400},
		{`{` + acct + `,"symbol":"","direction":"CALL","amount":1,"expiration":60}`, "validation_failed", 400},
		{`{"symbol":"EURUSD-OTC","direction":"CALL","amount":1,"expiration":60}`, "validation_failed", 400},
		{`{"account_id":999999,"symbol":"EURUSD-OTC","direction":"CALL","amount":1,"expiration":60}`, "not_found", 404},
	} {
		r := e.call("POST", "/api/v2/user/trade", a.token, c.body)
		assert.Equal(t, c.status, r.Status, "%s: %s", c.body, r.Raw)
		assert.Equal(t, c.code, r.errorCode(), "%s: %s", c.body, r.Raw)
	}
	r := e.call("POST", "/api/v2/user/trade", a.token, `{"symbol":"EURUSD-OTC","direction":"CALL","amount":1,"expiration":60}`, httpapi.IdempotencyKeyHeader, "bad\x01key")
	assert.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
	for _, q := range []string{"?status=lol", "?manual=maybe", "?bot_id=x", "?from=yesterday", "?limit=9999"} {
		r := e.call("GET", "/api/v2/user/trades"+q, a.token, "")
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", q, r.Raw)
	}
	r = e.call("PUT", "/api/v2/user/limits", a.token, `{"max_stake":-5}`)
	assert.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
	r = e.call("PUT", "/api/v2/user/limits", a.token, `{"max_stake":3,"max_open_trades":1}`)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = e.call("POST", "/api/v2/user/trade", a.token, `{`+acct+`,"symbol":"EURUSD-OTC","direction":"CALL","amount":4,"expiration":60}`)
	assert.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Raw)
	assert.Equal(t, "risk_limit", r.errorCode())
}

// Creating a bot with an Idempotency-Key is safe to retry: concurrent
// retries make one bot, and the key with another body is a 409.
func TestIdempotencyKeyCreatesOneBot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenPostgres(t), noLimits)
	a := e.register("judy")
	e.connectPaper(&a, "judy-password-1")
	body := `{"name":"r","strategy":"rsi","params":{"period":14},"account_id":` + strconv.FormatInt(a.account, 10) +
		`,"symbol":"EURUSD-OTC","timeframe":"1m","amount":1,"expiration":60}`
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids = map[int64]int{}
		bad []string
	)
	for range 20 {
		wg.Go(func() {
			r := e.call("POST", "/api/v2/bots", a.token, body, httpapi.IdempotencyKeyHeader, "bot-1")
			mu.Lock()
			defer mu.Unlock()
			if r.Status != http.StatusCreated {
				bad = append(bad, r.Raw)
				return
			}
			ids[jsonID(t, jsonObj(t, r.JSON["bot"])["id"])]++
		})
	}
	wg.Wait()
	require.Empty(t, bad)
	assert.Len(t, ids, 1, "one bot for one key")
	r := e.call("POST", "/api/v2/bots", a.token, strings.Replace(body, `"amount":1`, `"amount":2`, 1), httpapi.IdempotencyKeyHeader, "bot-1")
	assert.Equal(t, http.StatusConflict, r.Status, r.Raw)
	assert.Equal(t, "idempotency_conflict", r.errorCode())
	r = e.call("GET", "/api/v2/bots", a.token, "")
	assert.Len(t, r.JSON["items"], 1)
}
