package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/stc-trading/stc/host/internal/names"
	"github.com/stc-trading/stc/host/internal/store"
)

// maxJSONBody caps a request body; no STC request comes near it, and a
// cap stops a client from making the server buffer megabytes.
const maxJSONBody = 64 << 10

// Page limits of every list endpoint (openapi.json: the limit parameter).
const (
	defaultPageLimit = 50
	maxPageLimit     = 500
)

// decodeJSON reads exactly one JSON object from r's body into dst. Unknown
// fields, trailing data, wrong types, a wrong or missing media type,
// oversized bodies and keys sent twice (or in another case than
// documented) are client mistakes with their own codes.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) *apiError {
	body, e := readJSONBody(w, r, maxJSONBody)
	if e != nil {
		return e
	}
	// encoding/json keeps the last of two equal keys and matches names
	// case-insensitively, so {"amount":1,"AMOUNT":900} places 900 while a
	// proxy or client that reads "amount" sees 1. Refuse what two parsers
	// could read differently before decoding.
	if e := checkKeys(body, reflect.TypeOf(dst)); e != nil {
		return e
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("invalid_json", "the body must hold exactly one JSON object")
	}
	return nil
}

var errMediaType = &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
	Message: "the body must be JSON sent with Content-Type: application/json"}

// readJSONBody reads r's body, at most limit bytes. A body must be
// declared application/json (docs/SECURITY.md): a missing Content-Type is
// refused as well as a wrong one, so a browser form or a text/plain
// request can never act as an API call. An empty body needs none.
func readJSONBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *apiError) {
	ct := r.Header.Get("Content-Type")
	if ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, errMediaType
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return nil, jsonError(err)
	}
	if ct == "" && len(bytes.TrimSpace(body)) > 0 {
		return nil, errMediaType
	}
	return body, nil
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
		return fieldError(field, fmt.Sprintf("%s must be a JSON %s", field, jsonKind(typ.Type)))
	default:
		// Unknown fields are refused by checkKeys, which knows their path;
		// the decoder's own refusal is the backstop.
		return badRequest("invalid_json", "the body could not be decoded")
	}
}

// jsonKind names the JSON type a Go type is decoded from. json.Number is
// a string kind in Go but a number in JSON.
func jsonKind(t reflect.Type) string {
	if t == numberType {
		return "number"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Slice, reflect.Array:
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
			return p, fieldError("limit", fmt.Sprintf("limit must be an integer from 1 to %d", maxPageLimit))
		}
		p.limit = n
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return p, fieldError("cursor", "cursor must be the next_cursor of a previous page")
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

// brokerParam reads ?broker=, a plugin name ([a-z0-9_-], as the catalog
// names them). A malformed name is refused here, before it reaches a
// plugin or the store.
func brokerParam(q url.Values) (string, *apiError) {
	name := q.Get("broker")
	if name == "" {
		return "", fieldError("broker", "broker is required, e.g. ?broker=paper")
	}
	if len(name) > 64 || strings.IndexFunc(name, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' && r != '-'
	}) >= 0 {
		return "", fieldError("broker", "broker must be a broker name such as paper (lower-case letters, digits, - and _)")
	}
	return name, nil
}

// symbolParam reads ?symbol=: 1 to store.MaxSymbolLen characters, valid UTF-8, without
// spaces, ':' or '/', and names.Valid (no control or invisible characters: the
// rule bots apply to their symbol). PostgreSQL refuses NUL in text, and
// symbols reach logs and plugins.
func symbolParam(q url.Values) (string, *apiError) {
	sym := q.Get("symbol")
	if sym == "" {
		return "", fieldError("symbol", "symbol is required, e.g. ?symbol=EURUSD-OTC")
	}
	if len(sym) > store.MaxSymbolLen || !names.Valid(sym) || strings.ContainsAny(sym, " :/") {
		return "", fieldError("symbol", fmt.Sprintf("symbol must be 1 to %d visible characters without spaces, ':' or '/'", store.MaxSymbolLen))
	}
	return sym, nil
}
