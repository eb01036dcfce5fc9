package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/storetest"
)

// TestOpenAPIDocumentIsValid checks the document on its own, as a client
// generator would read it: well-formed OpenAPI 3 (structure, references,
// schema types, examples and defaults against their schemas).
func TestOpenAPIDocumentIsValid(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPIDocument())
	require.NoError(t, err)
	require.NoError(t, doc.Validate(loader.Context, openapi3.EnableExamplesValidation(), openapi3.EnableSchemaDefaultsValidation()))
	assert.Equal(t, "3.0.3", doc.OpenAPI)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status, resp := range op.Responses.Map() {
				if code, err := strconv.Atoi(status); err != nil || code >= 400 {
					assert.Equal(t, "#/components/responses/Error", resp.Ref,
						"%s %s %s: every error answer is the error envelope", method, path, status)
				}
			}
		}
	}
}

// TestBotAnswersMatchTheDocument walks a bot through every bot route.
// The document used to describe a bot as allOf a BotSpec that forbids
// other properties, so no answer carrying a bot (id, broker, status…)
// was valid; call validates each answer against openapi.json.
func TestBotAnswersMatchTheDocument(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), httpapi.RateLimits{PerIP: -1, PerUser: -1, Auth: -1})
	a := e.register("lifecycle")
	e.connectPaper(&a, "pw-"+randHex(t))
	e.tradeAndBot(&a)
	bot := "/api/v2/bots/" + strconv.FormatInt(a.bot, 10)

	steps := []struct {
		method, path, body string
		status             int
	}{
		{"GET", bot, "", http.StatusOK},
		{"GET", "/api/v2/bots", "", http.StatusOK},
		{"PATCH", bot, `{"name":"renamed","limits":{"max_stake":5,"max_open_trades":2},"progression":{"kind":"martingale","multiplier":2,"max_steps":3,"max_stake":20}}`, http.StatusOK},
		{"POST", bot + "/start", "", http.StatusOK},
		{"PATCH", bot, `{"name":"while running"}`, http.StatusConflict},
		{"POST", bot + "/stop", "", http.StatusOK},
		{"DELETE", bot, "", http.StatusNoContent},
		{"GET", bot, "", http.StatusNotFound},
	}
	for _, s := range steps {
		r := e.call(s.method, s.path, a.token, s.body)
		require.Equal(t, s.status, r.Status, "%s %s: %s", s.method, s.path, r.Raw)
		if s.status == http.StatusOK {
			one := r.JSON["bot"]
			if s.path == "/api/v2/bots" {
				items, _ := r.JSON["items"].([]any)
				require.Len(t, items, 1, r.Raw)
				one = items[0]
			}
			b := jsonObj(t, one)
			assert.Equal(t, "paper", b["broker"], "a bot answer names its broker")
		}
	}
}

// TestKeyAndAccountAnswersMatchTheDocument reaches the success answers of
// the API-key and account routes that other tests leave out.
func TestKeyAndAccountAnswersMatchTheDocument(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), httpapi.RateLimits{PerIP: -1, PerUser: -1, Auth: -1})
	a := e.register("keys")
	e.connectPaper(&a, "pw-"+randHex(t))
	key := "/api/v2/user/api-keys/" + strconv.FormatInt(a.readKeyID, 10)
	acct := "/api/v2/user/accounts/" + strconv.FormatInt(a.account, 10)
	for _, s := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", key, "", http.StatusOK},
		{"DELETE", key, "", http.StatusNoContent},
		{"GET", key, "", http.StatusNotFound},
		{"GET", acct, "", http.StatusOK},
		{"GET", "/api/v2/user/accounts", "", http.StatusOK},
		{"POST", "/api/v2/user/disconnect", `{"account_id":` + strconv.FormatInt(a.account, 10) + `}`, http.StatusOK},
		{"GET", "/api/v2/user/subscription", "", http.StatusOK},
		{"GET", "/api/v2/user/stats", "", http.StatusOK},
		{"GET", "/api/v2/user/limits", "", http.StatusOK},
		{"PUT", "/api/v2/user/limits", `{"max_stake":"12.5","cooldown_seconds":60}`, http.StatusOK},
		{"GET", "/api/v2/plans", "", http.StatusOK},
		{"GET", "/api/openapi.json", "", http.StatusOK},
	} {
		r := e.call(s.method, s.path, a.token, s.body)
		require.Equal(t, s.status, r.Status, "%s %s: %s", s.method, s.path, r.Raw)
	}
}
