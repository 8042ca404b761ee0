package framework

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	invopop "github.com/invopop/jsonschema"

	"github.com/purista-go/purista/pkg/framework/internal/jsonx"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// Schema is a JSON Schema derived from a Go type, with a compiled validator.
// A Schema is immutable and safe for concurrent use.
type Schema struct {
	doc      json.RawMessage
	compiled *jsonschema.Schema
	// constrained is true when the schema says more than the Go type already guarantees
	// (lengths, patterns, formats, ranges, enums…), so values produced by Go code need
	// checking.
	constrained bool
	// fast, when not nil, decides the common cases without compiled (see fastCheck).
	fast *fastCheck
}

// Constrained reports whether the schema has constraints beyond the shape of its Go type.
// Values encoded from that Go type satisfy an unconstrained schema by construction.
func (s *Schema) Constrained() bool { return s.constrained }

// constraintKeywords are the JSON Schema keywords a Go type cannot guarantee.
var constraintKeywords = []string{`"minLength"`, `"maxLength"`, `"pattern"`, `"format"`, `"minimum"`,
	`"maximum"`, `"exclusiveMinimum"`, `"exclusiveMaximum"`, `"multipleOf"`, `"enum"`, `"const"`,
	`"minItems"`, `"maxItems"`, `"uniqueItems"`, `"minProperties"`, `"maxProperties"`, `"oneOf"`,
	`"allOf"`, `"not"`}

// anyOf is left out of constraintKeywords: allowNulls writes it for nullable fields, which
// the Go type guarantees.

// JSON returns the schema document.
func (s *Schema) JSON() json.RawMessage { return s.doc }

// SchemaFor derives the JSON Schema of T from its Go type and struct tags (json names,
// `omitempty` makes a field optional, `jsonschema:"…"` tags add constraints such as
// minLength=1 or format=email) and compiles a validator for it.
func SchemaFor[T any]() (*Schema, error) {
	return schemaForType(reflect.TypeFor[T]())
}

func schemaForType(t reflect.Type) (_ *Schema, err error) {
	if err := checkTags(t); err != nil {
		return nil, fmt.Errorf("%w: schema of %v: %w", ErrInvalidDefinition, t, err)
	}
	defer func() { // the reflector panics on types JSON cannot carry (chan, func, complex)
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: schema of %v: %v: use types that encode to JSON", ErrInvalidDefinition, t, p)
		}
	}()
	r := &invopop.Reflector{DoNotReference: true, ExpandedStruct: true, Anonymous: true, AllowAdditionalProperties: true}
	s := r.ReflectFromType(t)
	allowNulls(s, t)
	s.Version = ""
	s.ID = ""
	doc, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("%w: schema of %v: %w", ErrInvalidDefinition, t, err)
	}
	parsed, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("%w: schema of %v: %w", ErrInvalidDefinition, t, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const url = "mem://schema.json"
	if err := c.AddResource(url, parsed); err != nil {
		return nil, fmt.Errorf("%w: schema of %v: %w", ErrInvalidDefinition, t, err)
	}
	compiled, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("%w: schema of %v: %w", ErrInvalidDefinition, t, err)
	}
	constrained := false
	for _, k := range constraintKeywords {
		if bytes.Contains(doc, []byte(k)) {
			constrained = true
			break
		}
	}
	return &Schema{doc: doc, compiled: compiled, constrained: constrained, fast: newFastCheck(t, doc)}, nil
}

// Validate checks raw JSON against the schema. It returns nil or the list of issues.
// Malformed JSON is one issue for the whole value.
func (s *Schema) Validate(raw json.RawMessage) []ValidationIssue {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("null")
	}
	// float64 numbers (as encoding/json decodes them) are exact for every integer up to
	// 2^53, which is what validation needs; jsonschema.UnmarshalJSON's json.Decoder costs
	// several times as much as jsonx.
	var v any
	if err := jsonx.Unmarshal(raw, &v); err != nil {
		return []ValidationIssue{{Field: "", Message: "malformed JSON: " + err.Error()}}
	}
	err := s.compiled.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []ValidationIssue{{Message: err.Error()}}
	}
	var issues []ValidationIssue
	seen := map[ValidationIssue]bool{}
	var walk func(u *jsonschema.OutputUnit)
	walk = func(u *jsonschema.OutputUnit) {
		// The anyOf that allowNulls wraps around nullable fields reports its own failure and
		// its null branch's; the real cause is in the other branch.
		k := u.KeywordLocation
		nullWrap := strings.HasSuffix(k, "/anyOf") || strings.HasSuffix(k, "/anyOf/1/type")
		if u.Error != nil && len(u.Errors) == 0 && !nullWrap {
			for _, is := range issuesOf(u) {
				if !seen[is] {
					seen[is] = true
					issues = append(issues, is)
				}
			}
		}
		for i := range u.Errors {
			walk(&u.Errors[i])
		}
	}
	walk(ve.BasicOutput())
	if len(issues) == 0 {
		issues = append(issues, ValidationIssue{Message: ve.Error()})
	}
	sort.Slice(issues, func(i, j int) bool { return issues[i].Field < issues[j].Field })
	return issues
}

// issuesOf turns one failed output unit into issues. A missing required property is
// reported at the property's own location ("/name" is required), not at its object's.
func issuesOf(u *jsonschema.OutputUnit) []ValidationIssue {
	if req, ok := u.Error.Kind.(*kind.Required); ok && len(req.Missing) > 0 {
		out := make([]ValidationIssue, 0, len(req.Missing))
		for _, m := range req.Missing {
			field := u.InstanceLocation + "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(m)
			out = append(out, ValidationIssue{Field: field, Message: "is required"})
		}
		return out
	}
	return []ValidationIssue{{Field: u.InstanceLocation, Message: u.Error.String()}}
}
