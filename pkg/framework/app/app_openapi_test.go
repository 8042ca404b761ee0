package app

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purista-go/purista/pkg/framework"
)

// TestRunMainOpenAPIOut writes the OpenAPI document with --openapi-out and exits
// without starting anything; a bad declaration or an unknown service exits 2.
func TestRunMainOpenAPIOut(t *testing.T) {
	type in struct {
		Name string `json:"name"`
	}
	svc := func(path string) *framework.Service {
		s := framework.NewService(framework.NewContract("Orders", "1"), "orders")
		ref := framework.Command[in, in](framework.NewContract("Orders", "1"), "place", framework.WithHTTP(framework.Endpoint{Method: "POST", Path: path}))
		framework.Handle(s, ref, func(_ *framework.Context, v in) (in, error) { return v, nil })
		return s
	}
	tests := []struct {
		name     string
		path     string
		extra    []string
		wantCode int
		wantErr  string
	}{
		{name: "written", path: "/orders", wantCode: ExitOK},
		{name: "bad path", path: "orders", wantCode: ExitConfig, wantErr: "does not start with '/'"},
		{name: "unknown service", path: "/orders", extra: []string{"--services", "Nope"}, wantCode: ExitConfig, wantErr: "Nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "openapi.json")
			var stderr bytes.Buffer
			getenv := func(string) string { return "" }
			args := append([]string{"--openapi-out", out, "--health-addr", "127.0.0.1:1"}, tt.extra...)
			code := runMain(context.Background(), args, getenv, &stderr, svc(tt.path))
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("exit %d, stderr %q; want %d with %q", code, stderr.String(), tt.wantCode, tt.wantErr)
			}
			if tt.wantCode != ExitOK {
				return
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				OpenAPI string                     `json:"openapi"`
				Paths   map[string]json.RawMessage `json:"paths"`
			}
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(doc.OpenAPI, "3.1") || doc.Paths["/orders"] == nil {
				t.Fatalf("document %s: want OpenAPI 3.1 with /orders", data)
			}
		})
	}
}
