package httpapi_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/pluginmgr"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/host/internal/storetest"
	"github.com/stc-trading/stc/sdk/plugin"
)

// adminUser finds the user with id in an admin user list answer.
func adminUser(t *testing.T, r response, id int64) map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	for _, it := range jsonArr(t, r.JSON["items"]) {
		if u := jsonObj(t, it); jsonID(t, u["id"]) == id {
			return u
		}
	}
	return nil
}

// TestAdminUsers: an operator lists users with their plan and
// subscription, filters by a part of the email in any case, pages; other
// users are refused.
func TestAdminUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, httpapi.RateLimits{PerIP: -1, PerUser: -1, Auth: -1})
		admin := e.admin()
		alice, bob := e.register("alice"), e.register("bob")

		r := e.call("GET", "/api/v2/admin/users", admin, "")
		a := adminUser(t, r, alice.id)
		require.NotNil(t, a, r.Raw)
		assert.Equal(t, alice.email, a["email"])
		assert.Equal(t, "user", a["role"])
		assert.Equal(t, "practice", a["plan_id"], "no subscription: the free plan")
		assert.Nil(t, a["subscription"])
		assert.NotContains(t, r.Raw, "password", "no hash, not even its name")

		end := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
		g := e.call("POST", "/api/v2/admin/users/"+strconv.FormatInt(alice.id, 10)+"/subscription", admin,
			`{"plan_id":"pro","status":"trialing","current_period_end":"`+end+`"}`)
		require.Equal(t, http.StatusOK, g.Status, g.Raw)
		a = adminUser(t, e.call("GET", "/api/v2/admin/users?email="+url.QueryEscape(strings.ToUpper(alice.email[:8])), admin, ""), alice.id)
		require.NotNil(t, a, "the email filter ignores case")
		assert.Equal(t, "pro", a["plan_id"])
		sub := jsonObj(t, a["subscription"])
		assert.Equal(t, "pro", sub["plan_id"])
		assert.Equal(t, "trialing", sub["status"])
		assert.Equal(t, end, sub["current_period_end"])
		// A canceled subscription leaves its row, and the free plan.
		g = e.call("POST", "/api/v2/admin/users/"+strconv.FormatInt(bob.id, 10)+"/subscription", admin, `{"plan_id":"elite","status":"canceled"}`)
		require.Equal(t, http.StatusOK, g.Status, g.Raw)
		b := adminUser(t, e.call("GET", "/api/v2/admin/users?email="+url.QueryEscape(bob.email), admin, ""), bob.id)
		require.NotNil(t, b)
		assert.Equal(t, "practice", b["plan_id"])
		assert.Equal(t, "canceled", jsonObj(t, b["subscription"])["status"])

		// The filter is a substring: the email's own text, no wildcards.
		r = e.call("GET", "/api/v2/admin/users?email="+url.QueryEscape(alice.email), admin, "")
		assert.Len(t, r.JSON["items"], 1, r.Raw)
		for _, pattern := range []string{"%", "_", `\`} {
			r = e.call("GET", "/api/v2/admin/users?email="+url.QueryEscape(pattern), admin, "")
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			assert.Empty(t, r.JSON["items"], "%q matches no email literally", pattern)
		}

		// Newest first, a page at a time, each user once.
		seen := map[int64]bool{}
		path := "/api/v2/admin/users?limit=1"
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10)
			r = e.call("GET", path, admin, "")
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			for _, it := range jsonArr(t, r.JSON["items"]) {
				id := jsonID(t, jsonObj(t, it)["id"])
				assert.False(t, seen[id])
				seen[id] = true
			}
			next, ok := r.JSON["next_cursor"].(string)
			if !ok {
				break
			}
			path = "/api/v2/admin/users?limit=1&cursor=" + next
		}
		assert.Len(t, seen, 3, "the admin, alice and bob")

		r = e.call("GET", "/api/v2/admin/users?email="+strings.Repeat("a", 255), admin, "")
		assert.Equal(t, http.StatusBadRequest, r.Status)
		assert.Equal(t, "email", jsonObj(t, jsonObj(t, r.JSON["error"])["details"])["field"])
		r = e.call("GET", "/api/v2/admin/users?email=%E2%80%AEmoc", admin, "")
		assert.Equal(t, http.StatusBadRequest, r.Status, "an invisible character: %s", r.Raw)

		for _, tok := range []string{alice.token, alice.readKey} {
			r = e.call("GET", "/api/v2/admin/users", tok, "")
			assert.Equal(t, http.StatusForbidden, r.Status, r.Raw)
			assert.Equal(t, "forbidden", r.errorCode())
			assert.NotContains(t, r.Raw, bob.email)
		}
	})
}

// TestAdminPlugins lists the host's real plugins: versions and protocol
// as fingerprinted, the live process state, restarts after a crash with a
// fixed text instead of the error (which names the binary's path), and
// the declared settings with the secret masked.
func TestAdminPlugins(t *testing.T) {
	e := newInstalledEnv(t, storetest.OpenSQLite(t), "STC_PAPER_TIME_SCALE=60", "STC_PAPER_2FA_CODE=271828")
	admin := e.admin()
	pluginByKey := func(r response) map[string]map[string]any {
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		out := map[string]map[string]any{}
		for _, it := range jsonArr(t, r.JSON["items"]) {
			p := jsonObj(t, it)
			out[jsonStr(t, p["kind"])+"/"+jsonStr(t, p["name"])] = p
		}
		return out
	}

	ps := pluginByKey(e.call("GET", "/api/v2/admin/plugins", admin, ""))
	require.Len(t, ps, 3, "broker/iqoption, broker/paper, strategy/rsi")
	rsi := ps["strategy/rsi"]
	assert.Equal(t, "idle", rsi["state"], "no bot has started it")
	assert.Regexp(t, `^1\.\d+$`, rsi["protocol"])
	assert.NotEmpty(t, rsi["version"])
	assert.Nil(t, rsi["last_error"])

	paper := ps["broker/paper"]
	settings := map[string]map[string]any{}
	for _, s := range jsonArr(t, paper["settings"]) {
		set := jsonObj(t, s)
		settings[jsonStr(t, set["name"])] = set
	}
	assert.Equal(t, "60", settings["time_scale"]["value"])
	assert.Equal(t, "environment", settings["time_scale"]["source"])
	assert.Equal(t, "STC_PAPER_TIME_SCALE", settings["time_scale"]["variable"])
	assert.Equal(t, "******", settings["2fa_code"]["value"], "a secret is masked")
	assert.Equal(t, true, settings["2fa_code"]["secret"])
	assert.Equal(t, "default", settings["seed"]["source"])
	iqSettings := map[string]any{}
	for _, s := range jsonArr(t, ps["broker/iqoption"]["settings"]) {
		iqSettings[jsonStr(t, jsonObj(t, s)["name"])] = jsonObj(t, s)["value"]
	}
	assert.Contains(t, iqSettings, "verify_url")
	assert.Nil(t, iqSettings["verify_url"], "unset, no default: null")

	// A connect starts paper; killing its process makes the supervisor
	// restart it.
	alice := e.register("alice")
	e.connectPaper(&alice, "alice-pw-"+randHex(t))
	pid := 0
	for _, s := range e.plugins.Status() {
		if s.Kind == plugin.KindBroker && s.Name == "paper" && s.Session == "" && s.State == pluginmgr.StateRunning {
			pid = s.PID
		}
	}
	require.NotZero(t, pid, "paper runs")
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	deadline := time.Now().Add(2 * time.Minute) // a hang guard only
	for {
		paper = pluginByKey(e.call("GET", "/api/v2/admin/plugins", admin, ""))["broker/paper"]
		if paper["state"] == "running" && paper["restarts"] == 1.0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "paper never came back: %v", paper)
		time.Sleep(50 * time.Millisecond)
	}
	lastErr := jsonStr(t, paper["last_error"])
	assert.Equal(t, "the plugin's process ended or could not start; the cause is in the host log", lastErr)
	r := e.call("GET", "/api/v2/admin/plugins", admin, "")
	assert.NotContains(t, r.Raw, pluginDir, "no path of the host reaches the answer")
	assert.NotContains(t, r.Raw, "271828", "nor a secret setting")
	assert.NotContains(t, r.Raw, "pid")

	r = e.call("GET", "/api/v2/admin/plugins", alice.token, "")
	assert.Equal(t, http.StatusForbidden, r.Status, r.Raw)
	assert.Equal(t, "forbidden", r.errorCode())
}
