package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"slices"
	"strings"
)

// segment is one path segment of a route: a literal, or a parameter when param is set.
type segment struct {
	lit, param string
}

// paramInfo is one property of a command's parameter schema.
type paramInfo struct {
	typ      string // JSON type ("" when the schema names none)
	schema   json.RawMessage
	required bool
}

// Compile checks routes and fills their defaults (method POST, JSON content types,
// status 200, body limit defaultLimit) and returns them with the surface's own routes
// (GET /api, GET /openapi.json) first. It reports every invalid declaration and every
// pair of routes that would both answer a request, joined in one error.
func Compile(routes []*Route, defaultLimit int64) ([]*Route, error) {
	if defaultLimit <= 0 {
		defaultLimit = DefaultBodyLimit
	}
	out := []*Route{
		{Method: "GET", Path: IndexPath, builtin: indexRoute, segs: []segment{{lit: "api"}}},
		{Method: "GET", Path: OpenAPIPath, builtin: openAPIRoute, segs: []segment{{lit: "openapi.json"}}},
	}
	var errs []error
	for _, r := range routes {
		if err := r.compile(defaultLimit); err != nil {
			errs = append(errs, fmt.Errorf("%s: endpoint %s %s: %w", r.label(), r.Method, r.Path, err))
			continue
		}
		out = append(out, r)
	}
	for i, a := range out {
		for _, b := range out[:i] {
			if a.Method == b.Method && ambiguous(a.segs, b.segs) {
				errs = append(errs, conflictError(b, a))
			}
		}
	}
	return out, errors.Join(errs...)
}

func conflictError(a, b *Route) error {
	what := func(r *Route) string {
		if r.builtin != notBuiltin {
			return "the surface's own " + r.Path
		}
		return r.label() + " (" + r.Path + ")"
	}
	return fmt.Errorf("%s %s: both %s and %s answer it: give one of them another path", b.Method, b.Path, what(a), what(b))
}

// label names a route's command for errors.
func (r *Route) label() string {
	return fmt.Sprintf("command %s v%s %s", r.Service, r.Version, r.Command)
}

func (r *Route) compile(defaultLimit int64) error {
	if r.Method == "" {
		r.Method = "POST"
	}
	r.Method = strings.ToUpper(r.Method)
	if !slices.Contains(methods, r.Method) {
		return fmt.Errorf("method %q is not supported: use GET, POST, PUT, PATCH or DELETE", r.Method)
	}
	if err := r.compilePath(); err != nil {
		return err
	}
	if err := r.compileParams(); err != nil {
		return err
	}
	if hasBody(r.Method) {
		if len(r.Consumes) == 0 {
			r.Consumes = []string{"application/json"}
		}
	} else if len(r.Consumes) > 0 {
		return fmt.Errorf("%s takes no request body, so Consumes must be empty: take the values from path or query (WithParameter), or use POST", r.Method)
	} else if !r.EmptyInputOK {
		return fmt.Errorf("%s takes no request body, but the command's input has required fields: move them to the parameter (WithParameter) or use POST", r.Method)
	}
	if len(r.Produces) == 0 {
		r.Produces = []string{"application/json"}
	}
	for _, ct := range append(slices.Clone(r.Consumes), r.Produces...) {
		if !IsJSONMediaType(ct) {
			return fmt.Errorf("content type %q is not a JSON media type: commands read and write JSON, use application/json or application/<name>+json", ct)
		}
	}
	if r.Status == 0 {
		r.Status = 200
	}
	if r.Status < 200 || r.Status > 299 {
		return fmt.Errorf("success status %d is not a 2xx status: use e.g. 200, 201 or 204", r.Status)
	}
	if r.BodyLimit < 0 {
		return fmt.Errorf("body limit %d is negative: use 0 for the default or a byte count such as 1<<20", r.BodyLimit)
	}
	if r.BodyLimit == 0 {
		r.BodyLimit = defaultLimit
	}
	return nil
}

// IsJSONMediaType reports whether ct (without parameters) is application/json or an
// application/<name>+json type.
func IsJSONMediaType(ct string) bool {
	ct = strings.ToLower(ct)
	if ct == "application/json" {
		return true
	}
	sub, ok := strings.CutPrefix(ct, "application/")
	return ok && strings.HasSuffix(sub, "+json") && len(sub) > len("+json") && !strings.ContainsAny(sub, "/; \t")
}

