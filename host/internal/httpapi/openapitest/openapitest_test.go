package openapitest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/httpapi/openapitest"
)

// doc is a small API: a thing by id, creating one, a ping without body,
// and an answer composed with allOf.
const doc = `{
  "openapi": "3.0.3",
  "info": {"title": "things", "version": "1"},
  "paths": {
    "/things/{id}": {"get": {
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}],
      "responses": {
        "200": {"description": "a thing", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
        "404": {"$ref": "#/components/responses/Error"}}}},
    "/things": {"post": {
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewThing"}}}},
      "responses": {
        "201": {"description": "created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
        "400": {"$ref": "#/components/responses/Error"}}}},
    "/ping": {"get": {"responses": {"204": {"description": "pong"}}}},
    "/labelled": {"get": {"responses": {
      "200": {"description": "composed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Labelled"}}}}}}}
  },
  "components": {
    "responses": {"Error": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
    "schemas": {
      "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}}}}},
      "Thing": {"type": "object", "required": ["id", "name"], "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
      "NewThing": {"type": "object", "additionalProperties": false, "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1}}},
      "Named": {"type": "object", "properties": {"name": {"type": "string"}}},
      "Labelled": {"allOf": [{"$ref": "#/components/schemas/Named"}, {"type": "object", "properties": {"label": {"type": "string"}}}]}
    }
  }
}`

const envelope = `{"error":{"code":"not_found","message":"no such thing"}}`

func TestCheck(t *testing.T) {
	v, err := openapitest.Load([]byte(doc))
	require.NoError(t, err)
	tests := map[string]struct {
		method, path, body string
		status             int
		answer             string
		contentType        string
		want               string // "" when the exchange agrees with the document
	}{
		"documented answer":              {"GET", "/things/1", "", 200, `{"id":1,"name":"a"}`, "", ""},
		"undocumented property":          {"GET", "/things/1", "", 200, `{"id":1,"name":"a","secret":"x"}`, "", `"secret"`},
		"required property missing":      {"GET", "/things/1", "", 200, `{"id":1}`, "", `"name"`},
		"wrong type":                     {"GET", "/things/1", "", 200, `{"id":"1","name":"a"}`, "", `"id"`},
		"undocumented status":            {"GET", "/things/1", "", 500, envelope, "", "status is not supported"},
		"error without the envelope":     {"GET", "/things/1", "", 404, `{"message":"gone"}`, "", `"error"`},
		"wrong content type":             {"GET", "/things/1", "", 200, `{"id":1,"name":"a"}`, "text/plain", "text/plain"},
		"documented error":               {"GET", "/things/1", "", 404, envelope, "", ""},
		"bad path parameter refused":     {"GET", "/things/0", "", 404, envelope, "", ""},
		"bad path parameter accepted":    {"GET", "/things/0", "", 200, `{"id":0,"name":"a"}`, "", "accepted a request the document refuses"},
		"valid body":                     {"POST", "/things", `{"name":"a"}`, 201, `{"id":1,"name":"a"}`, "", ""},
		"invalid body refused":           {"POST", "/things", `{"name":""}`, 400, envelope, "", ""},
		"unknown field refused":          {"POST", "/things", `{"name":"a","x":1}`, 400, envelope, "", ""},
		"invalid body accepted":          {"POST", "/things", `{"name":""}`, 201, `{"id":1,"name":""}`, "", "accepted a request the document refuses"},
		"unknown field accepted":         {"POST", "/things", `{"name":"a","x":1}`, 201, `{"id":1,"name":"a"}`, "", "accepted a request the document refuses"},
		"no body documented":             {"GET", "/ping", "", 204, "", "", ""},
		"body where none is documented":  {"GET", "/ping", "", 204, `{"pong":true}`, "", "describes none"},
		"allOf parts stay open":          {"GET", "/labelled", "", 200, `{"name":"a","label":"b"}`, "", ""},
		"no such path":                   {"GET", "/nothing", "", 404, envelope, "", ""},
		"no such method":                 {"DELETE", "/ping", "", 405, envelope, "", ""},
		"no such path answered 200":      {"GET", "/nothing", "", 200, `{}`, "", "no such operation"},
		"no such path without envelope":  {"GET", "/nothing", "", 404, `404 page not found`, "text/plain", "application/json"},
		"no such path with a bad answer": {"GET", "/nothing", "", 404, `{"error":{"code":"x"}}`, "", `"message"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var body *strings.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			ct := tc.contentType
			if ct == "" {
				ct = "application/json"
			}
			header := http.Header{}
			if tc.answer != "" {
				header.Set("Content-Type", ct)
			}
			err := v.Check(openapitest.Exchange{Request: req, Body: []byte(tc.body), Status: tc.status, Header: header, Answer: []byte(tc.answer)})
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), tc.path, "the message names the request")
		})
	}
	report := v.Report()
	assert.Contains(t, report, "answers checked")
	assert.Contains(t, report, "4 of 4 documented operations")
}

func TestLoadRefusesAnInvalidDocument(t *testing.T) {
	_, err := openapitest.Load([]byte(`{"openapi":"3.0.3","paths":{}}`))
	require.Error(t, err, "info is required")
	_, err = openapitest.Load([]byte(strings.Replace(doc, `"type": "integer", "minimum": 1`, `"type": "integr"`, 1)))
	require.Error(t, err, "an unknown type")
	_, err = openapitest.Load([]byte(`{`))
	require.Error(t, err)
}
