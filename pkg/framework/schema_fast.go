package framework

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/buger/jsonparser"
)

// fastCheck answers the common validation case without the general validator: a Go
// struct whose properties are strings, booleans or integers, constrained at most by
// lengths, integer bounds and string enums — the schema of most command inputs.
//
// It is a pre-check, never the authority: it only ever says "valid" for a value the
// compiled schema accepts too (FuzzFastCheck compares the two); on "not sure" or
// "invalid" the caller runs the full validator, whose issues are what users see. A
// fastCheck is immutable and safe for concurrent use.
type fastCheck struct {
	fields   map[string]*fastField // by JSON name
	byIndex  []*fastField          // the constrained ones
	required uint64                // bits of the required fields
}

// fastField is one property of a fastCheck.
type fastField struct {
	index     int                  // struct field index
	bit       uint64               // 1 << position
	want      jsonparser.ValueType // the JSON type its schema demands
	kind      reflect.Kind
	omitEmpty bool
	minLen    int // -1: none
	maxLen    int // -1: none
	min, max  *int64
	enum      map[string]bool
}

// errNotSure stops the key scan: the fast path cannot decide.
var errNotSure = errors.New("not sure")

// newFastCheck returns the fast check for Go type t whose schema document is doc, or nil
// when the schema or type is outside what the fast path handles.
func newFastCheck(t reflect.Type, doc []byte) *fastCheck {
	if t.Kind() != reflect.Struct {
		return nil
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(doc, &top) != nil {
		return nil
	}
	var props map[string]json.RawMessage
	var required []string
	for k, v := range top {
		switch k {
		case "type":
			if string(v) != `"object"` {
				return nil
			}
		case "properties":
			if json.Unmarshal(v, &props) != nil {
				return nil
			}
		case "required":
			if json.Unmarshal(v, &required) != nil {
				return nil
			}
		case "additionalProperties":
			if string(v) != "true" {
				return nil
			}
		case "title", "description":
		default:
			return nil
		}
	}
	names, ok := jsonFieldNames(t)
	if !ok || len(names) != len(props) || len(names) > 64 {
		return nil
	}
	fc := &fastCheck{fields: make(map[string]*fastField, len(names))}
	for name, idx := range names {
		raw, ok := props[name]
		if !ok {
			return nil
		}
		sf := t.Field(idx)
		f := newFastField(sf.Type.Kind(), raw)
		if f == nil {
			return nil
		}
		f.index, f.bit = idx, 1<<len(fc.fields)
		_, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		f.omitEmpty = hasTagOption(opts, "omitempty") || hasTagOption(opts, "omitzero")
		fc.fields[name] = f
		if f.minLen >= 0 || f.maxLen >= 0 || f.min != nil || f.max != nil || f.enum != nil {
			fc.byIndex = append(fc.byIndex, f)
		}
	}
	for _, r := range required {
		f, ok := fc.fields[r]
		if !ok {
			return nil
		}
		fc.required |= f.bit
	}
	return fc
}

// jsonFieldNames maps the JSON names of t's fields to their indexes, as encoding/json
// names them; ok is false for what the fast path leaves alone (embedded structs, the
// ",string" option, unexported fields with tags, duplicate names).
func jsonFieldNames(t reflect.Type) (map[string]int, bool) {
	names := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return nil, false
		}
		tag, hasTag := f.Tag.Lookup("json")
		if !f.IsExported() {
			if hasTag {
				return nil, false
			}
			continue
		}
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if hasTagOption(opts, "string") {
			return nil, false
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := names[name]; dup {
			return nil, false
		}
		names[name] = i
	}
	return names, true
}

func hasTagOption(opts, name string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == name {
			return true
		}
	}
	return false
}

