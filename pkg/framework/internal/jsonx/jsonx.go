// Package jsonx encodes and decodes the payloads of commands and events: with
// github.com/goccy/go-json, a faster drop-in for encoding/json on small documents, and
// with encoding/json as the reference. Whatever goccy rejects is
// tried again with encoding/json, so a caller sees encoding/json's result and error text;
// FuzzAgree checks that both accept the same inputs and decode them alike.
//
// The functions are safe for concurrent use and keep no state.
package jsonx

import (
	"encoding/json"
	"reflect"

	gojson "github.com/goccy/go-json"
)

// Marshal returns the JSON encoding of v, as json.Marshal would (HTML-safe escaping,
// sorted map keys).
func Marshal(v any) ([]byte, error) {
	if b, err := gojson.Marshal(v); err == nil {
		return b, nil
	}
	return json.Marshal(v)
}

// Unmarshal decodes data into v, a pointer to a zero value, as json.Unmarshal would. On
// an input goccy rejects, v is reset to its zero value and decoded again by
// encoding/json, whose result and error (a *json.SyntaxError, *json.UnmarshalTypeError,
// …) are returned.
func Unmarshal(data []byte, v any) error {
	if gojson.Unmarshal(data, v) == nil {
		return nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv.Elem().SetZero() // goccy may have decoded a part before it gave up
	}
	return json.Unmarshal(data, v)
}

// Valid reports whether data is one valid JSON value, as encoding/json's Valid does
// (goccy/go-json's grammar check, which allocates nothing; FuzzAgree checks that both
// agree).
func Valid(data []byte) bool { return gojson.Valid(data) }
