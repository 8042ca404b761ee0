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
	if before, query, ok := strings.Cut(p, "?"); ok {
		return EndpointData{}, invalid("--http path %q: a query string (?%s) does not belong in the path: give the path alone, e.g. --http %s:%s, and declare query parameters in the contract with Endpoint.Query (docs/http.md)", p, query, method, before)
	}
	if method == "GET" && (p == "/api" || p == "/openapi.json") {
		return EndpointData{}, invalid("--http %s:%s: the path is reserved: the HTTP surface itself answers GET /api (the endpoint list) and GET /openapi.json (the OpenAPI document); give command %s %s another path, e.g. --http GET:/%s/%s",
			method, p, service, name, strings.ToLower(service), strings.ReplaceAll(snake(name), "_", "-"))
	}
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
		}
	}
	if err := checkEndpoint(e.Method, p); err != nil {
		return EndpointData{}, invalid("--http %s:%s: %v; e.g. --http POST:/orders/{id}", e.Method, p, err)
	}
	return e, nil
}

// probeParams is the parameter type of the throwaway commands with which the framework
// checks endpoints: probePath renames the path parameters p0, p1, … in path order.
type probeParams struct {
	P0 string `json:"p0,omitempty"`
	P1 string `json:"p1,omitempty"`
	P2 string `json:"p2,omitempty"`
	P3 string `json:"p3,omitempty"`
	P4 string `json:"p4,omitempty"`
	P5 string `json:"p5,omitempty"`
	P6 string `json:"p6,omitempty"`
	P7 string `json:"p7,omitempty"`
}

// probeParamCount is the number of fields of probeParams.
const probeParamCount = 8

// probePath returns path with its {name} segments renamed {p0}, {p1}, … (parameters
// past probeParamCount become the literal "p"), so that a throwaway command with
// probeParams can declare it and keep its shape.
func probePath(path string) string {
	segs := strings.Split(path, "/")
	n := 0
	for i, seg := range segs {
		if len(seg) > 2 && strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			segs[i] = "p"
			if n < probeParamCount {
				segs[i] = "{p" + strconv.Itoa(n) + "}"
			}
			n++
		}
	}
	return strings.Join(segs, "/")
}

// probeDocument lets the framework check endpoints as it checks them at start: each is
// declared by a throwaway command with the endpoint's probePath.
func probeDocument(endpoints ...endpointDecl) error {
	check := framework.NewContract("Check", "1")
	svc := framework.NewService(check, "endpoint check")
	for i, e := range endpoints {
		ref := framework.Command[struct{}, struct{}](check, "check"+strconv.Itoa(i),
			framework.WithParameter[probeParams](),
			framework.WithHTTP(framework.Endpoint{Method: e.method, Path: probePath(e.path), Public: true}))
		framework.Handle(svc, ref, func(*framework.Context, struct{}) (struct{}, error) { return struct{}{}, nil })
	}
	_, err := framework.OpenAPIDocument([]*framework.Service{svc})
	return err
}

// checkEndpoint lets the framework check method and path as it checks them at start,
// and returns the reason alone, naming path.
func checkEndpoint(method, path string) error {
	err := probeDocument(endpointDecl{method: method, path: path})
	if err == nil {
		return nil
	}
	probe := probePath(path)
	msg := err.Error()
	if _, reason, ok := strings.Cut(msg, "endpoint "+method+" "+probe+": "); ok {
		msg = reason
	}
	return errors.New(strings.ReplaceAll(msg, strconv.Quote(probe), strconv.Quote(path)))
}

// serviceEndpoint is an endpoint a contract of the project declares.
type serviceEndpoint struct {
	service ServiceData
	endpointDecl
}

// endpoints lists the HTTP endpoints the contracts of the project declare, in
// purista.yaml's service order.
func (w *workspace) endpoints() ([]serviceEndpoint, error) {
	var out []serviceEndpoint
	err := w.scanContracts(func(sd ServiceData, info pkgInfo) {
		for _, e := range info.endpoints {
			out = append(out, serviceEndpoint{service: sd, endpointDecl: e})
		}
	})
	return out, err
}

// checkEndpointFree fails with ErrInvalidInput when an endpoint the project already
// declares would answer the requests of e, the endpoint of command name of service sd:
// the framework would refuse the pair at start. Declarations it cannot check on their
// own (invalid ones) are left to the framework.
func (w *workspace) checkEndpointFree(sd ServiceData, name string, e EndpointData) error {
	declared, err := w.endpoints()
	if err != nil {
		return err
	}
	mine := endpointDecl{method: e.Method, path: e.Path}
	for _, d := range declared {
		if d.method != e.Method || probeDocument(d.endpointDecl) != nil || probeDocument(d.endpointDecl, mine) == nil {
			continue
		}
		return invalid("--http %s %s: command %s %s is already served at %s %s, and both would answer the same requests; give command %s %s another path, e.g. --http %s:%s/%s",
			e.Method, e.Path, d.service.Name, d.command, d.method, d.path, sd.Name, name,
			e.Method, strings.TrimSuffix(literalPrefix(e.Path), "/"), strings.ReplaceAll(snake(name), "_", "-"))
	}
	return nil
}

// literalPrefix is path up to its first {name} segment.
func literalPrefix(path string) string {
	if i := strings.Index(path, "/{"); i >= 0 {
		return path[:i]
	}
	return path
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
