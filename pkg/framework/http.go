package framework

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/purista-go/purista/pkg/framework/httpauth"
	"github.com/purista-go/purista/pkg/framework/internal/httpapi"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// Endpoint declares how a command is served over HTTP (see WithHTTP). A command without
// an Endpoint is not on HTTP at all.
type Endpoint struct {
	// Method is GET, POST (the default when empty), PUT, PATCH or DELETE. POST, PUT and
	// PATCH read the command's input from the JSON body; GET and DELETE take no body, so
	// their command's input must accept {} (values come from path and query).
	Method string `json:"method"`
	// Path starts with '/' and may hold whole-segment parameters such as
	// "/orders/{id}"; each must be a property of the command's parameter type
	// (WithParameter). Paths are matched exactly: no trailing '/', no cleaning.
	Path string `json:"path"`
	// Public serves the endpoint to anonymous callers. Endpoints are protected by
	// default: they need a caller verified by the authenticator (WithAuthenticator).
	Public bool `json:"public,omitempty"`
	// Query names the parameter properties read from the query string. Every required
	// parameter property must be in Path or Query.
	Query []string `json:"query,omitempty"`
	// Consumes lists the accepted request media types (default application/json); only
	// JSON types (application/json, application/<name>+json) are allowed. A request with
	// another Content-Type is answered 415.
	Consumes []string `json:"consumes,omitempty"`
	// Produces lists the response media types (default application/json); the first is
	// sent. Only JSON types are allowed.
	Produces []string `json:"produces,omitempty"`
	// Status is the success status (default 200); 204 sends no body.
	Status int `json:"status,omitempty"`
	// Tags group the operation in the OpenAPI document (default: the service name).
	Tags []string `json:"tags,omitempty"`
	// Summary is the operation's one-line summary in the OpenAPI document.
	Summary string `json:"summary,omitempty"`
	// Deprecated marks the operation deprecated in the OpenAPI document.
	Deprecated bool `json:"deprecated,omitempty"`
	// BodyLimit bounds the request body in bytes (0: the handler's default,
	// WithBodyLimit, else 1 MiB); a larger body is answered 413.
	BodyLimit int64 `json:"bodyLimit,omitempty"`
}

// WithHTTP exposes the command over HTTP as e declares. One endpoint per command;
// declarations are checked when the service starts (Start, OpenAPIDocument and
// Runtime.HTTPHandler fail with ErrInvalidDefinition on a bad method or path, a path or
// query parameter that the parameter type lacks, or two commands on the same method and
// path).
func WithHTTP(e Endpoint) CommandOption {
	return func(d *commandDef) {
		if d.http != nil {
			d.errs = append(d.errs, fmt.Errorf("WithHTTP given twice: a command has one endpoint"))
			return
		}
		e = e.clone()
		d.http = &e
	}
}

// clone returns e with its own copies of the slices.
func (e Endpoint) clone() Endpoint {
	e.Query, e.Consumes, e.Produces, e.Tags = slices.Clone(e.Query), slices.Clone(e.Consumes), slices.Clone(e.Produces), slices.Clone(e.Tags)
	return e
}

// ErrNoAuthenticator is wrapped (with ErrConfig) by the error of Runtime.HTTPHandler
// when an endpoint needs credentials and no authenticator is given.
var ErrNoAuthenticator = errors.New("no HTTP authenticator configured")

// HTTPOption tunes Runtime.HTTPHandler and OpenAPIDocument.
type HTTPOption func(*httpSettings)

type httpSettings struct {
	auth          httpauth.Authenticator
	publicIndex   bool
	bodyLimit     int64
	commandRoutes bool
	info          httpapi.Info
}

// WithAuthenticator verifies the callers of protected endpoints with a. Its Identity is
// the only source of the command's principal and tenant.
func WithAuthenticator(a httpauth.Authenticator) HTTPOption {
	return func(s *httpSettings) { s.auth = a }
}

// WithPublicIndex serves GET /api (the endpoint list) and GET /openapi.json without
// credentials; by default they need them like a protected endpoint.
func WithPublicIndex() HTTPOption { return func(s *httpSettings) { s.publicIndex = true } }

// WithBodyLimit sets the request body limit of endpoints that set no BodyLimit
// (default 1 MiB).
func WithBodyLimit(n int64) HTTPOption { return func(s *httpSettings) { s.bodyLimit = n } }

// WithCommandRoutes also serves every command, declared or not, at
// POST /api/<service>/v<version>/<command> (input as the JSON body, every parameter
// property from the query), protected like any non-public endpoint. It is meant for
// development tools (purista dev, purista check), not for production; these routes are
// listed by GET /api but not in the OpenAPI document.
func WithCommandRoutes() HTTPOption { return func(s *httpSettings) { s.commandRoutes = true } }

// WithAPIInfo sets the title and version of the OpenAPI document (default: the service
// names and "1").
func WithAPIInfo(title, version string) HTTPOption {
	return func(s *httpSettings) { s.info.Title, s.info.Version = title, version }
}

