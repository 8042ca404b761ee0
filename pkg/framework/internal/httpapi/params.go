package httpapi

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/purista-go/purista/pkg/framework/httpauth"
)

// parameter builds the command parameter of a request: the path values and the declared
// query values, each the JSON type its property has in the parameter schema (?page=2 is
// 2 for an integer page, true for a boolean, every value for an array), a string
// otherwise. Values that do not parse as that type stay strings, so that the command's
// validation reports them with their field. Undeclared query values are ignored.
func (r *Route) parameter(path map[string]string, q url.Values) (json.RawMessage, *Problem) {
	if r.params == nil {
		return json.RawMessage("{}"), nil
	}
	out := make(map[string]any, len(path)+len(r.Query))
	for name, v := range path {
		out[name] = typedValue(r.params[name].typ, []string{v})
	}
	for _, name := range r.Query {
		if vs, ok := q[name]; ok && len(vs) > 0 {
			out[name] = typedValue(r.params[name].typ, vs)
		}
	}
	raw, err := json.Marshal(out)
	if err != nil { // strings, bools, string slices and valid numbers always encode
		return nil, NewProblem(500, "")
	}
	return raw, nil
}

func typedValue(typ string, vs []string) any {
	v := vs[0]
	switch typ {
	case "integer", "number":
		if v != "" && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') && json.Valid([]byte(v)) {
			return json.RawMessage(v)
		}
	case "boolean":
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	case "array":
		return vs
	}
	return v
}

// challenge is the WWW-Authenticate value of 401 answers for auth: Bearer when it
// accepts bearer tokens (or does not say), else the first scheme it describes.
func challenge(auth httpauth.Authenticator) string {
	schemes := describe(auth)
	for _, s := range schemes {
		if s.Type == "http" && strings.EqualFold(s.Scheme, "bearer") {
			return "Bearer"
		}
	}
	for _, s := range schemes {
		switch {
		case s.Type == "http" && s.Scheme != "":
			return strings.ToUpper(s.Scheme[:1]) + s.Scheme[1:]
		case s.Type == "apiKey":
			return `APIKey header="` + s.ParamName + `"`
		}
	}
	return "Bearer"
}

// describe returns the security schemes of auth: what it describes, else the built-in
// bearer JWT and API key schemes.
func describe(auth httpauth.Authenticator) []httpauth.SecurityScheme {
	if d, ok := auth.(httpauth.Describer); ok {
		if s := d.SecuritySchemes(); len(s) > 0 {
			return s
		}
	}
	return []httpauth.SecurityScheme{httpauth.BearerJWTScheme(), httpauth.APIKeyScheme()}
}

// IndexEntry is one endpoint in the GET /api listing.
type IndexEntry struct {
	Service         string          `json:"service"`
	Version         string          `json:"version"`
	Name            string          `json:"name"`
	Description     string          `json:"description,omitempty"`
	Method          string          `json:"method"`
	Path            string          `json:"path"`
	Public          bool            `json:"public"`
	Deprecated      bool            `json:"deprecated,omitempty"`
	InputSchema     json.RawMessage `json:"inputSchema,omitempty"`
	ParameterSchema json.RawMessage `json:"parameterSchema,omitempty"`
	OutputSchema    json.RawMessage `json:"outputSchema,omitempty"`
}

// Index renders the GET /api listing of the command routes among routes.
func Index(routes []*Route) ([]byte, error) {
	entries := []IndexEntry{}
	for _, r := range routes {
		if r.builtin != notBuiltin {
			continue
		}
		entries = append(entries, IndexEntry{Service: r.Service, Version: r.Version, Name: r.Command,
			Description: r.Description, Method: r.Method, Path: r.Path, Public: r.Public, Deprecated: r.Deprecated,
			InputSchema: r.Input, ParameterSchema: r.Parameter, OutputSchema: r.Output})
	}
	return json.Marshal(entries)
}
