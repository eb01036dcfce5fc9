package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCockpitAPIEndToEnd checks what `stc serve` wires for the cockpit's
// routes on the real binary and the embedded store: the broker list from
// the plugins' declarations, analytics and the CSV export over a settled
// paper trade, and the operator's plugin list from the live supervisor.
func TestCockpitAPIEndToEnd(t *testing.T) {
	bin, pluginDir := buildBinaries(t)
	data, err := os.MkdirTemp("", "stcck") //nolint:usetesting // t.TempDir paths are too long for the plugin sockets under it
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(data) })
	h := startHost(t, bin, hostEnv(freeAddr(t), data, pluginDir, "", "STC_PAPER_TIME_SCALE=60", "STC_PAPER_2FA_CODE=314159"))
	alice := signUp(t, h, "alice@example.com", "alice-paper")

	code, body := h.call("GET", "/api/v2/brokers", alice.token, "")
	require.Equal(t, http.StatusOK, code, "%v", body)
	names := map[string]map[string]any{}
	for _, it := range arr(t, body["items"]) {
		names[str(t, obj(t, it)["name"])] = obj(t, it)
	}
	require.Contains(t, names, "paper")
	require.Contains(t, names, "iqoption")
	assert.NotEmpty(t, arr(t, names["paper"]["credentials"]), "the schema the plugin declared at start")
	assert.Equal(t, false, obj(t, names["iqoption"]["access"])["included"], "the free plan lacks iqoption")

	code, body = h.call("POST", "/api/v2/user/trade", alice.token, `{"broker":"paper","symbol":"EURUSD-OTC","direction":"CALL","amount":2.5,"expiration":60}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	id := int64(num(t, obj(t, body["trade"])["id"]))
	waitFor(t, h, "the trade settles", 2*time.Minute, func() bool {
		_, body := h.call("GET", fmt.Sprintf("/api/v2/user/trades/%d", id), alice.token, "")
		st := obj(t, body["trade"])["status"]
		return st == "won" || st == "lost" || st == "draw"
	})
	code, body = h.call("GET", "/api/v2/user/analytics/daily?tz=America/Sao_Paulo", alice.token, "")
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Len(t, arr(t, body["items"]), 1)
	assert.Equal(t, 1.0, num(t, obj(t, arr(t, body["items"])[0])["trades"]))

	req, err := http.NewRequest("GET", h.base+"/api/v2/user/trades?format=csv", nil) //nolint:noctx // test request
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+alice.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	checkOpenAPI(t, req, nil, resp, raw)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 2, "the header and the trade")
	assert.Equal(t, fmt.Sprint(id), rows[1][0])
	assert.Equal(t, "2.5", rows[1][10])

	admin := makeAdmin(t, h, bin, "", data)
	code, body = h.call("GET", "/api/v2/admin/plugins", admin, "")
	require.Equal(t, http.StatusOK, code, "%v", body)
	plugins := map[string]map[string]any{}
	for _, it := range arr(t, body["items"]) {
		p := obj(t, it)
		plugins[str(t, p["kind"])+"/"+str(t, p["name"])] = p
	}
	require.Contains(t, plugins, "broker/paper")
	assert.Equal(t, "running", plugins["broker/paper"]["state"], "the supervisor's live state")
	assert.Contains(t, plugins, "strategy/rsi")
	code, body = h.call("GET", "/api/v2/admin/users?email=alice", admin, "")
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Len(t, arr(t, body["items"]), 1)
	assert.Equal(t, "practice", obj(t, arr(t, body["items"])[0])["plan_id"])
	assert.NotContains(t, h.logs.String(), "314159", "the secret setting is in no log")
}