// HTTPHandler serves the HTTP endpoints that the runtime's commands declare with
// WithHTTP, plus:
//
//	GET /api            the endpoint list with the commands' schemas
//	GET /openapi.json   the OpenAPI 3.1 document (as OpenAPIDocument renders it)
//
// Protected endpoints (and, without WithPublicIndex, the two documents) need a caller
// that the authenticator verifies: without one they answer 401, with a forbidden one
// 403. Every error is an RFC 9457 application/problem+json answer with the request's
// trace id; 5xx answers carry no internal message. Paths are never cleaned or
// redirected: a path with '//', '.' or '..' segments is answered 400.
//
// It fails with an error wrapping ErrNoAuthenticator and ErrConfig when some endpoint
// needs credentials and no WithAuthenticator is given, and with ErrInvalidDefinition for
// conflicting routes (see WithCommandRoutes).
func (r *Runtime) HTTPHandler(opts ...HTTPOption) (http.Handler, error) {
	s := newHTTPSettings(r.services, opts)
	routes, err := httpRoutes(r.services, s)
	if err != nil {
		return nil, err
	}
	if s.auth == nil {
		var need []string
		for _, rt := range routes {
			if !rt.Public && rt.Command != "" {
				need = append(need, rt.Method+" "+rt.Path)
			}
		}
		if len(need) > 0 {
			return nil, fmt.Errorf("%w: %w: these endpoints are not public and need an authenticator: %s",
				ErrConfig, ErrNoAuthenticator, strings.Join(need, ", "))
		}
	}
	doc, err := httpapi.Document(routes, s.info, s.auth)
	if err != nil {
		return nil, err
	}
	index, err := httpapi.Index(routes)
	if err != nil {
		return nil, fmt.Errorf("render GET /api: %w", err)
	}
	cfg := httpapi.Config{Routes: routes, Auth: s.auth, PublicIndex: s.publicIndex,
		Index: index, OpenAPI: doc, Invoke: r.httpInvoke, Trace: r.httpTrace, Log: r.log}
	if r.metrics != nil {
		cfg.Observe = r.metrics.httpRequest
	}
	h := http.Handler(httpapi.New(cfg))
	if r.tp != nil {
		// otelhttp records the HTTP server span (named by the method until a route
		// matches) under the request's W3C context; its metrics are left to r.metrics.
		h = otelhttp.NewHandler(h, "", otelhttp.WithTracerProvider(r.tp), otelhttp.WithPropagators(r.prop),
			otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
			otelhttp.WithSpanNameFormatter(func(_ string, req *http.Request) string { return req.Method }))
	}
	return h, nil
}

// OpenAPIDocument renders the OpenAPI 3.1 document (JSON) of the endpoints that the
// services' commands declare, as Runtime.HTTPHandler serves it at GET /openapi.json,
// without starting anything. Without WithAuthenticator (or with one that does not
// describe itself, see httpauth.Describer), protected operations accept a bearer JWT
// (bearerAuth) or an API key in the X-API-Key header (apiKeyAuth). Invalid declarations
// fail as in Start.
func OpenAPIDocument(services []*Service, opts ...HTTPOption) ([]byte, error) {
	for _, svc := range services {
		if svc == nil {
			return nil, fmt.Errorf("%w: nil service", ErrInvalidDefinition)
		}
		if err := svc.Err(); err != nil {
			return nil, err
		}
	}
	s := newHTTPSettings(services, opts)
	routes, err := httpRoutes(services, s)
	if err != nil {
		return nil, err
	}
	return httpapi.Document(routes, s.info, s.auth)
}

func newHTTPSettings(services []*Service, opts []HTTPOption) httpSettings {
	var s httpSettings
	for _, o := range opts {
		o(&s)
	}
	if s.info.Title == "" {
		var names []string
		for _, svc := range services {
			if svc != nil {
				names = append(names, svc.contract.name)
			}
		}
		s.info.Title = strings.Join(names, ", ")
	}
	return s
}

// httpRoutes compiles the endpoints of the services' commands (and the command routes
// when s asks for them). Errors wrap ErrInvalidDefinition.
func httpRoutes(services []*Service, s httpSettings) ([]*httpapi.Route, error) {
	var routes []*httpapi.Route
	for _, svc := range services {
		cmds, _, _ := svc.snapshot()
		for _, c := range cmds {
			if c.def.http != nil {
				routes = append(routes, endpointRoute(c.def, *c.def.http))
			}
			if s.commandRoutes {
				routes = append(routes, commandRoute(c.def))
			}
		}
	}
	compiled, err := httpapi.Compile(routes, s.bodyLimit)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidDefinition, err)
	}
	return compiled, nil
}

// routeOf is the part of a command's route that comes from its definition.
func routeOf(d *commandDef) *httpapi.Route {
	ci := d.info()
	rt := &httpapi.Route{Service: d.contract.name, Version: d.contract.version, Command: d.name, Description: d.description,
		Timeout: d.timeout, Input: ci.InputSchema, Parameter: ci.ParameterSchema, Output: ci.OutputSchema, Example: d.example}
	if d.schemas() == nil {
		rt.EmptyInputOK = d.inSchema.Validate(json.RawMessage("{}")) == nil
	}
	return rt
}

