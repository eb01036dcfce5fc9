package httpapi

// Hooks for the external tests (package httpapi_test), which share this
// package's OpenAPI validator.
var (
	CheckOpenAPI  = checkOpenAPI
	OpenAPIReport = openAPIReport
)