// newFastField reads the property schema raw of a field of kind k, or returns nil when
// it uses a keyword or type the fast path does not handle.
func newFastField(k reflect.Kind, raw json.RawMessage) *fastField {
	var kw map[string]json.RawMessage
	if json.Unmarshal(raw, &kw) != nil {
		return nil
	}
	f := &fastField{kind: k, minLen: -1, maxLen: -1}
	var typ string
	if json.Unmarshal(kw["type"], &typ) != nil {
		return nil
	}
	switch {
	case k == reflect.String && typ == "string":
		f.want = jsonparser.String
	case k == reflect.Bool && typ == "boolean":
		f.want = jsonparser.Boolean
	case typ == "integer" && (reflect.Int <= k && k <= reflect.Int64 || reflect.Uint <= k && k <= reflect.Uint64):
		f.want = jsonparser.Number
	default:
		return nil
	}
	for name, v := range kw {
		var ok bool
		switch name {
		case "type", "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly":
			ok = true
		case "minLength", "maxLength":
			n, err := strconv.Atoi(string(v))
			ok = err == nil && n >= 0 && f.want == jsonparser.String
			if name == "minLength" {
				f.minLen = n
			} else {
				f.maxLen = n
			}
		case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
			n, err := strconv.ParseInt(string(v), 10, 64)
			ok = err == nil && f.want == jsonparser.Number && n > -1<<62 && n < 1<<62
			switch name {
			case "minimum":
				f.min = &n
			case "exclusiveMinimum":
				n++
				f.min = &n
			case "maximum":
				f.max = &n
			default:
				n--
				f.max = &n
			}
		case "enum":
			var vals []string
			ok = f.want == jsonparser.String && json.Unmarshal(v, &vals) == nil
			f.enum = map[string]bool{}
			for _, s := range vals {
				f.enum[s] = true
			}
		}
		if !ok {
			return nil
		}
	}
	return f
}

// input reports whether raw, whose decoding into the checked type is v, is valid: every
// required property is present, no known property is null or of another JSON type, and
// the present ones meet their constraints. false means "not sure", not "invalid".
func (fc *fastCheck) input(raw []byte, v reflect.Value) bool {
	var present uint64
	// ObjectEach hands over keys unescaped, as the decoders see them.
	err := jsonparser.ObjectEach(raw, func(key, _ []byte, dt jsonparser.ValueType, _ int) error {
		f, ok := fc.fields[string(key)]
		if !ok {
			return nil // additional properties are allowed
		}
		if dt != f.want {
			return errNotSure
		}
		present |= f.bit
		return nil
	})
	if err != nil || present&fc.required != fc.required {
		return false
	}
	for _, f := range fc.byIndex {
		if present&f.bit != 0 && !f.meets(v.Field(f.index)) {
			return false
		}
	}
	return true
}

// output reports whether v, a value of the checked type, encodes to valid JSON: Go's
// encoding writes every required (non-omitempty) field with its schema's type, so only
// the constraints of the fields it writes remain to check.
func (fc *fastCheck) output(v reflect.Value) bool {
	for _, f := range fc.byIndex {
		fv := v.Field(f.index)
		if f.omitEmpty && fv.IsZero() {
			continue // not written, so not constrained
		}
		if !f.meets(fv) {
			return false
		}
	}
	return true
}

// meets reports whether the field value v meets f's constraints.
func (f *fastField) meets(v reflect.Value) bool {
	switch f.want {
	case jsonparser.String:
		s := v.String()
		if f.minLen >= 0 || f.maxLen >= 0 {
			n := utf8.RuneCountInString(s)
			if n < f.minLen || f.maxLen >= 0 && n > f.maxLen {
				return false
			}
		}
		return f.enum == nil || f.enum[s]
	case jsonparser.Number:
		if f.kind >= reflect.Uint && f.kind <= reflect.Uint64 {
			u := v.Uint()
			if f.min != nil && (*f.min > 0 && u < uint64(*f.min)) {
				return false
			}
			return f.max == nil || (*f.max >= 0 && u <= uint64(*f.max))
		}
		n := v.Int()
		return (f.min == nil || n >= *f.min) && (f.max == nil || n <= *f.max)
	}
	return true
}
