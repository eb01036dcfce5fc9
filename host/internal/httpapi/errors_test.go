package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/bots"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/host/internal/trading"
)

// A refusal by a service reaches the client as validation_failed with
// details.field naming the field and a message written for a person: it
// used to arrive as "invalid bot: name: …" without a field.
func TestServiceValidationNamesTheField(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite(t), noLimits)
	a := e.register("vera")
	e.connectPaper(&a, "vera-password-1")
	acct := strconv.FormatInt(a.account, 10)
	bot := func(fields string) string {
		return `{"name":"b","strategy":"rsi","params":{"period":14},"account_id":` + acct +
			`,"symbol":"EURUSD-OTC","timeframe":"1m","amount":1,"expiration":60` + fields + `}`
	}
	// bot's fields replace the defaults: JSON keeps the last key, but the
	// API refuses duplicates, so build the body from a map instead.
	botWith := func(override map[string]string) string {
		f := map[string]string{"name": `"b"`, "strategy": `"rsi"`, "params": `{"period":14}`, "account_id": acct,
			"symbol": `"EURUSD-OTC"`, "timeframe": `"1m"`, "amount": "1", "expiration": "60"}
		for k, v := range override {
			f[k] = v
		}
		parts := make([]string, 0, len(f))
		for k, v := range f {
			parts = append(parts, `"`+k+`":`+v)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	trade := func(amount, expiration string) string {
		return `{"account_id":` + acct + `,"symbol":"EURUSD-OTC","direction":"CALL","amount":` + amount + `,"expiration":` + expiration + `}`
	}
	for _, c := range []struct {
		name, path, body, field, says string
	}{
		{"bot name the service refuses", "/api/v2/bots", botWith(map[string]string{"name": `"` + strings.Repeat("n", bots.MaxNameLen+1) + `"`}),
			"name", "name must be 1 to " + strconv.Itoa(bots.MaxNameLen)},
		{"bot amount", "/api/v2/bots", botWith(map[string]string{"amount": "0"}), "amount", "amount must be a positive amount"},
		{"bot limit over its maximum", "/api/v2/bots", bot(`,"limits":{"max_open_trades":1001}`), "limits.max_open_trades", "limits.max_open_trades must be from 0"},
		{"strategy parameter outside its schema", "/api/v2/bots", botWith(map[string]string{"params": `{"period":1}`}), "params.period", "params.period: must be at least 2"},
		{"strategy parameter it does not declare", "/api/v2/bots", botWith(map[string]string{"params": `{"speed":1}`}), "params.speed", "params.speed: unknown field"},
		{"parameters the strategy's own rule refuses", "/api/v2/bots", botWith(map[string]string{"params": `{"oversold":80,"overbought":20}`}),
			"params", "params are refused by the rsi strategy: oversold must be below overbought"},
		{"symbol the broker does not list", "/api/v2/bots", botWith(map[string]string{"symbol": `"NOPE"`}), "symbol", "no \"NOPE\""},
		{"trade amount of too many decimals", "/api/v2/user/trade", trade("1.001", "60"), "amount", "amount has at most 2 decimals"},
		{"trade amount the broker's instrument refuses", "/api/v2/user/trade", trade("0.5", "60"), "amount", "amount must be between"},
		{"credential the broker does not take", "/api/v2/user/account",
			`{"broker":"paper","credentials":{"username":"vera-2","password":"vera-password-2","pin":"1234"}}`,
			"credentials.pin", "credentials.pin is not a credential the paper broker takes"},
		{"credential the broker requires", "/api/v2/user/account", `{"broker":"paper","credentials":{"username":"vera-2"}}`,
			"credentials.password", "credentials.password is required"},
		{"email that is no address", "/api/v2/auth/register", `{"email":"no-at-sign","password":"correct horse battery"}`,
			"email", "email must be a valid email address"},
		{"API key scope", "/api/v2/user/api-keys", `{"name":"k","scopes":["everything"]}`, "scopes", "scopes must name one or more of"},
		{"password too short", "/api/v2/auth/register", `{"email":"short-pw@example.com","password":"short"}`, "password", "password must be at least 10 characters"},
	} {
		r := e.call("POST", c.path, a.token, c.body)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", c.name, r.Raw)
		assert.Equal(t, "validation_failed", r.errorCode(), "%s: %s", c.name, r.Raw)
		assert.Equal(t, c.field, r.errorField(), "%s: %s", c.name, r.Raw)
		msg, _ := jsonObj(t, r.JSON["error"])["message"].(string)
		assert.Contains(t, msg, c.says, "%s: a message for a person", c.name)
		for _, internal := range []string{"bots:", "trading:", "accounts:", "users:", "invalid bot", "invalid request", "pid", "/tmp"} {
			assert.NotContains(t, msg, internal, "%s: the message names no package or process", c.name)
		}
	}
}

// Every limit the API enforces on bots and manual trades is the owning
// service's constant: the limit itself is accepted, one more is refused
// with details.field. The HTTP layer used to accept bot expirations up to
// 86,400 s that the bots service then refused.
func TestLimitsAreTheServices(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite(t), noLimits)
	a := e.register("lim")
	e.connectPaper(&a, "lim-password-1")
	acct := strconv.FormatInt(a.account, 10)
	secs := func(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }
	bot := func(n int, expiration string) string {
		return `{"name":"b` + strconv.Itoa(n) + `","strategy":"rsi","params":{"period":14},"account_id":` + acct +
			`,"symbol":"EURUSD-OTC","timeframe":"1m","amount":1,"expiration":` + expiration + `}`
	}
	params := func(n int) string {
		p := make([]string, n)
		for i := range p {
			p[i] = `"p` + strconv.Itoa(i) + `":1`
		}
		return `{"name":"p","strategy":"rsi","params":{` + strings.Join(p, ",") + `},"account_id":` + acct +
			`,"symbol":"EURUSD-OTC","timeframe":"1m","amount":1,"expiration":60}`
	}
	refused := func(body, path, field string) {
		t.Helper()
		r := e.call("POST", path, a.token, body)
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		assert.Equal(t, "validation_failed", r.errorCode(), r.Raw)
		assert.Equal(t, field, r.errorField(), r.Raw)
	}

	r := e.call("POST", "/api/v2/bots", a.token, bot(1, secs(bots.MaxExpiration)))
	require.Equal(t, http.StatusCreated, r.Status, "the longest expiration: %s", r.Raw)
	id := strconv.FormatInt(jsonID(t, jsonObj(t, r.JSON["bot"])["id"]), 10)
	// The plan allows one bot: the shortest expiration is set on it.
	r = e.call("PATCH", "/api/v2/bots/"+id, a.token, `{"expiration":`+secs(bots.MinExpiration)+`}`)
	require.Equal(t, http.StatusOK, r.Status, "the shortest expiration: %s", r.Raw)
	r = e.call("PATCH", "/api/v2/bots/"+id, a.token, `{"expiration":`+secs(bots.MaxExpiration+time.Second)+`}`)
	require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
	assert.Equal(t, "expiration", r.errorField(), r.Raw)
	refused(bot(3, secs(bots.MaxExpiration+time.Second)), "/api/v2/bots", "expiration")
	refused(bot(3, secs(bots.MinExpiration-time.Second)), "/api/v2/bots", "expiration")
	refused(bot(3, "86400"), "/api/v2/bots", "expiration")
	refused(params(bots.MaxParams+1), "/api/v2/bots", "params")

	trade := func(symbol, expiration string) string {
		return `{"account_id":` + acct + `,"symbol":"` + symbol + `","direction":"CALL","amount":1,"expiration":` + expiration + `}`
	}
	refused(trade("EURUSD-OTC", secs(trading.MaxExpiration+time.Second)), "/api/v2/user/trade", "expiration")
	refused(trade("EURUSD-OTC", secs(trading.MinExpiration-time.Second)), "/api/v2/user/trade", "expiration")
	// The longest symbol a trade may carry passes the API's check and
	// reaches the broker's instrument list, which refuses it by name.
	r = e.call("POST", "/api/v2/user/trade", a.token, trade(strings.Repeat("S", trading.MaxSymbolLen), "60"))
	require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
	assert.Contains(t, r.Raw, "has no instrument", "refused by the instrument list, not by a length rule of the API")
	refused(trade(strings.Repeat("S", trading.MaxSymbolLen+1), "60"), "/api/v2/user/trade", "symbol")
}
