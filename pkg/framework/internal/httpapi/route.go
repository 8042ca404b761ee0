// Package httpapi is the HTTP surface of a purista process: it matches requests to the
// endpoints commands declare, authenticates callers, maps path, query and body to a
// command call, answers errors as RFC 9457 problem+json, and renders the OpenAPI 3.1
// document of the endpoints. It knows nothing of the runtime: the framework hands it
// routes and an Invoke function.
package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/purista-go/purista/pkg/framework/httpauth"
)

// Route is one command exposed at a method and path, with the schemas of the command.
// The framework fills it from a command's Endpoint declaration; Compile checks it and
// fills the defaults.
type Route struct {
	Service, Version, Command string
	Description               string
	Method, Path              string
	Public                    bool
	Query                     []string
	Consumes, Produces        []string
	Status                    int
	Tags                      []string
	Summary                   string
	Deprecated                bool
	BodyLimit                 int64
	Timeout                   time.Duration
	// Input, Parameter and Output are the JSON Schemas of the command (Parameter may be
	// nil); Example is a sample input or nil.
	Input, Parameter, Output, Example json.RawMessage
	// Tooling marks a development route (POST /api/<service>/v<n>/<command>): it is
	// listed by GET /api but left out of the OpenAPI document.
	Tooling bool
	// EmptyInputOK says that the command's input schema accepts {}: required for GET and
	// DELETE, whose requests carry no body.
	EmptyInputOK bool

	// Filled by Compile.
	segs       []segment
	params     map[string]paramInfo // properties of the parameter schema
	pathParams []string
	builtin    builtin
}

// builtin tells the routes of the surface itself from command routes.
type builtin int

const (
	notBuiltin builtin = iota
	indexRoute
	openAPIRoute
)

// Paths of the surface's own documents.
const (
	IndexPath   = "/api"
	OpenAPIPath = "/openapi.json"
)

// Call is one request mapped to a command call.
type Call struct {
	Route *Route
	// Payload is the input JSON (the body, "{}" when empty); Parameter is the JSON
	// object built from path and query values.
	Payload, Parameter json.RawMessage
	// Identity is the verified caller (zero for an anonymous call of a public endpoint).
	Identity httpauth.Identity
	// TraceID is the trace id of the request, the same in its problem answers.
	TraceID string
}

// InvokeFunc runs a call and returns the command's output JSON, or the problem to answer.
type InvokeFunc func(ctx context.Context, c Call) (json.RawMessage, *Problem)

// TraceFunc returns the request's context (with any incoming trace attached) and its
// trace id.
type TraceFunc func(r *http.Request) (context.Context, string)

// DefaultBodyLimit is the request body limit of an endpoint that sets none.
const DefaultBodyLimit int64 = 1 << 20

// Methods a route may declare.
var methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// hasBody reports whether requests of method carry the command's input as their body.
func hasBody(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}
