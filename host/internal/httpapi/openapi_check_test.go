package httpapi

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stc-trading/stc/host/internal/httpapi/openapitest"
)

// apiSpec is openapi.json prepared for validation, loaded once per test
// binary and shared by this package's tests and its external tests.
var apiSpec = sync.OnceValues(func() (*openapitest.Validator, error) { return openapitest.Load(openAPISpec) })

// checkOpenAPI fails t when a request and the answer the handler wrote
// disagree with openapi.json. body is the request body as sent (the
// handler consumed req.Body).
func checkOpenAPI(t testing.TB, req *http.Request, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	v, err := apiSpec()
	require.NoError(t, err)
	v.Require(t, openapitest.Exchange{Request: req, Body: body, Status: rec.Code, Header: rec.Header(), Answer: rec.Body.Bytes()})
}

// openAPIReport summarizes the answers checked so far.
func openAPIReport() string {
	v, err := apiSpec()
	if err != nil {
		return err.Error()
	}
	return v.Report()
}
