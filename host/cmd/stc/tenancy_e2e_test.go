package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/storetest"
)

// accountsOf lists a user's accounts by id.
func accountsOf(t *testing.T, h *hostProc, token string) map[string]map[string]any {
	t.Helper()
	code, body := h.call("GET", "/api/v2/user/accounts", token, "")
	require.Equal(t, http.StatusOK, code, "%v", body)
	out := map[string]map[string]any{}
	for _, it := range arr(t, body["items"]) {
		a := obj(t, it)
		out[fmt.Sprint(a["id"])] = a
	}
	return out
}

// TestTenancyEndToEnd runs the real host and paper plugin on PostgreSQL:
// a user connects a paper account, the host restarts and re-opens the
// session, the second-factor flow works with the paper broker's 2FA mode,
// and the canary password appears in no log and no plugin environment;
// nor does a canary variable of the paper broker's prefix that it does not
// declare, while the settings it declares reach it.
func TestTenancyEndToEnd(t *testing.T) {
	bin, pluginDir := buildBinaries(t)
	data, err := os.MkdirTemp("", "stcten") //nolint:usetesting // t.TempDir paths are too long for the plugin sockets under it
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(data) })
	db := storetest.NewSchema(t).URL
	addr := freeAddr(t)
	const canary = "canary-Zq8-password-7731"
	const envCanary = "canary-env-4417"

	var hosts []*hostProc // every run's logs are searched for the canary
	start := func(extra ...string) *hostProc {
		h := startHost(t, bin, hostEnv(addr, data, pluginDir, db, extra...))
		hosts = append(hosts, h)
		return h
	}
	h := start("STC_PAPER_CANARY="+envCanary, "STC_PAPER_2FA_CODE=135790")
	code, body := h.call("POST", "/api/v2/auth/register", "", `{"email":"alice@example.com","password":"correct horse battery"}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	token := str(t, body["token"])
	code, body = h.call("POST", "/api/v2/user/account", token, `{"broker":"paper","credentials":{"username":"alice-paper","password":"`+canary+`"}}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	acct := obj(t, body["account"])
	assert.Equal(t, true, acct["connected"])
	assert.Equal(t, "practice", acct["mode"], "practice is the default")
	assert.InDelta(t, 10000, acct["balance"], 1e-9, "a new paper account's balance")
	first := fmt.Sprint(acct["id"])
	assert.NotContains(t, fmt.Sprint(body), canary, "credentials are write-only")

	paperSeen := false
	for _, pid := range pluginPIDs(t, h.cmd.Process.Pid) {
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		require.NoError(t, err)
		assert.NotContains(t, string(env), canary, "plugin %d's environment", pid)
		assert.NotContains(t, string(env), "STC_ENCRYPTION_KEY")
		assert.NotContains(t, string(env), "STC_DATABASE_URL")
		assert.NotContains(t, string(env), envCanary, "an undeclared variable of the plugin's prefix")
		if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(cmd), "stc-broker-paper") {
			paperSeen = true
			assert.Contains(t, string(env), "STC_PAPER_2FA_CODE=135790\x00", "a declared setting, 2FA mode off or not")
			assert.Contains(t, string(env), "STC_PLUGIN_DATA_DIR="+filepath.Join(data, "paper")+"\x00")
		}
	}
	assert.True(t, paperSeen, "the paper plugin runs")
	assert.Contains(t, h.logs.String(), "STC_PAPER_CANARY is set but broker/paper declares no such setting", "the host says so at start")

	// A restarted host re-opens the session from the stored credentials,
	// and its housekeeping deletes what has outlived its retention: a
	// billing event received 31 days ago goes, one of yesterday stays.
	h.stop()
	raw, err := sqlx.Connect("postgres", db)
	require.NoError(t, err)
	defer raw.Close()
	day := 24 * time.Hour
	for id, age := range map[string]time.Duration{"evt_old": 31 * day, "evt_recent": day} {
		_, err := raw.Exec(`INSERT INTO billing_events (event_id, type, outcome, received_at) VALUES ($1, 'invoice.paid', 'applied', $2)`,
			id, time.Now().Add(-age).UnixMilli())
		require.NoError(t, err)
	}
	h = start()
	deadline := time.Now().Add(30 * time.Second)
	for accountsOf(t, h, token)[first]["connected"] != true {
		require.True(t, time.Now().Before(deadline), "the session was not resumed within 30 s (hang guard)\n%s", h.logs.String())
		time.Sleep(100 * time.Millisecond)
	}
	assert.InDelta(t, 10000, accountsOf(t, h, token)[first]["balance"], 1e-9)
	var events []string
	for {
		events = nil
		require.NoError(t, raw.Select(&events, `SELECT event_id FROM billing_events WHERE event_id LIKE 'evt_%' ORDER BY event_id`))
		if len(events) < 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	assert.Equal(t, []string{"evt_recent"}, events, "the housekeeping at start\n%s", h.logs.String())

	// The same host with the paper broker's 2FA mode on: a new account
	// needs the code, sent in a second request.
	h.stop()
	h = start("STC_PAPER_REQUIRE_2FA=true", "STC_PAPER_2FA_CODE=424242")
	code, body = h.call("POST", "/api/v2/user/account", token, `{"broker":"paper","credentials":{"username":"alice-2fa","password":"`+canary+`"}}`)
	require.Equal(t, http.StatusConflict, code, "%v", body)
	assert.Equal(t, "second_factor_required", errCode(body))
	code, body = h.call("POST", "/api/v2/user/account", token, `{"broker":"paper","credentials":{"username":"alice-2fa","password":"`+canary+`","code":"111111"}}`)
	assert.Equal(t, http.StatusUnprocessableEntity, code, "a wrong code: %v", body)
	code, body = h.call("POST", "/api/v2/user/account", token, `{"broker":"paper","credentials":{"username":"alice-2fa","password":"`+canary+`","code":"424242"}}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	assert.Equal(t, true, obj(t, body["account"])["connected"])
	twoFA := fmt.Sprint(obj(t, body["account"])["id"])

	// The broker plugin dies: its restart cannot re-open a session that
	// needs a code, and the account says so (not a bare error).
	paperPID := 0
	for _, pid := range pluginPIDs(t, h.cmd.Process.Pid) {
		if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(cmd), "stc-broker-paper") {
			paperPID = pid
		}
	}
	require.NotZero(t, paperPID, "the paper plugin runs")
	require.NoError(t, syscall.Kill(paperPID, syscall.SIGKILL))
	deadline = time.Now().Add(30 * time.Second)
	for accountsOf(t, h, token)[twoFA]["status"] != "second_factor_required" {
		require.True(t, time.Now().Before(deadline), "the account does not show second_factor_required (hang guard): %v\n%s",
			accountsOf(t, h, token)[twoFA], h.logs.String())
		time.Sleep(100 * time.Millisecond)
	}
	code, body = h.call("POST", "/api/v2/user/account", token, `{"broker":"paper","credentials":{"username":"alice-2fa","password":"`+canary+`","code":"424242"}}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	assert.Equal(t, twoFA, fmt.Sprint(obj(t, body["account"])["id"]), "the same account, connected again")
	assert.Equal(t, true, obj(t, body["account"])["connected"])

	// Disconnect closes the session and forgets the credentials.
	code, body = h.call("POST", "/api/v2/user/disconnect", token, fmt.Sprintf(`{"account_id":%v}`, twoFA))
	require.Equal(t, http.StatusOK, code, "%v", body)

	// The first operator, made with the CLI, grants alice a plan.
	cli := exec.Command(bin, "user", "create", "--email", "ops@example.com", "--admin", "--database-url", db)
	cli.Stdin = strings.NewReader("operator passphrase 1\n")
	out, err := cli.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "role admin")
	code, body = h.call("POST", "/api/v2/auth/login", "", `{"email":"ops@example.com","password":"operator passphrase 1"}`)
	require.Equal(t, http.StatusOK, code, "%v", body)
	admin := str(t, body["token"])
	code, body = h.call("GET", "/api/v2/user", token, "")
	require.Equal(t, http.StatusOK, code, "%v", body)
	aliceID := body["id"]
	code, _ = h.call("POST", fmt.Sprintf("/api/v2/admin/users/%v/subscription", aliceID), token, `{"plan_id":"pro"}`)
	assert.Equal(t, http.StatusForbidden, code, "alice is no admin")
	code, body = h.call("POST", fmt.Sprintf("/api/v2/admin/users/%v/subscription", aliceID), admin, `{"plan_id":"pro"}`)
	require.Equal(t, http.StatusOK, code, "%v", body)
	code, body = h.call("GET", "/api/v2/user/subscription", token, "")
	require.Equal(t, http.StatusOK, code, "%v", body)
	assert.Equal(t, "pro", body["plan_id"])
	assert.Equal(t, "active", body["status"])

	h.stop()
	for i, h := range hosts {
		logs := h.logs.String()
		require.Contains(t, logs, "STC is up", "run %d's log was captured", i)
		assert.NotContains(t, logs, canary, "run %d's log", i)
		assert.False(t, strings.Contains(logs, "424242"), "the one-time code is not logged (run %d)", i)
	}
}
