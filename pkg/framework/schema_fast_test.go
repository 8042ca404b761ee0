package framework

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/purista-go/purista/pkg/framework/internal/jsonx"
)

// Types the fast path handles.
type fastIn struct {
	Name  string `json:"name" jsonschema:"minLength=2,maxLength=5"`
	Kind  string `json:"kind,omitempty" jsonschema:"enum=a,enum=b"`
	Count int    `json:"count" jsonschema:"minimum=-3,maximum=10"`
	Exact int8   `json:"exact,omitempty" jsonschema:"exclusiveMinimum=0,exclusiveMaximum=5"`
	Size  uint   `json:"size,omitempty" jsonschema:"maximum=7"`
	Flag  bool   `json:"flag"`
	Note  string `json:"note,omitempty"`
}

type fastPlain struct {
	A string `json:"a"`
	B int64  `json:"b,omitempty"`
}

// Types it leaves to the validator.
type (
	slowNested struct {
		Inner fastPlain `json:"inner"`
	}
	slowFloat struct {
		F float64 `json:"f" jsonschema:"minimum=1"`
	}
	slowPattern struct {
		S string `json:"s" jsonschema:"pattern=^a+$"`
	}
	slowEmbedded struct {
		fastPlain
		C string `json:"c"`
	}
	slowSlice struct {
		L []string `json:"l"`
	}
)

func fastOf[T any](t testing.TB) (*Schema, *fastCheck) {
	t.Helper()
	s, err := SchemaFor[T]()
	if err != nil {
		t.Fatal(err)
	}
	return s, s.fast
}

func TestFastCheckCoverage(t *testing.T) {
	tests := []struct {
		name string
		fast func(testing.TB) *fastCheck
		want bool
	}{
		{"constrained scalars", func(t testing.TB) *fastCheck { _, f := fastOf[fastIn](t); return f }, true},
		{"plain scalars", func(t testing.TB) *fastCheck { _, f := fastOf[fastPlain](t); return f }, true},
		{"nested struct", func(t testing.TB) *fastCheck { _, f := fastOf[slowNested](t); return f }, false},
		{"float bound", func(t testing.TB) *fastCheck { _, f := fastOf[slowFloat](t); return f }, false},
		{"pattern", func(t testing.TB) *fastCheck { _, f := fastOf[slowPattern](t); return f }, false},
		{"embedded", func(t testing.TB) *fastCheck { _, f := fastOf[slowEmbedded](t); return f }, false},
		{"slice", func(t testing.TB) *fastCheck { _, f := fastOf[slowSlice](t); return f }, false},
		{"not a struct", func(t testing.TB) *fastCheck { _, f := fastOf[string](t); return f }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fast(t) != nil; got != tt.want {
				t.Fatalf("fast path available = %v, want %v", got, tt.want)
			}
		})
	}
}

// fastAccepts runs the fast input check as decodeInput does.
func fastAccepts[T any](fc *fastCheck, raw []byte) (T, bool) {
	var v T
	if jsonx.Unmarshal(raw, &v) != nil {
		return v, false
	}
	return v, fc.input(raw, reflect.ValueOf(&v).Elem())
}

func TestFastCheckInput(t *testing.T) {
	s, fc := fastOf[fastIn](t)
	tests := []struct {
		name, in string
		fast     bool // the fast path decides "valid"
		valid    bool // the validator's verdict
	}{
		{"valid", `{"name":"bob","count":3,"flag":true}`, true, true},
		{"all fields", `{"name":"éé","kind":"b","count":-3,"exact":4,"size":7,"flag":false,"note":"x","extra":[1]}`, true, true},
		{"too short (runes, not bytes)", `{"name":"é","count":0,"flag":true}`, false, false},
		{"too long", `{"name":"abcdef","count":0,"flag":true}`, false, false},
		{"missing required", `{"name":"bob","flag":true}`, false, false},
		{"null required", `{"name":null,"count":1,"flag":true}`, false, false},
		{"wrong type", `{"name":"bob","count":"1","flag":true}`, false, false},
		{"below minimum", `{"name":"bob","count":-4,"flag":true}`, false, false},
		{"exclusive bound", `{"name":"bob","count":1,"exact":5,"flag":true}`, false, false},
		{"not in enum", `{"name":"bob","kind":"c","count":1,"flag":true}`, false, false},
		{"optional enum absent", `{"name":"bob","count":1,"flag":true}`, true, true},
		{"case-folded key", `{"NAME":"bob","count":1,"flag":true}`, false, false},
		{"escaped key", `{"n\u0061me":"bob","count":1,"flag":true}`, true, true},
		{"duplicate key, last wins", `{"name":"x","name":"bob","count":1,"flag":true}`, true, true},
		{"not an object", `[1]`, false, false},
		{"integer as float", `{"name":"bob","count":1.0,"flag":true}`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, fast := fastAccepts[fastIn](fc, []byte(tt.in))
			valid := s.Validate([]byte(tt.in)) == nil
			if fast != tt.fast || valid != tt.valid {
				t.Fatalf("fast %v, validator %v; want %v, %v", fast, valid, tt.fast, tt.valid)
			}
		})
	}
}

func TestFastCheckOutput(t *testing.T) {
	_, fc := fastOf[fastIn](t)
	tests := []struct {
		name string
		v    fastIn
		want bool
	}{
		{"valid", fastIn{Name: "bob", Count: 1}, true},
		{"omitted empty enum field", fastIn{Name: "bob", Kind: ""}, true},
		{"bad enum", fastIn{Name: "bob", Kind: "z"}, false},
		{"too long", fastIn{Name: "bobbybob"}, false},
		{"above maximum", fastIn{Name: "bob", Size: 8}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fc.output(reflect.ValueOf(tt.v)); got != tt.want {
				t.Fatalf("output(%+v) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}

// FuzzFastCheck checks the fast path's promise: whatever it accepts, the validator
// accepts, for inputs (raw JSON) and outputs (Go values).
func FuzzFastCheck(f *testing.F) {
	for _, s := range []string{`{"name":"bob","count":3,"flag":true}`, `{"name":"é","count":0,"flag":true}`,
		`{"name":"ab","kind":"a","count":10,"exact":1,"size":0,"flag":false}`, `{"NAME":"bob","count":1,"flag":true}`,
		`{"name":"bob","count":1e1,"flag":true}`, `{"name":"bob","count":-0,"flag":true,"x":null}`, `{}`, `null`, `"x"`} {
		f.Add([]byte(s), "ab", int64(1), uint64(2), "a")
	}
	s, fc := fastOf[fastIn](f)
	sp, fp := fastOf[fastPlain](f)
	f.Fuzz(func(t *testing.T, raw []byte, name string, n int64, u uint64, kind string) {
		if v, ok := fastAccepts[fastIn](fc, raw); ok {
			if issues := s.Validate(raw); issues != nil {
				t.Fatalf("fast path accepted %s (%+v); the validator says %v", raw, v, issues)
			}
		}
		if _, ok := fastAccepts[fastPlain](fp, raw); ok {
			if issues := sp.Validate(raw); issues != nil {
				t.Fatalf("fast path accepted %s as fastPlain; the validator says %v", raw, issues)
			}
		}
		out := fastIn{Name: name, Kind: kind, Count: int(n), Exact: int8(n), Size: uint(u), Note: kind}
		if fc.output(reflect.ValueOf(out)) {
			enc, err := json.Marshal(out)
			if err != nil {
				t.Fatal(err)
			}
			if issues := s.Validate(enc); issues != nil {
				t.Fatalf("fast path accepted output %s; the validator says %v", enc, issues)
			}
		}
	})
}
