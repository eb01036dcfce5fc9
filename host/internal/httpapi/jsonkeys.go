package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
)

var (
	numberType      = reflect.TypeFor[json.Number]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// checkKeys walks body along the Go type it will be decoded into and
// refuses what encoding/json would accept silently:
//
//   - a key sent twice in one object, also in another case or Unicode
//     folding ("amount" and "AMOUNT", "max_stake" and "max_ſtake"):
//     encoding/json keeps the last one, other parsers the first;
//   - a key that names a field only case-insensitively ("AMOUNT" alone):
//     encoding/json would fill "amount" from it, while a proxy or client
//     checking "amount" sees none;
//   - a value for a json.Number field that is not a number (encoding/json
//     would call it a string, or echo the value in its error);
//   - U+0000 in any key or string (see hasNUL).
//
// Syntax errors are left to the decoder, which reports them.
func checkKeys(body []byte, t reflect.Type) *apiError {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	e, _ := walkValue(dec, t, "")
	return e
}

// walkValue consumes one value of dec, which is decoded into t (nil:
// unknown or opaque). A non-nil error means the stream is not valid JSON.
func walkValue(dec *json.Decoder, t reflect.Type, path string) (*apiError, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	t = concrete(t)
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return walkObject(dec, t, path)
		}
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if e, err := walkValue(dec, elem, fmt.Sprintf("%s[%d]", path, i)); e != nil || err != nil {
				return e, err
			}
		}
		_, err := dec.Token() // ]
		return nil, err
	case string:
		if strings.IndexByte(v, 0) >= 0 {
			return hasNUL(path), nil
		}
		if t == numberType && !isJSONNumber(v) {
			return notANumber(path), nil
		}
	case bool:
		if t == numberType {
			return notANumber(path), nil
		}
	}
	return nil, nil
}

func walkObject(dec *json.Decoder, t reflect.Type, path string) (*apiError, error) {
	var (
		fields map[string]reflect.Type // a struct's JSON names, exact
		elem   reflect.Type            // a map's values
	)
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = make(map[string]reflect.Type)
			jsonFields(t, fields)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	seen := make(map[string]string) // folded key → the key as sent first
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		at := joinPath(path, key)
		if strings.IndexByte(key, 0) >= 0 {
			return hasNUL(at), nil
		}
		folded := foldKey(key)
		if first, dup := seen[folded]; dup {
			msg := fmt.Sprintf("%s appears more than once; send each key once", quoteKey(at))
			if first != key {
				msg = fmt.Sprintf("%s and %s are the same key in another case; send it once, as documented",
					quoteKey(joinPath(path, first)), quoteKey(at))
			}
			return &apiError{Status: http.StatusBadRequest, Code: "duplicate_key", Message: msg,
				Details: map[string]any{"field": at}}, nil
		}
		seen[folded] = key
		next := elem
		if fields != nil {
			ft, ok := fields[key]
			if !ok {
				for name := range fields {
					if foldKey(name) == folded {
						return &apiError{Status: http.StatusBadRequest, Code: "unknown_field",
							Message: fmt.Sprintf("unknown field %s; field names are case-sensitive: %s",
								quoteKey(at), quoteKey(joinPath(path, name))),
							Details: map[string]any{"field": at}}, nil
					}
				}
				return &apiError{Status: http.StatusBadRequest, Code: "unknown_field",
					Message: fmt.Sprintf("unknown field %s", quoteKey(at)), Details: map[string]any{"field": at}}, nil
			}
			next = ft
		}
		if e, err := walkValue(dec, next, at); e != nil || err != nil {
			return e, err
		}
	}
	_, err := dec.Token() // }
	return nil, err
}

// concrete strips pointers and returns nil for types that decode
// themselves (time.Time, json.RawMessage) or take anything (any): their
// keys are still checked for duplicates, but not against fields.
func concrete(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	return t
}

// jsonFields adds t's JSON field names and types to dst, as encoding/json
// sees them: the json tag's name, else the Go name; untagged embedded
// structs contribute their fields.
func jsonFields(t reflect.Type, dst map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && tag == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			if ft := concrete(f.Type); ft != nil && ft.Kind() == reflect.Struct {
				jsonFields(ft, dst)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		dst[name] = f.Type
	}
}

// foldKey maps s to one spelling per equivalence class of strings.EqualFold
// (the matching encoding/json uses): each rune becomes the smallest rune
// of its Unicode simple-folding orbit.
func foldKey(s string) string {
	ascii := true
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToUpper(s) // an upper-case ASCII letter is the least rune of its orbit
	}
	var b strings.Builder
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// quoteKey quotes a client's key for a message, cut to a readable length.
func quoteKey(k string) string {
	const maxLen = 64
	if len(k) > maxLen {
		cut := maxLen
		for cut > 0 && !utf8.RuneStart(k[cut]) {
			cut--
		}
		k = k[:cut] + "…"
	}
	return fmt.Sprintf("%q", k)
}

// hasNUL refuses U+0000 anywhere in a body: no name or value needs it,
// and PostgreSQL refuses it in text, which made it a 500 wherever a
// field reached a query unchecked.
func hasNUL(field string) *apiError {
	if field == "" {
		return fieldError("", "the body must not contain the NUL character (\\u0000)")
	}
	return fieldError(field, quoteKey(field)+" must not contain the NUL character (\\u0000)")
}

func notANumber(field string) *apiError {
	return fieldError(field, field+" must be a JSON number")
}

// isJSONNumber reports whether s is a JSON number literal, the only
// string encoding/json accepts for a json.Number.
func isJSONNumber(s string) bool {
	return s != "" && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) && strings.TrimSpace(s) == s && json.Valid([]byte(s))
}
