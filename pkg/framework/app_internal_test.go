package framework

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func TestOpenEventsRejects(t *testing.T) {
	tests := []struct{ dest, want string }{
		{"fd:987", "is not open in this process"},
		{"fd:zero", "use fd:N"},
		{"fd:0", "use fd:N"},
		{t.TempDir() + "/missing/dir/events.jsonl", "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.dest, func(t *testing.T) {
			w, closeFn, err := openEvents(tt.dest)
			if err == nil {
				closeFn()
				t.Fatalf("openEvents(%q) = %v, nil; want an error", tt.dest, w)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("openEvents(%q) error %q, want it to say %q", tt.dest, err, tt.want)
			}
		})
	}
}

func TestQueryParameter(t *testing.T) {
	schema := json.RawMessage(`{"properties":{"page":{"type":"integer"},"ratio":{"type":"number"},"all":{"type":"boolean"},
		"tags":{"anyOf":[{"type":"array"},{"type":"null"}]},"q":{"type":"string"}},"type":"object"}`)
	tests := []struct {
		query, want string
	}{
		{"page=2&q=tea", `{"page":2,"q":"tea"}`},
		{"ratio=-0.5&all=true", `{"all":true,"ratio":-0.5}`},
		{"tags=a&tags=b", `{"tags":["a","b"]}`},
		{"page=two&all=maybe", `{"all":"maybe","page":"two"}`}, // left to validation to report
		{"page=01", `{"page":"01"}`},
		{"other=1", `{"other":"1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(queryParameter(q, parameterTypes(schema))); got != tt.want {
				t.Fatalf("queryParameter(%s) = %s, want %s", tt.query, got, tt.want)
			}
		})
	}
	if got := string(queryParameter(url.Values{"page": {"2"}}, parameterTypes(nil))); got != `{"page":"2"}` {
		t.Fatalf("without a schema: %s, want strings", got)
	}
}
