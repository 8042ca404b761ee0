package check

import (
	"encoding/json"
	"strings"

	"github.com/purista-go/purista/pkg/framework"
)

// smokeInput is the input of a command's smoke invocation: its declared example
// (framework.WithExample), or else a minimal value derived from its input schema.
func smokeInput(c framework.CommandInfo) json.RawMessage {
	if len(c.Example) > 0 && string(c.Example) != "null" {
		return c.Example
	}
	var schema map[string]any
	if json.Unmarshal(c.InputSchema, &schema) != nil {
		return json.RawMessage("{}")
	}
	b, err := json.Marshal(fromSchema(schema, schema, 0))
	if err != nil {
		return json.RawMessage("{}")
	}
	return b
}

// fromSchema builds a value that satisfies the common keywords of a JSON Schema: type,
// required properties, enum/const, format (email, uri, date-time, uuid), minLength,
// minimum, minItems and local $ref.
func fromSchema(s, root map[string]any, depth int) any {
	if depth > 10 || s == nil {
		return nil
	}
	if ref, ok := s["$ref"].(string); ok {
		name := ref[strings.LastIndex(ref, "/")+1:]
		for _, k := range []string{"$defs", "definitions"} {
			if defs, ok := root[k].(map[string]any); ok {
				if d, ok := defs[name].(map[string]any); ok {
					return fromSchema(d, root, depth+1)
				}
			}
		}
		return map[string]any{}
	}
	if v, ok := s["const"]; ok {
		return v
	}
	if e, ok := s["enum"].([]any); ok && len(e) > 0 {
		return e[0]
	}
	typ, _ := s["type"].(string)
	if ts, ok := s["type"].([]any); ok && len(ts) > 0 {
		typ, _ = ts[0].(string)
	}
	num := func(k string) float64 { f, _ := s[k].(float64); return f }
	switch typ {
	case "string":
		switch s["format"] {
		case "email":
			return "check@example.com"
		case "uri", "url":
			return "https://example.com/"
		case "date-time":
			return "2026-01-01T00:00:00Z"
		case "date":
			return "2026-01-01"
		case "uuid":
			return "00000000-0000-4000-8000-000000000000"
		}
		v := "check"
		for n := int(num("minLength")); len(v) < n; {
			v += "x"
		}
		return v
	case "integer", "number":
		if m, ok := s["minimum"].(float64); ok {
			return m
		}
		return 1
	case "boolean":
		return true
	case "array":
		items, _ := s["items"].(map[string]any)
		out := []any{}
		for range int(num("minItems")) {
			out = append(out, fromSchema(items, root, depth+1))
		}
		return out
	case "null":
		return nil
	}
	obj := map[string]any{}
	props, _ := s["properties"].(map[string]any)
	req, _ := s["required"].([]any)
	for _, r := range req {
		name, _ := r.(string)
		p, _ := props[name].(map[string]any)
		obj[name] = fromSchema(p, root, depth+1)
	}
	return obj
}
