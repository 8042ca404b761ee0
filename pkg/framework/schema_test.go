package framework

import (
	"encoding/json"
	"testing"
)

type schemaItem struct {
	Label string `json:"label" jsonschema:"minLength=1"`
}

type schemaOut struct {
	Name  string            `json:"name" jsonschema:"minLength=1"`
	Tags  []string          `json:"tags"`
	Items []schemaItem      `json:"items,omitempty"`
	Meta  map[string]string `json:"meta"`
	Ptr   *schemaItem       `json:"ptr"`
	Age   int               `json:"age,omitempty" jsonschema:"minimum=0"`
}

func TestSchemaValidate(t *testing.T) {
	s, err := SchemaFor[schemaOut]()
	if err != nil {
		t.Fatal(err)
	}
	if !s.Constrained() {
		t.Fatal("minLength makes the schema constrained")
	}
	encode := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	tests := []struct {
		name       string
		in         json.RawMessage
		wantFields []string
	}{
		{"nil slices, maps and pointers encode as null and pass", encode(schemaOut{Name: "x"}), nil},
		{"filled value passes", encode(schemaOut{Name: "x", Tags: []string{"a"}, Items: []schemaItem{{Label: "l"}}, Ptr: &schemaItem{Label: "p"}}), nil},
		{"nested constraint still checked", encode(schemaOut{Name: "x", Items: []schemaItem{{}}}), []string{"/items/0/label"}},
		{"constraint inside a nullable pointer still checked", encode(schemaOut{Name: "x", Ptr: &schemaItem{}}), []string{"/ptr/label"}},
		{"missing required field", json.RawMessage(`{"tags":null,"meta":null,"ptr":null}`), []string{"/name"}}, // at the missing property, not at its object
		{"wrong type", json.RawMessage(`{"name":1,"tags":null,"meta":null,"ptr":null}`), []string{"/name"}},
		{"malformed JSON", json.RawMessage(`{"name":`), []string{""}},
		{"range constraint", json.RawMessage(`{"name":"x","tags":null,"meta":null,"ptr":null,"age":-1}`), []string{"/age"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issues := s.Validate(tt.in)
			if len(issues) != len(tt.wantFields) {
				t.Fatalf("issues %+v, want fields %v", issues, tt.wantFields)
			}
			for i, f := range tt.wantFields {
				if issues[i].Field != f || issues[i].Message == "" {
					t.Fatalf("issue %d = %+v, want field %q", i, issues[i], f)
				}
			}
		})
	}
}

func TestSchemaUnconstrained(t *testing.T) {
	type plain struct {
		A string   `json:"a"`
		B []string `json:"b"`
	}
	s, err := SchemaFor[plain]()
	if err != nil {
		t.Fatal(err)
	}
	if s.Constrained() {
		t.Fatalf("schema %s has no constraint beyond its Go type", s.JSON())
	}
}
