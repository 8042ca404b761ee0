package project_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purista-go/purista/internal/project"
)

func valid() *project.Manifest {
	return &project.Manifest{
		Name: "shop", Module: "example.com/shop", Main: "./cmd/shop",
		Services: []project.Service{{Name: "Orders", Version: "1", Path: "services/orders/v1"}},
		Profiles: map[string]project.Profile{"monolith": {Bridge: "memory"}, "microservices": {Bridge: "nats://127.0.0.1:4222", Split: true}},
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(m *project.Manifest)
		wantErr string
	}{
		{name: "valid", edit: func(*project.Manifest) {}},
		{name: "bad name", edit: func(m *project.Manifest) { m.Name = "my-shop" }, wantErr: "e.g. name: shop"},
		{name: "empty module", edit: func(m *project.Manifest) { m.Module = "" }, wantErr: "e.g. module:"},
		{name: "absolute main", edit: func(m *project.Manifest) { m.Main = "/cmd/shop" }, wantErr: "e.g. main: ./cmd/shop"},
		{name: "bad version", edit: func(m *project.Manifest) { m.Services[0].Version = "v1" }, wantErr: `version: "1"`},
		{name: "path outside", edit: func(m *project.Manifest) { m.Services[0].Path = "../x" }, wantErr: "relative to the project root"},
		{name: "duplicate service", edit: func(m *project.Manifest) {
			m.Services = append(m.Services, project.Service{Name: "orders", Version: "1", Path: "services/orders/v1"})
		}, wantErr: "listed twice"},
		{name: "profile without bridge", edit: func(m *project.Manifest) { m.Profiles["x"] = project.Profile{} }, wantErr: "profiles.x.bridge"},
		{name: "dev image of a broker", edit: func(m *project.Manifest) { m.Dev.Images = map[string]string{"nats": "registry.example.com/nats:2.10"} }},
		{name: "dev image of no broker", edit: func(m *project.Manifest) { m.Dev.Images = map[string]string{"kafka": "k:1"} }, wantErr: "dev.images.kafka"},
		{name: "empty dev image", edit: func(m *project.Manifest) { m.Dev.Images = map[string]string{"mqtt": " "} }, wantErr: "not an image reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := valid()
			tt.edit(m)
			err := m.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSaveFindRoundTrip(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := project.Save(root, valid()); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(root, "services", "orders", "v1")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	m, gotRoot, err := project.Find(sub)
	if err != nil {
		t.Fatal(err)
	}
	if gotRoot != root {
		t.Errorf("root = %q, want %q", gotRoot, root)
	}
	if s, ok := m.Service("orders"); !ok || s.Path != "services/orders/v1" {
		t.Errorf("Service(orders) = %+v, %v", s, ok)
	}
	if got := strings.Join(m.ProfileNames(), ","); got != "microservices,monolith" {
		t.Errorf("profiles = %s", got)
	}
	if !m.Profiles["microservices"].Split {
		t.Error("split lost in round trip")
	}
}

func TestFindErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		manifest string             // "" writes none
		setup    func(string) error // makes something else at the manifest's path
		wantErr  string
		notFound bool
	}{
		{name: "no manifest", notFound: true, wantErr: "not inside a purista project"},
		{name: "unknown field", manifest: "name: shop\nmodule: x\nmain: ./cmd/shop\nservics: []\n", wantErr: "servics"},
		{name: "invalid", manifest: "name: 1shop\nmodule: x\nmain: ./cmd/shop\n", wantErr: "not a Go identifier"},
		{name: "manifest is a folder", setup: func(p string) error { return os.Mkdir(p, 0o755) }, wantErr: "purista.yaml is a folder"},
		{name: "manifest is a dangling link", setup: func(p string) error { return os.Symlink(p+".gone", p) }, wantErr: "purista.yaml is a link to nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tt.setup != nil {
				if err := tt.setup(filepath.Join(dir, project.FileName)); err != nil {
					t.Fatal(err)
				}
			}
			if tt.manifest != "" {
				if err := os.WriteFile(filepath.Join(dir, project.FileName), []byte(tt.manifest), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := project.Find(dir)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Find() = %v, want error containing %q", err, tt.wantErr)
			}
			if got := errors.Is(err, project.ErrNotFound); got != tt.notFound {
				t.Errorf("errors.Is(ErrNotFound) = %v, want %v", got, tt.notFound)
			}
		})
	}
}

func TestAppendService(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		manifest string
	}{
		{name: "block list with comments", manifest: "# keep me\nname: shop\nmodule: example.com/shop\nmain: ./cmd/shop\nservices:\n  - name: Orders\n    version: \"1\"\n    path: services/orders/v1\nprofiles:\n  monolith:\n    bridge: memory # inline\n"},
		{name: "empty flow list", manifest: "name: shop\nmodule: example.com/shop\nmain: ./cmd/shop\nservices: []\n"},
		{name: "no services key", manifest: "name: shop\nmodule: example.com/shop\nmain: ./cmd/shop\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := project.AppendService([]byte(tt.manifest), project.Service{Name: "Billing", Version: "2", Path: "services/billing/v2"})
			if err != nil {
				t.Fatal(err)
			}
			m, err := project.Parse(out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if s, ok := m.Service("Billing"); !ok || s.Version != "2" {
				t.Fatalf("Billing not appended:\n%s", out)
			}
			for _, keep := range []string{"# keep me", "# inline"} {
				if strings.Contains(tt.manifest, keep) && !strings.Contains(string(out), keep) {
					t.Errorf("comment %q lost:\n%s", keep, out)
				}
			}
		})
	}
}

// TestParseErrorText: YAML errors name the problem and the line in the user's words,
// without Go type names.
func TestParseErrorText(t *testing.T) {
	t.Parallel()
	const head = "name: shop\nmodule: x\nmain: ./cmd/shop\n"
	tests := []struct {
		name     string
		manifest string
		want     string
	}{
		{"unknown top-level field", head + "foo: 1\n",
			"purista.yaml: unknown field foo (line 4; known fields: name, module, main, services, profiles)"},
		{"unknown service field", head + "services:\n  - nme: Orders\n",
			"purista.yaml: unknown field nme in a service (line 5; known fields: name, version, path)"},
		{"unknown profile field", head + "profiles:\n  dev:\n    bridge: memory\n    port: 8080\n",
			"purista.yaml: unknown field port in a profile (line 7; known fields: bridge, split, http)"},
		{"wrong type", head + "profiles:\n  dev:\n    bridge: memory\n    split: maybe\n",
			"purista.yaml: cannot unmarshal !!str `maybe` into bool (line 7)"},
		{"syntax error", "name: shop\n  x: y\n", "purista.yaml: mapping values are not allowed in this context (line 2)"},
		{"empty file", "", "purista.yaml: the file is empty"},
		{"invalid value", "name: 1shop\nmodule: x\nmain: ./cmd/shop\n", "purista.yaml is invalid: name \"1shop\" is not a Go identifier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := project.Parse([]byte(tt.manifest))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Parse() = %v, want an error starting with %q", err, tt.want)
			}
			for _, bad := range []string{"project.", "not found in type", ": yaml:", "unmarshal errors"} {
				if strings.Contains(err.Error(), bad) {
					t.Errorf("Parse() = %q mentions %q", err, bad)
				}
			}
		})
	}
}
