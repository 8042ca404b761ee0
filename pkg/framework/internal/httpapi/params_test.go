package httpapi

import (
	"encoding/json"
	"net/url"
	"testing"
)

func TestRouteParameter(t *testing.T) {
	schema := json.RawMessage(`{"properties":{"id":{"type":"integer"},"page":{"type":"integer"},"ratio":{"type":"number"},"all":{"type":"boolean"},
		"tags":{"anyOf":[{"type":"array"},{"type":"null"}]},"q":{"type":"string"}},"type":"object"}`)
	rt := &Route{Service: "S", Version: "1", Command: "c", Method: "GET", Path: "/x/{id}", EmptyInputOK: true,
		Query: []string{"page", "ratio", "all", "tags", "q"}, Parameter: schema}
	if _, err := Compile([]*Route{rt}, 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id, query, want string
	}{
		{"7", "page=2&q=tea", `{"id":7,"page":2,"q":"tea"}`},
		{"7", "ratio=-0.5&all=true", `{"all":true,"id":7,"ratio":-0.5}`},
		{"7", "tags=a&tags=b", `{"id":7,"tags":["a","b"]}`},
		{"x", "page=two&all=maybe", `{"all":"maybe","id":"x","page":"two"}`}, // left to validation to report
		{"7", "page=01", `{"id":7,"page":"01"}`},
		{"7", "other=1", `{"id":7}`}, // undeclared query values are ignored
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, p := rt.parameter(map[string]string{"id": tt.id}, q)
			if p != nil || string(got) != tt.want {
				t.Fatalf("parameter(%s) = %s, %v; want %s", tt.query, got, p, tt.want)
			}
		})
	}
	noSchema := &Route{Service: "S", Version: "1", Command: "d", Path: "/y"}
	if _, err := Compile([]*Route{noSchema}, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := noSchema.parameter(nil, url.Values{"page": {"2"}}); string(got) != `{}` {
		t.Fatalf("without a schema: %s, want {}", got)
	}
}
