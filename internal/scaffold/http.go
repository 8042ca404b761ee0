package scaffold

import (
	"errors"
	"strconv"
	"strings"

	"github.com/purista-go/purista/pkg/framework"
)

// EndpointData is the HTTP endpoint a scaffolded command declares with framework.WithHTTP.
type EndpointData struct {
	// Method is the upper-case HTTP method ("POST").
	Method string
	// Path is the endpoint path ("/orders/{id}").
	Path string
	// Public serves the endpoint to anonymous callers.
	Public bool
	// Params are the path parameters, in path order; the contract declares a parameter
	// type with one string field each (WithParameter).
	Params []PathParam
	// Bodyless is true for GET and DELETE, whose command input must accept {}.
	Bodyless bool
}

// PathParam is one {name} segment of an endpoint path.
type PathParam struct {
	// Name is the segment's name, the field's JSON name ("orderId").
	Name string
	// Field is the Go field name ("OrderID").
	Field string
}

// ParseEndpoint reads the value of `purista add command --http` for command name of
// service: "METHOD:/path", "/path" (method POST) or "METHOD" (path
// "/<service>/<command>", both lower-case with '-' between words). The method is one
// of GET, POST, PUT, PATCH and DELETE (any case); the path follows the framework's rules
// (docs/http.md): it starts with '/', has no empty, "." or ".." segments, and holds
// whole-segment parameters such as {id}, which become string fields of the command's
// parameter type. Errors wrap ErrInvalidInput and show an accepted value.
func ParseEndpoint(spec, service, name string, public bool) (EndpointData, error) {
	method, p := "POST", strings.TrimSpace(spec)
	switch {
	case strings.HasPrefix(p, "/"):
	case strings.Contains(p, ":"):
		method, p, _ = strings.Cut(p, ":")
	case p != "":
		method, p = p, ""
	default:
		return EndpointData{}, invalid("--http needs a value: METHOD, /path or METHOD:/path, e.g. --http POST:/orders/{id}")
	}
	method = strings.ToUpper(strings.TrimSpace(method))
	if p == "" {
		p = "/" + strings.ToLower(service) + "/" + strings.ReplaceAll(snake(name), "_", "-")
	}
	e := EndpointData{Method: method, Path: p, Public: public, Bodyless: method == "GET" || method == "DELETE"}
	switch method {
	case "GET", "POST", "PUT", "PATCH", "DELETE":
	default:
		return EndpointData{}, invalid("--http method %q is not supported: use GET, POST, PUT, PATCH or DELETE, e.g. --http GET:/orders/{id}", method)
	}
	literal := make([]string, 0, strings.Count(p, "/"))
	fields := map[string]string{}
	for _, seg := range strings.Split(p, "/") {
		param, ok := strings.CutPrefix(seg, "{")
		if param, ok2 := strings.CutSuffix(param, "}"); ok && ok2 {
			if !validParamName(param) {
				return EndpointData{}, invalid("--http path %q: parameter {%s} is not a name: use letters, digits, '_' and '-', starting with a letter, e.g. {id}", p, param)
			}
			f := fieldName(param)
			if other, dup := fields[f]; dup {
				return EndpointData{}, invalid("--http path %q: parameters {%s} and {%s} would both be the field %s: rename one, e.g. {%sId}", p, other, param, f, param)
			}
			fields[f] = param
			e.Params = append(e.Params, PathParam{Name: param, Field: f})
			seg = "p" // the framework checks the rest of the path; the field exists by construction
		}
		literal = append(literal, seg)
	}
	if err := checkEndpoint(e.Method, p, strings.Join(literal, "/")); err != nil {
		return EndpointData{}, invalid("--http %s:%s: %v; e.g. --http POST:/orders/{id}", e.Method, p, err)
	}
	return e, nil
}

// checkEndpoint lets the framework check method and probe (path with its parameter
// segments replaced by literals) as it checks them at start, and returns the reason
// alone, naming path.
func checkEndpoint(method, path, probe string) error {
	svc := framework.NewService("Check", "1", "endpoint check")
	ref := framework.Command[struct{}, struct{}]("Check", "1", "check", framework.WithHTTP(framework.Endpoint{Method: method, Path: probe, Public: true}))
	framework.Handle(svc, ref, func(*framework.Context, struct{}) (struct{}, error) { return struct{}{}, nil })
	_, err := framework.OpenAPIDocument([]*framework.Service{svc})
	if err == nil {
		return nil
	}
	msg := err.Error()
	if _, reason, ok := strings.Cut(msg, "endpoint "+method+" "+probe+": "); ok {
		msg = reason
	}
	return errors.New(strings.ReplaceAll(msg, strconv.Quote(probe), strconv.Quote(path)))
}

// validParamName reports whether s names a path parameter that is also a usable JSON
// name: a letter first, then letters, digits, '_' and '-'.
func validParamName(s string) bool {
	for i, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c == '_' || c == '-' || c >= '0' && c <= '9')) {
			return false
		}
	}
	return s != ""
}

// fieldName is the exported Go field name of path parameter s ("order-id" → "OrderID").
func fieldName(s string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' }) {
		if strings.EqualFold(part, "id") {
			b.WriteString("ID")
			continue
		}
		if strings.HasSuffix(part, "Id") {
			part = strings.TrimSuffix(part, "Id") + "ID"
		}
		b.WriteString(upperFirst(part))
	}
	return b.String()
}
