package main

import (
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/httpapi"
	"github.com/stc-trading/stc/host/internal/httpapi/openapitest"
)

// apiSpec is the API's OpenAPI document prepared for validation, loaded
// once per test binary. The binaries under test embed the same document.
var apiSpec = sync.OnceValues(func() (*openapitest.Validator, error) {
	return openapitest.Load(httpapi.OpenAPIDocument())
})

// checkOpenAPI fails t when a request to a host under test and its answer
// disagree with the OpenAPI document. body is the request body as sent.
func checkOpenAPI(t testing.TB, req *http.Request, body []byte, resp *http.Response, answer []byte) {
	t.Helper()
	v, err := apiSpec()
	require.NoError(t, err)
	v.Require(t, openapitest.Exchange{Request: req, Body: body, Status: resp.StatusCode, Header: resp.Header, Answer: answer})
}
