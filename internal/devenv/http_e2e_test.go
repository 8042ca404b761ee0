package devenv

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/pkg/framework/httpauth"
)

// TestHTTPEndpointsE2E scaffolds a project, adds a public and a protected command with
// `purista add command --http`, and runs it under `purista dev --no-tui --secure-http`
// with an API key (hashed) in the environment: the public endpoint answers anonymous
// callers, the protected one only callers with the key, wrong content types get 415,
// the OpenAPI document needs the key and lists both operations, and the command routes
// are off. Without --secure-http the same project runs in HTTP development mode, and the
// output says so.
func TestHTTPEndpointsE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("builds purista and a generated project")
	}
	bin := buildPurista(t)
	root := scaffoldProject(t, "shop")
	for _, args := range [][]string{
		{"add", "command", "Greeter", "hello", "--http", "GET:/hello/{who}", "--public"},
		{"add", "command", "Greeter", "placeOrder", "--http", "POST:/orders"},
	} {
		out, err := exec.Command(bin, append(args, "--dir", root)...).CombinedOutput()
		if err != nil {
			t.Fatalf("purista %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	const key = "e2e-secret-key"
	d := startDevEnv(t, bin, root, []string{"PURISTA_HTTP_API_KEYS=" + httpauth.HashAPIKey(key) + " alice"}, "--secure-http")
	d.out.wait(t, 0, "all services ready in", 3*time.Minute)
	addr := d.httpAddr(devmsg.MonolithUnit)
	if addr == "" {
		t.Fatalf("no HTTP address in the running line; output:\n%s", d.out.String())
	}
	if strings.Contains(d.out.String(), "DEVELOPMENT MODE") {
		t.Errorf("--secure-http still runs in HTTP development mode:\n%s", d.out.String())
	}
	base := "http://" + addr
	tests := []struct {
		name        string
		method      string
		path        string
		key         string
		contentType string
		body        string
		wantStatus  int
		wantProblem bool   // application/problem+json
		wantBody    string // a part of the body
	}{
		{name: "public, anonymous", method: "GET", path: "/hello/Bob", wantStatus: 200, wantBody: "Hello, Bob!"},
		{name: "protected, anonymous", method: "POST", path: "/orders", contentType: "application/json", body: `{"name":"Bob"}`,
			wantStatus: 401, wantProblem: true},
		{name: "protected, wrong key", method: "POST", path: "/orders", key: "wrong", contentType: "application/json", body: `{"name":"Bob"}`,
			wantStatus: 401, wantProblem: true},
		{name: "protected, right key", method: "POST", path: "/orders", key: key, contentType: "application/json", body: `{"name":"Bob"}`,
			wantStatus: 200, wantBody: "Hello, Bob!"},
		{name: "text/plain body", method: "POST", path: "/orders", key: key, contentType: "text/plain", body: `{"name":"Bob"}`,
			wantStatus: 415, wantProblem: true},
		{name: "OpenAPI, anonymous", method: "GET", path: "/openapi.json", wantStatus: 401, wantProblem: true},
		{name: "OpenAPI, right key", method: "GET", path: "/openapi.json", key: key, wantStatus: 200, wantBody: `"/orders"`},
		{name: "command routes are off", method: "POST", path: "/api/Greeter/v1/greet", key: key, contentType: "application/json",
			body: `{"name":"Bob"}`, wantStatus: 404, wantProblem: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ctype, body := call(t, tt.method, base+tt.path, tt.key, tt.contentType, tt.body)
			if status != tt.wantStatus {
				t.Fatalf("%s %s: %d %s, want %d", tt.method, tt.path, status, body, tt.wantStatus)
			}
			if tt.wantProblem && !strings.HasPrefix(ctype, "application/problem+json") {
				t.Errorf("Content-Type %q, want application/problem+json", ctype)
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("body %s, want %q in it", body, tt.wantBody)
			}
		})
	}
	_, _, doc := call(t, "GET", base+"/openapi.json", key, "", "")
	var api struct {
		Paths map[string]map[string]struct {
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(doc), &api); err != nil {
		t.Fatalf("/openapi.json: %v\n%s", err, doc)
	}
	if op, ok := api.Paths["/hello/{who}"]["get"]; !ok || len(op.Security) != 0 {
		t.Errorf("/openapi.json: GET /hello/{who} = %+v (present %v), want a public operation", op, ok)
	}
	if op, ok := api.Paths["/orders"]["post"]; !ok || len(op.Security) == 0 {
		t.Errorf("/openapi.json: POST /orders = %+v (present %v), want a protected operation", op, ok)
	}
	d.stop(t)

	// Without --secure-http: HTTP development mode, said loudly.
	d = startDev(t, bin, root)
	d.out.wait(t, 0, "WARNING: HTTP DEVELOPMENT MODE", time.Minute)
	running, _ := d.out.wait(t, 0, "(HTTP development mode)", 3*time.Minute)
	if !strings.Contains(running, "openapi=http://") {
		t.Errorf("running line %q does not show the OpenAPI URL", running)
	}
	d.out.wait(t, 0, "all services ready in", 3*time.Minute)
	if status, _, body := call(t, "POST", "http://"+d.httpAddr(devmsg.MonolithUnit)+"/orders", "", "application/json", `{"name":"Bob"}`); status != 200 {
		t.Errorf("development mode: anonymous POST /orders = %d %s, want 200", status, body)
	}
	d.stop(t)
}

// call sends one request (key in X-API-Key when set) and returns status, Content-Type
// and body.
func call(t *testing.T, method, url, key, contentType, body string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set(httpauth.APIKeyHeader, key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}
