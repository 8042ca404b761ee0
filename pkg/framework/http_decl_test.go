package framework_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/memory"
)

type declIn struct {
	Name string `json:"name"`
}

type declParam struct {
	ID   string `json:"id"`
	Page int    `json:"page,omitempty"`
}

// declService is a service with one command per endpoint, each declared with opts.
func declService(name string, endpoints ...framework.Endpoint) *framework.Service {
	contract := framework.NewContract(name, "1")
	svc := framework.NewService(contract, "")
	for i, e := range endpoints {
		cmd := framework.Command[struct{}, struct{}](contract, "cmd"+string(rune('A'+i)),
			framework.WithParameter[declParam](), framework.WithHTTP(e))
		framework.Handle(svc, cmd, func(*framework.Context, struct{}) (struct{}, error) { return struct{}{}, nil })
	}
	return svc
}

func TestHTTPDeclarationsFailAtStart(t *testing.T) {
	withInput := framework.NewService(framework.NewContract("In", "1"), "")
	framework.Handle(withInput, framework.Command[declIn, struct{}](framework.NewContract("In", "1"), "get",
		framework.WithHTTP(framework.Endpoint{Method: "GET", Path: "/in"})),
		func(*framework.Context, declIn) (struct{}, error) { return struct{}{}, nil })
	required := framework.NewService(framework.NewContract("Req", "1"), "")
	framework.Handle(required, framework.Command[struct{}, struct{}](framework.NewContract("Req", "1"), "r", framework.WithParameter[declParam](),
		framework.WithHTTP(framework.Endpoint{Path: "/r"})),
		func(*framework.Context, struct{}) (struct{}, error) { return struct{}{}, nil })
	tests := []struct {
		name     string
		services []*framework.Service
		want     string
	}{
		{"bad method", []*framework.Service{declService("S", framework.Endpoint{Method: "FETCH", Path: "/x/{id}"})}, `method "FETCH" is not supported`},
		{"no leading slash", []*framework.Service{declService("S", framework.Endpoint{Path: "x/{id}"})}, `does not start with '/'`},
		{"trailing slash", []*framework.Service{declService("S", framework.Endpoint{Path: "/x/{id}/"})}, `trailing '/'`},
		{"dot-dot", []*framework.Service{declService("S", framework.Endpoint{Path: "/x/../{id}"})}, `".." segment`},
		{"partial parameter", []*framework.Service{declService("S", framework.Endpoint{Path: "/x/{id}.json"})}, `path segment "{id}.json"`},
		{"path parameter not in schema", []*framework.Service{declService("S", framework.Endpoint{Path: "/x/{id}/{other}"})}, `path parameter {other} is not a property`},
		{"query parameter not in schema", []*framework.Service{declService("S", framework.Endpoint{Path: "/x/{id}", Query: []string{"size"}})}, `query parameter "size" is not a property`},
		{"required parameter without source", []*framework.Service{required}, `parameter "id" is required but neither in the path nor in Query`},
		{"GET with required input", []*framework.Service{withInput}, `input has required fields`},
		{"non-JSON content type", []*framework.Service{declService("S", framework.Endpoint{Path: "/x/{id}", Consumes: []string{"text/plain"}})}, `"text/plain" is not a JSON media type`},
		{"GET consumes", []*framework.Service{declService("S", framework.Endpoint{Method: "GET", Path: "/x/{id}", Consumes: []string{"application/json"}})}, `Consumes must be empty`},
		{"redirect status", []*framework.Service{declService("S", framework.Endpoint{Path: "/x/{id}", Status: 302})}, `302 is not a 2xx status`},
		{"negative body limit", []*framework.Service{declService("S", framework.Endpoint{Path: "/x/{id}", BodyLimit: -1})}, `negative`},
		{"same method and path", []*framework.Service{declService("S", framework.Endpoint{Path: "/x/{id}"}), declService("T", framework.Endpoint{Path: "/x/{id}"})},
			`POST /x/{id}: both command S v1 cmdA (/x/{id}) and command T v1 cmdA (/x/{id}) answer it`},
		{"same path shape", []*framework.Service{declService("S", framework.Endpoint{Path: "/x/{id}"}, framework.Endpoint{Path: "/x/{page}", Query: []string{"id"}})}, `both`},
		{"ambiguous", []*framework.Service{declService("S", framework.Endpoint{Path: "/a/{id}"}, framework.Endpoint{Path: "/{id}/b"})}, `both`},
		{"reserved index", []*framework.Service{declService("S", framework.Endpoint{Method: "GET", Path: "/api", Query: []string{"id"}})}, `the surface's own /api`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, err := framework.Start(context.Background(), memory.New(), tt.services)
			if err == nil {
				_ = rt.Shutdown(context.Background())
				t.Fatalf("Start succeeded, want an error saying %q", tt.want)
			}
			if !errors.Is(err, framework.ErrInvalidDefinition) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Start: %v\nwant ErrInvalidDefinition saying %q", err, tt.want)
			}
			if _, derr := framework.OpenAPIDocument(tt.services); derr == nil || derr.Error() != err.Error() {
				t.Fatalf("OpenAPIDocument: %v, want the same error as Start", derr)
			}
		})
	}
}

func TestHTTPDeclarationsThatStart(t *testing.T) {
	services := []*framework.Service{declService("S",
		framework.Endpoint{Path: "/x/{id}"},
		framework.Endpoint{Path: "/x/new", Query: []string{"id"}},                                                // more specific than /x/{id}
		framework.Endpoint{Method: "get", Path: "/x/{id}", Produces: []string{"application/vnd.x+json"}},         // method case does not matter
		framework.Endpoint{Method: "PATCH", Path: "/x/{id}", Consumes: []string{"application/merge-patch+json"}}, // a +json type
	)}
	rt, err := framework.Start(context.Background(), memory.New(), services)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
	h, err := rt.HTTPHandler(framework.WithAuthenticator(testAuth))
	if err != nil {
		t.Fatal(err)
	}
	good := map[string]string{"Authorization": "Bearer good"}
	checkCase(t, h, httpCase{method: "POST", target: "/x/new?id=1", contentType: "application/json", header: good, wantStatus: 200, wantBody: "{}"})
	rec := checkCase(t, h, httpCase{method: "GET", target: "/x/1", header: good, wantStatus: 200, wantBody: "{}"})
	if ct := rec.Header().Get("Content-Type"); ct != "application/vnd.x+json" {
		t.Fatalf("GET answered %q, want the declared application/vnd.x+json", ct)
	}
	checkCase(t, h, httpCase{method: "PATCH", target: "/x/1", contentType: "application/json", body: "{}", header: good, wantStatus: 415, wantBody: "merge-patch"})
	if _, err := rt.HTTPHandler(framework.WithAuthenticator(testAuth), framework.WithCommandRoutes()); err != nil {
		t.Fatalf("command routes beside declared ones: %v", err)
	}
}
