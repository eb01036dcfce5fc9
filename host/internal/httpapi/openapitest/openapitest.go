// Package openapitest checks the HTTP exchanges tests make against the
// API's OpenAPI document with an independent validator (kin-openapi's
// openapi3filter), so that the document and the code cannot drift: an
// answer the document does not describe fails the test that saw it.
//
// Only test binaries import it; the host itself does not validate its
// traffic.
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Validator checks requests and answers against one OpenAPI 3 document.
// It is safe for concurrent use.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
	opts   *openapi3filter.Options

	mu   sync.Mutex
	seen map[string]int // "METHOD /template STATUS" → answers checked
}

// Load parses doc, validates it as an OpenAPI 3 document and prepares
// the router. The document is checked strictly: every object schema that
// lists its properties and says nothing about others is closed for the
// tests (additionalProperties: false), so an answer carrying a field the
// document does not describe fails, while the published document stays
// open for fields added later (a client generated from it keeps reading
// answers from a newer host).
func Load(doc []byte) (*Validator, error) {
	loader := openapi3.NewLoader()
	spec, err := loader.LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: parse: %w", err)
	}
	if err := spec.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi: the document is not valid OpenAPI 3: %w", err)
	}
	closeObjects(spec)
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		return nil, fmt.Errorf("openapi: router: %w", err)
	}
	return &Validator{
		doc:    spec,
		router: router,
		opts: &openapi3filter.Options{
			// The host authenticates; tests send bad tokens on purpose.
			AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
			IncludeResponseStatus: true,
			MultiError:            true,
			SkipSettingDefaults:   true,
			// The reason and where (Error at "/bot/id"); the schema and
			// value dumps would bury it, and the answer is printed anyway.
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
		},
		seen: make(map[string]int),
	}, nil
}

// closeObjects sets additionalProperties: false on every object schema
// reachable from the document that lists properties and leaves other
// properties unspecified. Parts of an allOf are left open wherever else
// they are used: closing one part refuses the properties of the others.
func closeObjects(spec *openapi3.T) {
	reachable := map[*openapi3.Schema]bool{} // schema → is a part of an allOf
	var walk func(ref *openapi3.SchemaRef, inAllOf bool)
	walk = func(ref *openapi3.SchemaRef, inAllOf bool) {
		if ref == nil || ref.Value == nil {
			return
		}
		s := ref.Value
		part, seen := reachable[s]
		reachable[s] = part || inAllOf
		if seen {
			return
		}
		for _, p := range s.Properties {
			walk(p, false)
		}
		walk(s.Items, false)
		walk(s.AdditionalProperties.Schema, false)
		for _, sub := range s.AllOf {
			walk(sub, true)
		}
		for _, sub := range slices.Concat(s.OneOf, s.AnyOf) {
			walk(sub, false)
		}
	}
	for _, s := range spec.Components.Schemas {
		walk(s, false)
	}
	for _, item := range spec.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					walk(mt.Schema, false)
				}
			}
			for _, resp := range op.Responses.Map() {
				if resp.Value != nil {
					for _, mt := range resp.Value.Content {
						walk(mt.Schema, false)
					}
				}
			}
		}
	}
	closed := false
	for s, part := range reachable {
		if !part && len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			s.AdditionalProperties.Has = &closed
		}
	}
}

// Exchange is one request and the answer a test saw.
type Exchange struct {
	// Request is the request as sent; its body is read from Body, not
	// from Request.Body (which the handler consumed).
	Request *http.Request
	Body    []byte
	Status  int
	Header  http.Header
	Answer  []byte
}

