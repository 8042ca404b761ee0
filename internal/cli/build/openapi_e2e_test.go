package build_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purista-go/purista/internal/cli/build"
	"github.com/purista-go/purista/internal/scaffold"
)

// TestOpenAPIDocumentE2E builds a scaffolded project with the real command: without an
// endpoint no document is written (and stderr says so); with one added by the scaffold
// of `purista add command --http`, openapi.json lands beside the --tar file; an endpoint
// the framework refuses fails the build with the framework's message.
func TestOpenAPIDocumentE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a generated project")
	}
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOWORK", "off")
	t.Setenv("GOTOOLCHAIN", "local")
	repo, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "shop")
	apply := func(p *scaffold.Plan, err error) {
		t.Helper()
		if err == nil {
			err = p.Apply()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	apply(scaffold.NewProject(scaffold.ProjectOptions{Name: "shop", Module: "example.com/shop", Dir: root, Framework: repo}))
	out := t.TempDir()
	tar := filepath.Join(out, "shop.tar")
	doc := filepath.Join(out, build.OpenAPIFile)

	code, _, stderr := run(t, root, "--tar", tar, "--platform", "linux/amd64")
	if code != 0 {
		t.Fatalf("build without endpoints: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(doc); err == nil || !strings.Contains(stderr, "no command declares an HTTP endpoint") {
		t.Fatalf("without endpoints: document written (stat err %v) or not said so:\n%s", err, stderr)
	}

	apply(scaffold.AddCommandWith(root, scaffold.CommandOptions{Service: "Greeter", Name: "hello", HTTP: "GET:/hello/{who}", Public: true}))
	code, _, stderr = run(t, root, "--tar", tar, "--platform", "linux/amd64")
	if code != 0 {
		t.Fatalf("build with an endpoint: exit %d\n%s", code, stderr)
	}
	checkOpenAPI(t, doc, "/hello/{who}")

	contract := filepath.Join(root, "services", "greeter", "v1", "hello.go")
	src, err := os.ReadFile(contract)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(src), `Path: "/hello/{who}"`, `Path: "/hello/{whom}"`, 1)
	if bad == string(src) {
		t.Fatalf("no endpoint path to break in %s", src)
	}
	if err := os.WriteFile(contract, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, root, "--tar", filepath.Join(out, "bad.tar"), "--platform", "linux/amd64", "--openapi", filepath.Join(out, "bad.json"))
	if code != 1 || !strings.Contains(stderr, "path parameter {whom} is not a property") {
		t.Fatalf("a refused endpoint: exit %d, want 1 with the framework's message\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "bad.json")); err == nil {
		t.Error("a document was written for a refused endpoint")
	}
}
