package httpapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpenAPISchemasMatchGoTypes derives a schema from each Go type the
// handlers encode (openapi3gen) and compares it with the schema
// openapi.json documents for it: the same properties, JSON types,
// required (every field without omitempty is always sent) and nullable
// (a pointer without omitempty is sent as null). The document keeps what
// Go types cannot say (descriptions, enums, bounds); this keeps its
// shapes from drifting from the code, also for fields no test answer
// happens to carry.
func TestOpenAPISchemasMatchGoTypes(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(openAPISpec)
	require.NoError(t, err)
	component := func(name string) *openapi3.Schema {
		ref := doc.Components.Schemas[name]
		require.NotNil(t, ref, "openapi.json has no schema %s", name)
		return ref.Value
	}
	cases := map[string]struct {
		doc *openapi3.Schema
		val any
	}{
		"Bot":            {component("Bot"), botJSON{}},
		"BotLimits":      {component("BotLimits"), botLimitsJSON{}},
		"BotProgression": {component("BotProgression"), progressionJSON{}},
		"Trade":          {component("Trade"), tradeJSON{}},
		"StatsRow":       {component("StatsRow"), statsRowJSON{}},
		"RiskLimits":     {component("RiskLimits"), limitsJSON{}},
		"Account":        {component("Account"), accountJSON{}},
		"APIKey":         {component("APIKey"), apiKeyJSON{}},
		"APIKeyCreated":  {component("APIKeyCreated").Properties["api_key"].Value, createdAPIKeyJSON{}},
		"UserSummary":    {component("UserSummary"), userJSON{}},
		"Plan":           {component("Plan"), planJSON{}},
		"Subscription":   {component("Subscription"), subscriptionJSON{}},
		"Instrument":     {component("Instrument"), instrumentJSON{}},
		"Candle":         {component("Candle"), candleJSON{}},
		"StrategyParam":  {component("StrategyParam"), fieldJSON{}},
		"Error":          {component("Error").Properties["error"].Value, apiError{}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			gen, err := openapi3gen.NewSchemaRefForValue(c.val, nil, openapi3gen.SchemaCustomizer(customizeGenerated))
			require.NoError(t, err)
			assert.Empty(t, schemaDiff(name, gen.Value, c.doc), "openapi.json and %T disagree", c.val)
		})
	}
}

// customizeGenerated makes openapi3gen's schema say what encoding/json
// sends: a json.Number is a number, a field without omitempty is always
// present, and an omitempty pointer is left out rather than sent as null.
func customizeGenerated(_ string, t reflect.Type, tag reflect.StructTag, s *openapi3.Schema) error {
	if t == reflect.TypeFor[json.Number]() {
		s.Type = &openapi3.Types{openapi3.TypeNumber}
	}
	if _, opts, _ := strings.Cut(tag.Get("json"), ","); slices.Contains(strings.Split(opts, ","), "omitempty") {
		s.Nullable = false
	}
	if t.Kind() == reflect.Struct && t != reflect.TypeFor[time.Time]() {
		s.Required = alwaysSent(t)
	}
	return nil
}

// alwaysSent lists the JSON names of t's fields without omitempty,
// including those of embedded structs.
func alwaysSent(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		switch {
		case tag == "-":
		case f.Anonymous && name == "":
			out = append(out, alwaysSent(f.Type)...)
		case f.IsExported() && !slices.Contains(strings.Split(opts, ","), "omitempty"):
			if name == "" {
				name = f.Name
			}
			out = append(out, name)
		}
	}
	return out
}

// schemaDiff lists where doc does not describe what gen (the schema of a
// Go type) says: type, nullability, date-time format, properties and
// required, recursively.
func schemaDiff(path string, gen, doc *openapi3.Schema) []string {
	if doc == nil {
		return []string{path + ": not documented"}
	}
	if gen.Type == nil { // an interface value: anything goes
		return nil
	}
	var out []string
	gt, dt := gen.Type.Slice(), []string(nil)
	if doc.Type != nil {
		dt = doc.Type.Slice()
	}
	if !slices.Equal(gt, dt) {
		return []string{fmt.Sprintf("%s: type %v, documented %v", path, gt, dt)}
	}
	if gen.Nullable != doc.Nullable {
		out = append(out, fmt.Sprintf("%s: nullable %v, documented %v", path, gen.Nullable, doc.Nullable))
	}
	if gen.Format == "date-time" && doc.Format != "date-time" {
		out = append(out, fmt.Sprintf("%s: a date-time, documented with format %q", path, doc.Format))
	}
	if len(gen.Properties) > 0 || len(doc.Properties) > 0 {
		g, d := slices.Sorted(maps.Keys(gen.Properties)), slices.Sorted(maps.Keys(doc.Properties))
		if only := minus(g, d); len(only) > 0 {
			out = append(out, fmt.Sprintf("%s: sends %v, which the document does not list", path, only))
		}
		if only := minus(d, g); len(only) > 0 {
			out = append(out, fmt.Sprintf("%s: documents %v, which the Go type does not have", path, only))
		}
		if only := minus(gen.Required, doc.Required); len(only) > 0 {
			out = append(out, fmt.Sprintf("%s: always sends %v, not documented as required", path, only))
		}
		if only := minus(doc.Required, gen.Required); len(only) > 0 {
			out = append(out, fmt.Sprintf("%s: documents %v as required, but they are omitempty or absent", path, only))
		}
		for _, name := range g {
			if p := doc.Properties[name]; p != nil {
				out = append(out, schemaDiff(path+"."+name, gen.Properties[name].Value, p.Value)...)
			}
		}
	}
	if gen.Items != nil {
		if doc.Items == nil {
			return append(out, path+": array items not documented")
		}
		out = append(out, schemaDiff(path+"[]", gen.Items.Value, doc.Items.Value)...)
	}
	if ap := gen.AdditionalProperties.Schema; ap != nil {
		var dap *openapi3.Schema
		if doc.AdditionalProperties.Schema != nil {
			dap = doc.AdditionalProperties.Schema.Value
		}
		if ap.Value.Type != nil {
			out = append(out, schemaDiff(path+"{}", ap.Value, dap)...)
		}
	}
	return out
}

// minus is the sorted elements of a not in b.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}
