package httpapi

import (
	"bytes"
	_ "embed"
	"net/http"
)

// openAPISpec is the authoritative description of the API. A test walks
// the router and fails when a route and the spec disagree, so a new route
// cannot ship undocumented; the HTTP tests validate every request and
// answer they see against it (package openapitest), so its schemas
// cannot drift from what the handlers send.
//
//go:embed openapi.json
var openAPISpec []byte

// OpenAPIDocument returns a copy of the OpenAPI 3 document that
// /api/openapi.json serves, for tools and tests outside this package.
func OpenAPIDocument() []byte { return bytes.Clone(openAPISpec) }

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPISpec)
}
