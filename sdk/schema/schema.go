// Package schema describes typed configuration fields — strategy parameters
// and broker credentials — and turns raw text values into validated ones.
//
// The host only ever sees text (JSON from the API, strings on the wire); a
// plugin declares its fields once and Resolve fills defaults, rejects unknown
// names, type-checks and bounds-checks, so author code reads already-valid
// values.
package schema

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Type is the type of a field's value.
type Type int

// Field types. The zero value is invalid.
const (
	Int Type = iota + 1
	Float
	String
	Bool
	Duration
)

// String returns the lower-case type name used in schemas ("int", ...).
func (t Type) String() string {
	switch t {
	case Int:
		return "int"
	case Float:
		return "float"
	case String:
		return "string"
	case Bool:
		return "bool"
	case Duration:
		return "duration"
	}
	return fmt.Sprintf("invalid(%d)", int(t))
}

// Field declares one parameter or credential.
type Field struct {
	Name        string
	Type        Type
	Required    bool   // no default: the caller must give a value
	Default     string // text form, used when the caller gives none
	Description string
	Sensitive   bool     // passwords and tokens: never logged or echoed
	Min, Max    *float64 // numeric bounds, inclusive, when set
	Options     []string // when not empty, the only accepted values
}

// Bound returns a pointer to v, for Field.Min and Field.Max literals.
func Bound(v float64) *float64 { return &v }

// ErrInvalid is wrapped by every validation error of this package.
var ErrInvalid = errors.New("invalid configuration")

// FieldError reports what is wrong with one field.
type FieldError struct {
	Field   string
	Problem string
}

// Error implements error.
func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// Errors is the list of field problems found by Resolve. It wraps
// ErrInvalid.
type Errors []*FieldError

// Error joins every problem into one line.
func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return "invalid configuration: " + strings.Join(parts, "; ")
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (es Errors) Unwrap() error { return ErrInvalid }

// Values are resolved, validated field values. Accessors panic when asked
// for an undeclared field or with the wrong type: that is a programming
// error in the plugin, which the conformance kits catch and the SDK's
// per-call panic recovery contains.
type Values struct {
	fields map[string]Field
	raw    map[string]string
}

// Resolve validates raw against fields: it applies defaults, rejects
// unknown names, missing required fields, values that do not parse as their
// type, values outside [Min, Max] and values not in Options. All problems
// are reported at once, sorted by field name.
func Resolve(fields []Field, raw map[string]string) (Values, error) {
	v := Values{fields: make(map[string]Field, len(fields)), raw: make(map[string]string, len(fields))}
	var errs Errors
	for _, f := range fields {
		v.fields[f.Name] = f
	}
	for name := range raw {
		if _, ok := v.fields[name]; !ok {
			errs = append(errs, &FieldError{Field: name, Problem: "unknown field"})
		}
	}
	for _, f := range fields {
		text, given := raw[f.Name]
		if !given {
			if f.Required {
				errs = append(errs, &FieldError{Field: f.Name, Problem: "required"})
				continue
			}
			text = f.Default
		}
		if !given && text == "" && f.Type != String {
			continue // optional, no default: absent
		}
		if err := f.check(text); err != nil {
			errs = append(errs, &FieldError{Field: f.Name, Problem: err.Error()})
			continue
		}
		v.raw[f.Name] = text
	}
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Field < errs[j].Field })
		return Values{}, errs
	}
	return v, nil
}

// check validates one value's text form.
func (f Field) check(text string) error {
	if len(f.Options) > 0 && !slices.Contains(f.Options, text) {
		return fmt.Errorf("must be one of %s", strings.Join(f.Options, ", "))
	}
	var num float64
	switch f.Type {
	case Int:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", text)
		}
		num = float64(n)
	case Float:
		x, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%q is not a finite number", text)
		}
		num = x
	case Bool:
		if _, err := strconv.ParseBool(text); err != nil {
			return fmt.Errorf("%q is not true or false", text)
		}
		return nil
	case Duration:
		d, err := time.ParseDuration(text)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 90s or 5m", text)
		}
		num = d.Seconds()
	case String:
		return nil
	default:
		return fmt.Errorf("field declares invalid type %s", f.Type)
	}
	if f.Min != nil && num < *f.Min {
		return fmt.Errorf("must be at least %v", *f.Min)
	}
	if f.Max != nil && num > *f.Max {
		return fmt.Errorf("must be at most %v", *f.Max)
	}
	return nil
}

func (v Values) text(name string, want Type) (string, bool) {
	f, ok := v.fields[name]
	if !ok {
		panic(fmt.Sprintf("schema: field %q is not declared", name))
	}
	if f.Type != want {
		panic(fmt.Sprintf("schema: field %q is %s, read as %s", name, f.Type, want))
	}
	s, set := v.raw[name]
	return s, set
}

// Has reports whether name has a value (given or defaulted).
func (v Values) Has(name string) bool { _, ok := v.raw[name]; return ok }

// Int returns an Int field's value; zero when absent.
func (v Values) Int(name string) int {
	s, _ := v.text(name, Int)
	n, _ := strconv.Atoi(s)
	return n
}

// Float returns a Float field's value; zero when absent.
func (v Values) Float(name string) float64 {
	s, _ := v.text(name, Float)
	x, _ := strconv.ParseFloat(s, 64)
	return x
}

// String returns a String field's value; empty when absent.
func (v Values) String(name string) string {
	s, _ := v.text(name, String)
	return s
}

// Bool returns a Bool field's value; false when absent.
func (v Values) Bool(name string) bool {
	s, _ := v.text(name, Bool)
	b, _ := strconv.ParseBool(s)
	return b
}

// Duration returns a Duration field's value; zero when absent.
func (v Values) Duration(name string) time.Duration {
	s, _ := v.text(name, Duration)
	d, _ := time.ParseDuration(s)
	return d
}

// Map returns the effective values in text form (defaults applied). It
// includes sensitive fields: callers must not log it.
func (v Values) Map() map[string]string {
	out := make(map[string]string, len(v.raw))
	for k, s := range v.raw {
		out[k] = s
	}
	return out
}