func endpointRoute(d *commandDef, e Endpoint) *httpapi.Route {
	rt := routeOf(d)
	rt.Method, rt.Path, rt.Public, rt.Query = e.Method, e.Path, e.Public, e.Query
	rt.Consumes, rt.Produces, rt.Status, rt.Tags = e.Consumes, e.Produces, e.Status, e.Tags
	rt.Summary, rt.Deprecated, rt.BodyLimit = e.Summary, e.Deprecated, e.BodyLimit
	return rt
}

// commandRoute is the development route of a command (WithCommandRoutes).
func commandRoute(d *commandDef) *httpapi.Route {
	rt := routeOf(d)
	rt.Method, rt.Path, rt.Tooling = http.MethodPost, "/api/"+d.contract.name+"/v"+d.contract.version+"/"+d.name, true
	if d.paramSchema != nil {
		var doc struct {
			Properties map[string]json.RawMessage `json:"properties"`
		}
		_ = json.Unmarshal(d.paramSchema.JSON(), &doc) // a schema we generated: the worst case is no query values
		for name := range doc.Properties {
			rt.Query = append(rt.Query, name)
		}
		slices.Sort(rt.Query)
	}
	return rt
}

// checkHTTP reports invalid endpoint declarations of services, for Start.
func checkHTTP(services []*Service) error {
	_, err := httpRoutes(services, httpSettings{})
	return err
}

// httpTrace returns the request's context and PURISTA trace id: with tracing on, the
// trace id of the HTTP server span (which continues the request's W3C trace, if any);
// with tracing off, the W3C trace id of the traceparent header, else a new id.
func (r *Runtime) httpTrace(req *http.Request) (context.Context, string) {
	if span := trace.SpanFromContext(req.Context()); span.SpanContext().IsValid() {
		id := span.SpanContext().TraceID().String()
		span.SetAttributes(attrTraceID.String(id))
		return req.Context(), id
	}
	ctx := r.prop.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		return ctx, sc.TraceID().String()
	}
	return ctx, wire.NewID()
}

// httpInvoke runs an HTTP call of a command through the bridge as the verified caller.
func (r *Runtime) httpInvoke(ctx context.Context, c httpapi.Call) (json.RawMessage, *httpapi.Problem) {
	recv := wire.Address{ServiceName: c.Route.Service, ServiceVersion: c.Route.Version, ServiceTarget: c.Route.Command}
	inv := &caller{rt: r, from: r.client, parent: &wire.Message{TraceID: c.TraceID}}
	out, err := inv.Invoke(ctx, InvokeRequest{Receiver: recv, Payload: c.Payload, Parameter: c.Parameter,
		Timeout: c.Route.Timeout, PrincipalID: c.Identity.PrincipalID, TenantID: c.Identity.TenantID})
	if err == nil {
		return out, nil
	}
	var he *HandledError
	if errors.As(err, &he) {
		raw, _ := he.Data.(json.RawMessage)
		return nil, httpapi.CommandProblem(he.Status, he.Message, raw, c.TraceID)
	}
	status := StatusOf(err)
	r.log.Warn("HTTP call failed", slog.String("command", recv.String()), slog.Int("status", status),
		slog.String("traceId", c.TraceID), slog.Any("error", err))
	detail := ""
	switch status {
	case http.StatusGatewayTimeout:
		detail = "the command did not answer in time"
	case http.StatusServiceUnavailable:
		detail = "the command is not available at the moment: try again later"
	}
	return nil, httpapi.CommandProblem(status, detail, nil, c.TraceID)
}

// exposeHTTP adds a declared endpoint to the expose object of a command's
// infoServiceFunctionAdded payload, in PURISTA's shape: http {method, path, openApi
// {isSecure, description, summary, tags, query [{name, required}]}}, deprecation and
// content types.
func exposeHTTP(expose map[string]any, d *commandDef) {
	if d.http == nil {
		return
	}
	e := d.http
	method := strings.ToUpper(e.Method)
	if method == "" {
		method = http.MethodPost
	}
	var required []string
	if d.paramSchema != nil {
		var doc struct {
			Required []string `json:"required"`
		}
		_ = json.Unmarshal(d.paramSchema.JSON(), &doc) // a schema we generated
		required = doc.Required
	}
	query := []map[string]any{}
	for _, q := range e.Query {
		query = append(query, map[string]any{"name": q, "required": slices.Contains(required, q)})
	}
	tags := e.Tags
	if len(tags) == 0 {
		tags = []string{d.contract.name}
	}
	expose["http"] = map[string]any{"method": method, "path": e.Path, "openApi": map[string]any{
		"isSecure": !e.Public, "description": d.description, "summary": e.Summary, "tags": tags, "query": query,
		"operationId": d.contract.name + "_v" + d.contract.version + "_" + d.name}}
	expose["deprecated"] = e.Deprecated
	if len(e.Consumes) > 0 {
		expose["contentTypeRequest"] = e.Consumes[0]
	}
	if len(e.Produces) > 0 {
		expose["contentTypeResponse"] = e.Produces[0]
	}
}