func (r *Route) compilePath() error {
	p := r.Path
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("path %q does not start with '/': use e.g. \"/orders/{id}\"", p)
	}
	if p == "/" {
		r.segs = nil
		return nil
	}
	r.segs = nil
	for _, s := range strings.Split(p[1:], "/") {
		switch {
		case s == "":
			return fmt.Errorf("path %q has an empty segment or a trailing '/': remove it", p)
		case s == "." || s == "..":
			return fmt.Errorf("path %q has a %q segment: paths are served as written, use plain names", p, s)
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			name := s[1 : len(s)-1]
			if !isParamName(name) {
				return fmt.Errorf("path parameter %q is not a name: use letters, digits, '_' and '-', e.g. {id}", s)
			}
			if slices.Contains(r.pathParams, name) {
				return fmt.Errorf("path parameter {%s} appears twice", name)
			}
			r.pathParams = append(r.pathParams, name)
			r.segs = append(r.segs, segment{param: name})
		default:
			for _, c := range s {
				if !isLiteralChar(c) {
					return fmt.Errorf("path segment %q has %q: use letters, digits and - . _ ~ : @, and {name} for a whole-segment parameter", s, c)
				}
			}
			r.segs = append(r.segs, segment{lit: s})
		}
	}
	return nil
}

// isParamName reports whether s is a path parameter name: letters, '_', and after the
// first character also digits and '-'.
func isParamName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '-')) {
			return false
		}
	}
	return true
}

func isLiteralChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~:@", c)
}

// compileParams checks that path and query parameters are properties of the parameter
// schema and that every required property has a source.
func (r *Route) compileParams() error {
	var err error
	if r.params, err = parameterProperties(r.Parameter); err != nil {
		return err
	}
	for _, n := range r.pathParams {
		if _, ok := r.params[n]; !ok {
			return fmt.Errorf("path parameter {%s} is not a property of the command's parameter: add a field with json name %q to the type given to WithParameter", n, n)
		}
	}
	seen := map[string]bool{}
	for _, q := range r.Query {
		if _, ok := r.params[q]; !ok {
			return fmt.Errorf("query parameter %q is not a property of the command's parameter: add a field with json name %q to the type given to WithParameter", q, q)
		}
		if slices.Contains(r.pathParams, q) || seen[q] {
			return fmt.Errorf("query parameter %q is declared twice (or also in the path)", q)
		}
		seen[q] = true
	}
	for name, p := range r.params {
		if p.required && !seen[name] && !slices.Contains(r.pathParams, name) {
			return fmt.Errorf("parameter %q is required but neither in the path nor in Query: add it to one of them, or make it optional (omitempty)", name)
		}
	}
	return nil
}

// parameterProperties reads the properties of a parameter schema; nil without one.
func parameterProperties(schema json.RawMessage) (map[string]paramInfo, error) {
	if len(schema) == 0 {
		return nil, nil
	}
	var doc struct {
		Type       string                     `json:"type"`
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
	}
	if err := json.Unmarshal(schema, &doc); err != nil || doc.Type != "object" && doc.Type != "" {
		return nil, fmt.Errorf("the command's parameter is not a struct: WithParameter needs a struct type whose fields are path and query parameters")
	}
	out := make(map[string]paramInfo, len(doc.Properties))
	for name, raw := range doc.Properties {
		out[name] = paramInfo{typ: jsonType(raw), schema: raw, required: slices.Contains(doc.Required, name)}
	}
	return out, nil
}

// jsonType returns the JSON type a property schema names (the non-null one of a
// nullable property), "" when it names none.
func jsonType(raw json.RawMessage) string {
	var p struct {
		Type  string `json:"type"`
		AnyOf []struct {
			Type string `json:"type"`
		} `json:"anyOf"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return ""
	}
	for _, a := range p.AnyOf {
		if p.Type == "" && a.Type != "null" {
			p.Type = a.Type
		}
	}
	return p.Type
}

// ambiguous reports whether some path matches both a and b and neither is more specific
// (a literal where the other has a parameter, and never the reverse).
func ambiguous(a, b []segment) bool {
	if len(a) != len(b) {
		return false
	}
	aMore, bMore := false, false
	for i := range a {
		switch {
		case a[i].param == "" && b[i].param == "":
			if a[i].lit != b[i].lit {
				return false
			}
		case a[i].param == "":
			aMore = true
		case b[i].param == "":
			bMore = true
		}
	}
	return aMore == bMore
}

// mediaType returns the lower-case media type of a Content-Type header value and whether
// its charset (if any) is UTF-8.
func mediaType(header string) (string, bool) {
	mt, params, err := mime.ParseMediaType(header)
	if err != nil {
		return "", false
	}
	cs, ok := params["charset"]
	return mt, !ok || strings.EqualFold(cs, "utf-8")
}
