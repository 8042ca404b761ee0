package jsonx

import (
	"encoding/json"
	"reflect"
	"testing"
)

type sample struct {
	Text  string            `json:"text"`
	N     int               `json:"n,omitempty"`
	F     float64           `json:"f"`
	Tags  []string          `json:"tags"`
	Attrs map[string]string `json:"attrs,omitempty"`
	Next  *sample           `json:"next,omitempty"`
	Raw   json.RawMessage   `json:"raw,omitempty"`
}

func TestRoundTripMatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		v    sample
	}{
		{"zero", sample{}},
		{"html and unicode", sample{Text: "<a href=\"x\">&</a> \u2028 é 😀", Tags: []string{"b", "a"}}},
		{"nested and map", sample{Text: "x", N: -3, F: 1.5e-9, Attrs: map[string]string{"z": "1", "a": "2"}, Next: &sample{Text: "y"}}},
		{"raw", sample{Raw: json.RawMessage(`{"k":[1,2,{"x":null}]}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(tt.v)
			if string(got) != string(want) {
				t.Fatalf("Marshal = %s, encoding/json writes %s", got, want)
			}
			var back sample
			if err := Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			var wantBack sample
			_ = json.Unmarshal(want, &wantBack)
			if !reflect.DeepEqual(back, wantBack) {
				t.Fatalf("Unmarshal = %+v, encoding/json gives %+v", back, wantBack)
			}
		})
	}
}

func TestUnmarshalErrorsAreEncodingJSONs(t *testing.T) {
	tests := []struct {
		name, in string
		want     any // a pointer to the error type encoding/json returns
	}{
		{"syntax", `{"text":`, new(*json.SyntaxError)},
		{"trailing garbage", `{"text":"a"} x`, new(*json.SyntaxError)},
		{"wrong type", `{"text":5}`, new(*json.UnmarshalTypeError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s sample
			err := Unmarshal([]byte(tt.in), &s)
			if err == nil {
				t.Fatalf("Unmarshal(%s) = nil, want an error", tt.in)
			}
			if reflect.TypeOf(err) != reflect.TypeOf(tt.want).Elem() {
				t.Fatalf("Unmarshal(%s) error %T (%v), want %v", tt.in, err, err, reflect.TypeOf(tt.want).Elem())
			}
			if want := json.Unmarshal([]byte(tt.in), new(sample)); err.Error() != want.Error() {
				t.Fatalf("error %q, encoding/json says %q", err, want)
			}
		})
	}
}

// FuzzAgree checks that Unmarshal accepts exactly what encoding/json accepts and
// decodes it to the same value, for generic values and for a struct.
func FuzzAgree(f *testing.F) {
	for _, s := range []string{`{"text":"a","tags":["x"],"n":1}`, `null`, `[1,2.5,"x",true,null,{}]`, `"\ud800"`,
		`{"text":"\u00e9\n"}`, `{"TEXT":"case"}`, `{"n":1e400}`, `{"a":1,"a":2}`, "\"\xff\"", `{"f":-0}`, ` {} `, `{"next":{"next":{}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if Valid(data) != json.Valid(data) {
			t.Fatalf("Valid(%q) = %v, encoding/json %v", data, Valid(data), json.Valid(data))
		}
		var ours, theirs any
		errOurs, errTheirs := Unmarshal(data, &ours), json.Unmarshal(data, &theirs)
		if (errOurs == nil) != (errTheirs == nil) {
			t.Fatalf("any: Unmarshal(%q) err %v, encoding/json %v", data, errOurs, errTheirs)
		}
		if errOurs == nil && !reflect.DeepEqual(ours, theirs) {
			t.Fatalf("any: Unmarshal(%q) = %#v, encoding/json %#v", data, ours, theirs)
		}
		var so, st sample
		errOurs, errTheirs = Unmarshal(data, &so), json.Unmarshal(data, &st)
		if (errOurs == nil) != (errTheirs == nil) {
			t.Fatalf("struct: Unmarshal(%q) err %v, encoding/json %v", data, errOurs, errTheirs)
		}
		if errOurs == nil && !reflect.DeepEqual(so, st) {
			t.Fatalf("struct: Unmarshal(%q) = %#v, encoding/json %#v", data, so, st)
		}
		if errOurs == nil {
			mo, err1 := Marshal(so)
			mt, err2 := json.Marshal(st)
			if (err1 == nil) != (err2 == nil) || string(mo) != string(mt) {
				t.Fatalf("Marshal(%#v) = %s, %v; encoding/json %s, %v", so, mo, err1, mt, err2)
			}
		}
	})
}
