package framework

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// The `jsonschema:"…"` keys the schema reflector understands, by the kind of field they
// apply to. The reflector skips anything else without a word, so a typo such as
// minLenght=3 or a value such as minimum=abc would switch a validation off; checkTags
// turns them into definition errors instead.
var (
	tagKeysAny = []string{"title", "description", "type", "anchor", "oneof_required", "anyof_required",
		"oneof_ref", "oneof_type", "anyof_ref", "anyof_type", "default", "example", "enum", "readOnly", "writeOnly"}
	tagKeysString = []string{"minLength", "maxLength", "pattern", "format"}
	tagKeysNumber = []string{"multipleOf", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
	tagKeysArray  = []string{"minItems", "maxItems", "uniqueItems", "format", "pattern"}
	tagWords      = []string{"required", "nullable", "-"}
)

// checkTags reports the first `jsonschema` struct tag of t (or of the types it contains)
// with an unknown key, a key that does not apply to its field's type, or a value that does
// not parse.
func checkTags(t reflect.Type) error {
	return checkTagsIn(t, map[reflect.Type]bool{})
}

func checkTagsIn(t reflect.Type, seen map[reflect.Type]bool) error {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return nil
	}
	seen[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, ok := f.Tag.Lookup("jsonschema"); ok {
			if err := checkFieldTag(f.Type, tag); err != nil {
				return fmt.Errorf("%v.%s: tag jsonschema:%q: %w", t, f.Name, tag, err)
			}
		}
		if err := checkTagsIn(f.Type, seen); err != nil {
			return err
		}
	}
	return nil
}

// checkFieldTag checks one field's tag against the keys that apply to its type ft.
func checkFieldTag(ft reflect.Type, tag string) error {
	for ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	keys := tagKeysAny
	var kind string
	switch {
	case ft.Kind() == reflect.String || ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Uint8:
		keys, kind = slices.Concat(keys, tagKeysString), "string"
	case ft.Kind() >= reflect.Int && ft.Kind() <= reflect.Float64:
		keys, kind = slices.Concat(keys, tagKeysNumber), "number"
	case ft.Kind() == reflect.Slice || ft.Kind() == reflect.Array:
		keys, kind = slices.Concat(keys, tagKeysArray), "array"
	}
	for _, item := range splitTag(tag) {
		name, val, hasVal := strings.Cut(item, "=")
		if !hasVal {
			if !slices.Contains(tagWords, name) {
				return fmt.Errorf("%q is not a keyword: use key=value (e.g. minLength=1) or one of %s", name, strings.Join(tagWords, ", "))
			}
			continue
		}
		if !slices.Contains(keys, name) {
			if slices.Contains(tagKeysString, name) || slices.Contains(tagKeysNumber, name) || slices.Contains(tagKeysArray, name) {
				return fmt.Errorf("%s does not apply to a %v field: it would be ignored", name, ft)
			}
			return fmt.Errorf("unknown key %q: the keys for a %v field are %s", name, ft, strings.Join(keys, ", "))
		}
		switch {
		case name == "minLength" || name == "maxLength" || name == "minItems" || name == "maxItems":
			if _, err := strconv.ParseUint(val, 10, 64); err != nil {
				return fmt.Errorf("%s=%s: want a whole number of 0 or more, e.g. %s=1", name, val, name)
			}
		case slices.Contains(tagKeysNumber, name):
			if _, err := strconv.ParseFloat(val, 64); err != nil {
				return fmt.Errorf("%s=%s: want a number, e.g. %s=1", name, val, name)
			}
		case name == "uniqueItems" || name == "readOnly" || name == "writeOnly":
			if _, err := strconv.ParseBool(val); err != nil {
				return fmt.Errorf("%s=%s: want true or false", name, val)
			}
		case kind == "number" && (name == "enum" || name == "default" || name == "example"):
			if _, err := strconv.ParseFloat(val, 64); err != nil {
				return fmt.Errorf("%s=%s: want a number for a %v field", name, val, ft)
			}
		}
	}
	return nil
}

// splitTag splits a jsonschema tag on commas that are not escaped with a backslash, as
// the reflector does.
func splitTag(tag string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(tag); i++ {
		switch {
		case tag[i] == '\\' && i+1 < len(tag) && tag[i+1] == ',':
			cur.WriteByte(',')
			i++
		case tag[i] == ',':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(tag[i])
		}
	}
	if cur.Len() > 0 || len(out) > 0 {
		out = append(out, cur.String())
	}
	return out
}
