package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
)

// maxJSONBody caps a request body; no STC request comes near it, and a
// cap stops a client from making the server buffer megabytes.
const maxJSONBody = 64 << 10

// Page limits of every list endpoint (API.md conventions).
const (
	defaultPageLimit = 50
	maxPageLimit     = 500
)

// decodeJSON reads exactly one JSON object from r's body into dst. Unknown
// fields, trailing data, wrong types, a wrong media type and oversized
// bodies are client mistakes with their own codes.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) *apiError {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "the body must be application/json"}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return jsonError(err)
		}
		return badRequest("invalid_json", "the body must hold exactly one JSON object")
	}
	return nil
}

// jsonError turns a decoding error into the envelope. Messages name the
// field at fault but never echo values, which may be secrets.
func jsonError(err error) *apiError {
	var (
		tooBig *http.MaxBytesError
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
			Message: fmt.Sprintf("the body must be at most %d bytes", tooBig.Limit)}
	case errors.Is(err, io.EOF):
		return badRequest("invalid_json", "the body is empty; send a JSON object")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("invalid_json", "the body is not valid JSON")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return badRequest("invalid_json", "the body must be a JSON object")
		}
		return &apiError{Status: http.StatusBadRequest, Code: "validation_failed",
			Message: fmt.Sprintf("%s must be a JSON %s", field, jsonKind(typ.Type.Kind().String())),
			Details: map[string]any{"field": field}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &apiError{Status: http.StatusBadRequest, Code: "unknown_field",
			Message: fmt.Sprintf("unknown field %q", field), Details: map[string]any{"field": field}}
	default:
		return badRequest("invalid_json", "the body could not be decoded: "+err.Error())
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	default:
		return "number"
	}
}

// pathID parses the {name} path variable as a positive id. A malformed id
// is answered like a missing object (404), so ids are opaque to clients.
func pathID(r *http.Request, name string) (int64, *apiError) {
	v, err := strconv.ParseInt(mux.Vars(r)[name], 10, 64)
	if err != nil || v <= 0 {
		return 0, notFound("no such " + strings.TrimSuffix(name, "_id"))
	}
	return v, nil
}

func notFound(msg string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: msg}
}

// page is a parsed ?limit=&cursor= pair. Cursors are the last id of the
// previous page (lists are ordered by id, newest first).
type page struct {
	limit  int
	cursor int64 // 0: from the start
}

func parsePage(r *http.Request) (page, *apiError) {
	p := page{limit: defaultPageLimit}
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageLimit {
			return p, &apiError{Status: http.StatusBadRequest, Code: "validation_failed",
				Message: fmt.Sprintf("limit must be an integer from 1 to %d", maxPageLimit), Details: map[string]any{"field": "limit"}}
		}
		p.limit = n
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return p, &apiError{Status: http.StatusBadRequest, Code: "validation_failed",
				Message: "cursor must be the next_cursor of a previous page", Details: map[string]any{"field": "cursor"}}
		}
		p.cursor = n
	}
	return p, nil
}

// paginate cuts items (ordered by id descending) to p and returns the
// page and the cursor of the next one, nil at the end.
func paginate[T any](items []T, id func(T) int64, p page) ([]T, *string) {
	start := 0
	if p.cursor > 0 {
		for start < len(items) && id(items[start]) >= p.cursor {
			start++
		}
	}
	items = items[start:]
	if len(items) <= p.limit {
		return items, nil
	}
	next := strconv.FormatInt(id(items[p.limit-1]), 10)
	return items[:p.limit], &next
}

// listJSON is the shape of every list answer.
func listJSON[T any](items []T, next *string) map[string]any {
	if items == nil {
		items = []T{}
	}
	return map[string]any{"items": items, "next_cursor": next}
}