// Check returns nil when the exchange agrees with the document:
//   - the answer's status is documented for the route, and its body and
//     content type are those the document gives for that status (error
//     answers included);
//   - a request the document refuses was refused (a 4xx): a host that
//     accepts what its document forbids, or a document that forbids what
//     clients may send, is an error. Requests a test sends invalid on
//     purpose pass, as long as the host refused them;
//   - a request for a path or method the document does not describe got
//     the error envelope and a 4xx.
func (v *Validator) Check(ex Exchange) error {
	req := ex.Request.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(ex.Body))
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return v.checkUnrouted(ex, err)
	}
	key := ex.Request.Method + " " + route.Path
	v.count(key + " " + strconv.Itoa(ex.Status))
	fail := func(format string, args ...any) error {
		return fmt.Errorf("openapi: %s (%s) answered %d: %s\nanswer: %s",
			key, ex.Request.URL.RequestURI(), ex.Status, fmt.Sprintf(format, args...), clip(ex.Answer))
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: v.opts}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && ex.Status < 400 {
		return fail("the host accepted a request the document refuses: %v", err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: ex.Status, Header: ex.Header, Options: v.opts}
	out.SetBodyBytes(ex.Answer)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fail("%v", err)
	}
	// openapi3filter does not look at a body the document has no content
	// for; a client generated from it would not expect one either.
	if resp := route.Operation.Responses.Status(ex.Status); resp != nil && resp.Value != nil &&
		len(resp.Value.Content) == 0 && len(bytes.TrimSpace(ex.Answer)) > 0 {
		return fail("the answer has a body (%s) but the document describes none", ex.Header.Get("Content-Type"))
	}
	return nil
}

// checkUnrouted checks the answer to a request no documented operation
// matches: it must be a 4xx with the error envelope.
func (v *Validator) checkUnrouted(ex Exchange, routeErr error) error {
	key := ex.Request.Method + " " + ex.Request.URL.Path
	v.count("(undocumented) " + strconv.Itoa(ex.Status))
	if !errors.Is(routeErr, routers.ErrPathNotFound) && !errors.Is(routeErr, routers.ErrMethodNotAllowed) {
		return fmt.Errorf("openapi: %s: %w", key, routeErr)
	}
	if ex.Status < 400 || ex.Status >= 500 {
		return fmt.Errorf("openapi: %s answered %d, but the document has no such operation (%w)\nanswer: %s",
			key, ex.Status, routeErr, clip(ex.Answer))
	}
	if err := v.checkErrorEnvelope(ex); err != nil {
		return fmt.Errorf("openapi: %s answered %d (no such operation in the document): %w\nanswer: %s",
			key, ex.Status, err, clip(ex.Answer))
	}
	return nil
}

func (v *Validator) checkErrorEnvelope(ex Exchange) error {
	ref := v.doc.Components.Schemas["Error"]
	if ref == nil || ref.Value == nil {
		return errors.New("the document has no Error schema")
	}
	if mt, _, err := mime.ParseMediaType(ex.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return fmt.Errorf("content type %q, want application/json", ex.Header.Get("Content-Type"))
	}
	var body any
	if err := json.Unmarshal(ex.Answer, &body); err != nil {
		return fmt.Errorf("the body is not JSON: %w", err)
	}
	if err := ref.Value.VisitJSON(body, openapi3.VisitAsResponse(), openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("the body is not the Error envelope: %w", err)
	}
	return nil
}

func (v *Validator) count(key string) {
	v.mu.Lock()
	v.seen[key]++
	v.mu.Unlock()
}

// Require fails t (without stopping it) when the exchange disagrees with
// the document.
func (v *Validator) Require(t testing.TB, ex Exchange) {
	t.Helper()
	if err := v.Check(ex); err != nil {
		t.Error(err)
	}
}

// Report summarizes what Check has seen: the answers checked, the
// documented operations and statuses they covered, and the documented
// ones no exchange reached.
func (v *Validator) Report() string {
	v.mu.Lock()
	seen := make(map[string]int, len(v.seen))
	total := 0
	for k, n := range v.seen {
		seen[k] = n
		total += n
	}
	v.mu.Unlock()
	var documented, missed []string
	ops := map[string]bool{}
	for path, item := range v.doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status := range op.Responses.Map() {
				k := method + " " + path + " " + status
				documented = append(documented, k)
				if seen[k] == 0 {
					missed = append(missed, k)
				} else {
					ops[method+" "+path] = true
				}
			}
		}
	}
	slices.Sort(missed)
	var b strings.Builder
	fmt.Fprintf(&b, "openapi: %d answers checked; %d of %d documented operations and %d of %d documented statuses reached\n",
		total, len(ops), opCount(v.doc), len(documented)-len(missed), len(documented))
	if len(missed) > 0 {
		fmt.Fprintf(&b, "documented statuses no test reached:\n  %s\n", strings.Join(missed, "\n  "))
	}
	return b.String()
}

func opCount(doc *openapi3.T) int {
	n := 0
	for _, item := range doc.Paths.Map() {
		n += len(item.Operations())
	}
	return n
}

// clip shortens an answer for an error message.
func clip(b []byte) string {
	const max = 600
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
