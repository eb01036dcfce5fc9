package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/storetest"
)

// brokerByName returns the broker called name from a /api/v2/brokers
// answer.
func brokerByName(t *testing.T, r response, name string) map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	for _, it := range jsonArr(t, r.JSON["items"]) {
		if b := jsonObj(t, it); b["name"] == name {
			return b
		}
	}
	t.Fatalf("no broker %s in %s", name, r.Raw)
	return nil
}

// planIDs lists the ids of access.plans.
func planIDs(t *testing.T, b map[string]any) []string {
	t.Helper()
	var out []string
	for _, p := range jsonArr(t, jsonObj(t, b["access"])["plans"]) {
		out = append(out, jsonStr(t, jsonObj(t, p)["id"]))
	}
	return out
}

// TestBrokerSelector lists the host's real broker plugins for a free user
// and for a paying one: the credential schema each declares, its modes,
// and what the caller's plan allows, a locked broker listed with the
// plans that unlock it, cheapest first.
func TestBrokerSelector(t *testing.T) {
	e := newInstalledEnv(t, storetest.OpenSQLite(t))
	alice := e.register("alice")

	r := e.call("GET", "/api/v2/brokers", alice.token, "")
	items := jsonArr(t, r.JSON["items"])
	require.Len(t, items, 2, "paper and iqoption, sorted by name: %s", r.Raw)
	assert.Equal(t, "iqoption", jsonObj(t, items[0])["name"])

	paper := brokerByName(t, r, "paper")
	assert.Equal(t, "Paper", paper["display_name"], "as the plugin declares it")
	assert.Equal(t, []any{"practice"}, paper["modes"], "paper trades play money only")
	assert.Equal(t, true, paper["second_factor"])
	assert.Equal(t, true, paper["available"])
	assert.NotEmpty(t, paper["description"])
	creds := map[string]map[string]any{}
	for _, c := range jsonArr(t, paper["credentials"]) {
		f := jsonObj(t, c)
		creds[jsonStr(t, f["name"])] = f
	}
	require.Len(t, creds, 3, "username, password, code")
	assert.Equal(t, false, creds["username"]["secret"])
	assert.Equal(t, true, creds["username"]["required"])
	assert.Equal(t, "string", creds["username"]["type"])
	assert.Equal(t, true, creds["password"]["secret"])
	assert.Equal(t, true, creds["code"]["secret"])
	assert.NotContains(t, creds["code"], "required", "an optional field leaves required out")
	access := jsonObj(t, paper["access"])
	assert.Equal(t, true, access["included"], "the free plan includes paper")
	assert.Equal(t, []any{"practice"}, access["modes"])
	assert.Equal(t, []string{"practice", "pro", "elite"}, planIDs(t, paper), "every public plan has paper, cheapest first")

	iq := brokerByName(t, r, "iqoption")
	assert.Equal(t, "IQ Option", iq["display_name"])
	assert.Equal(t, []any{"practice", "real"}, iq["modes"])
	assert.Equal(t, true, iq["second_factor"])
	access = jsonObj(t, iq["access"])
	assert.Equal(t, false, access["included"], "a broker the plan lacks is listed, locked")
	assert.Equal(t, []any{}, access["modes"])
	assert.Equal(t, []string{"pro", "elite"}, planIDs(t, iq), "the plans that unlock it, cheapest first")
	plan := jsonObj(t, jsonArr(t, jsonObj(t, iq["access"])["plans"])[0])
	assert.Equal(t, 29.0, plan["price"])
	assert.Equal(t, "USD", plan["currency"])
	assert.Equal(t, true, plan["live_trading"])

	// With the pro plan iqoption opens, real mode included.
	admin := e.admin()
	g := e.call("POST", "/api/v2/admin/users/"+strconv.FormatInt(alice.id, 10)+"/subscription", admin, `{"plan_id":"pro"}`)
	require.Equal(t, http.StatusOK, g.Status, g.Raw)
	r = e.call("GET", "/api/v2/brokers", alice.readKey, "")
	access = jsonObj(t, brokerByName(t, r, "iqoption")["access"])
	assert.Equal(t, true, access["included"])
	assert.Equal(t, []any{"practice", "real"}, access["modes"])
	assert.Equal(t, []any{"practice"}, jsonObj(t, brokerByName(t, r, "paper")["access"])["modes"],
		"live trading does not give paper a real mode it does not have")

	// Whose plan applies is the caller's: no token, no answer.
	r = e.call("GET", "/api/v2/brokers", "", "")
	assert.Equal(t, http.StatusUnauthorized, r.Status, r.Raw)
}
