package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPISpec is the authoritative description of the API. A test walks
// the router and fails when a route and the spec disagree, so a new route
// cannot ship undocumented.
//
//go:embed openapi.json
var openAPISpec []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPISpec)
}
