package httpapi_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/auth"
	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// Items 2 and 3 of issue 12 through HTTP on PostgreSQL: wrong passwords
// sent at once from many addresses get at most the documented number of
// checks (the others 429 with Retry-After), after which the right password
// is refused too, except from the owner's trusted device, whose token came
// with the registration as a field and as an HttpOnly cookie.
func TestLoginThrottleAndTrustedDeviceOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenPostgres(t), noLimits, func(d *httpapi.Deps) {
		d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.10/32")} // e.call's peer
	})
	const pw = "correct horse battery"
	r := e.call("POST", "/api/v2/auth/register", "", `{"email":"kim@example.com","password":"`+pw+`"}`)
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	device := jsonStr(t, r.JSON["device_token"])
	require.True(t, strings.HasPrefix(device, auth.PrefixDevice), r.Raw)
	assert.NotEmpty(t, r.JSON["device_expires_at"])
	cookie := (&http.Response{Header: r.Header}).Cookies()
	require.Len(t, cookie, 1)
	c := cookie[0]
	assert.Equal(t, httpapi.DeviceCookie, c.Name)
	assert.Equal(t, device, c.Value)
	assert.True(t, c.HttpOnly, "scripts cannot read it")
	assert.True(t, c.Secure)
	assert.Equal(t, http.SameSiteStrictMode, c.SameSite)
	assert.Equal(t, "/api/v2/auth/login", c.Path, "it goes to the login route only")

	body := func(password string) string {
		return `{"email":" KIM@example.com","password":"` + password + `"}`
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
	)
	for i := range 60 {
		wg.Go(func() {
			r := e.call("POST", "/api/v2/auth/login", "", body(fmt.Sprintf("wrong guess %d", i)),
				"X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i%30+1))
			if r.Status == http.StatusTooManyRequests {
				assert.Equal(t, "too_many_attempts", r.errorCode())
				secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
				assert.NoError(t, err)
				assert.Positive(t, secs)
			}
			mu.Lock()
			defer mu.Unlock()
			statuses[r.Status]++
		})
	}
	wg.Wait()
	limit := auth.DefaultThrottleConfig().PerAccount
	assert.LessOrEqual(t, statuses[http.StatusUnauthorized], limit, "%v", statuses)
	assert.Equal(t, 60, statuses[http.StatusUnauthorized]+statuses[http.StatusTooManyRequests], "%v", statuses)
	// Make sure the cap is reached whatever the race let through.
	for i := range limit {
		e.call("POST", "/api/v2/auth/login", "", body("another guess!"), "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1))
	}

	r = e.call("POST", "/api/v2/auth/login", "", body(pw), "X-Forwarded-For", "192.0.2.99")
	assert.Equal(t, http.StatusTooManyRequests, r.Status, "the right password from an unrecognized device: %s", r.Raw)

	r = e.call("POST", "/api/v2/auth/login", "", body(pw), "X-Forwarded-For", "192.0.2.99", httpapi.DeviceHeader, device)
	require.Equal(t, http.StatusOK, r.Status, "the owner's device gets in: %s", r.Raw)
	next := jsonStr(t, r.JSON["device_token"])
	assert.NotEqual(t, device, next)
	assert.NotEmpty(t, jsonStr(t, r.JSON["token"]))

	// A browser sends the cookie instead; the replaced token is no longer
	// a trusted device.
	r = e.call("POST", "/api/v2/auth/login", "", body(pw), "X-Forwarded-For", "192.0.2.99", "Cookie", httpapi.DeviceCookie+"="+next)
	assert.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = e.call("POST", "/api/v2/auth/login", "", body(pw), "X-Forwarded-For", "192.0.2.99", httpapi.DeviceHeader, device)
	assert.Equal(t, http.StatusTooManyRequests, r.Status, r.Raw)
}

// Item 10 of issue 12 through HTTP: the inputs of the probe are refused
// with 400 and the error envelope.
func TestInvisibleCharactersRefusedOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.OpenSQLite(t), noLimits)
	a := e.register("lee")
	e.connectPaper(&a, "lee-password-1")
	bot := func(name string) string {
		return `{"name":"` + name + `","strategy":"rsi","params":{"period":14},"account_id":` + strconv.FormatInt(a.account, 10) +
			`,"symbol":"EURUSD-OTC","timeframe":"1m","amount":1,"expiration":60}`
	}
	for _, c := range []struct{ path, token, body string }{
		{"/api/v2/bots", a.token, bot(`scalper\u202egnp.exe`)},
		{"/api/v2/bots", a.token, bot(`scal\u200bper`)},
		{"/api/v2/user/account", a.token, `{"broker":"paper","credentials":{"username":"rtl\u202e-lee","password":"lee-password-2"}}`},
		{"/api/v2/auth/register", "", `{"email":"rtl\u202e@example.com","password":"correct horse battery"}`},
		{"/api/v2/auth/register", "", `{"email":"use\u200bra@example.com","password":"correct horse battery"}`},
		{"/api/v2/auth/register", "", `{"email":"zw@example.com","password":"` + strings.Repeat(`\u200b`, 10) + `"}`},
		{"/api/v2/user/api-keys", a.token, `{"name":"ci\u202ekey","scopes":["read"]}`},
		{"/api/v2/user/api-keys", a.token, `{"name":"c\u200bi","scopes":["read"]}`},
	} {
		r := e.call("POST", c.path, c.token, c.body)
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s %s: %s", c.path, c.body, r.Raw)
		assert.Equal(t, "validation_failed", r.errorCode(), r.Raw)
		assert.NotEmpty(t, r.errorField(), "the answer names the field at fault: %s", r.Raw)
	}
	r := e.call("POST", "/api/v2/bots", a.token, bot("ボット №1"))
	assert.Equal(t, http.StatusCreated, r.Status, "visible text in any script is a name: %s", r.Raw)
}
