package framework

import (
	"reflect"
	"strings"

	invopop "github.com/invopop/jsonschema"
)

// allowNulls makes the schema s of Go type t accept null wherever encoding/json writes
// null for a value of t: nil slices, maps, pointers and interfaces. Without it a struct
// with a nil slice would fail its own output schema. It walks struct fields (by their JSON
// names), slice items and map values.
func allowNulls(s *invopop.Schema, t reflect.Type) {
	allowNullsDepth(s, t, 0)
}

func allowNullsDepth(s *invopop.Schema, t reflect.Type, depth int) {
	if s == nil || depth > 32 { // recursive types: stop well before the reflector's limit
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if s.Properties == nil {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() && !f.Anonymous {
				continue
			}
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				allowNullsDepth(s, f.Type, depth+1) // embedded fields are flattened
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			prop, ok := s.Properties.Get(name)
			if !ok || prop == nil {
				continue
			}
			allowNullsDepth(prop, f.Type, depth+1)
			if nullable(f.Type) {
				s.Properties.Set(name, orNull(prop))
			}
		}
	case reflect.Slice, reflect.Array:
		allowNullsDepth(s.Items, t.Elem(), depth+1)
	case reflect.Map:
		allowNullsDepth(s.AdditionalProperties, t.Elem(), depth+1)
	}
}

// nullable reports whether encoding/json can write null for a value of t.
func nullable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface:
		return true
	}
	return false
}

// orNull returns a schema that accepts what s accepts, or null.
func orNull(s *invopop.Schema) *invopop.Schema {
	if s.Type == "" || s.Type == "null" {
		return s // untyped schemas already accept null
	}
	return &invopop.Schema{AnyOf: []*invopop.Schema{s, {Type: "null"}}, Description: s.Description}
}
