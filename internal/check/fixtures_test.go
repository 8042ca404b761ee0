package check

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/scaffold"
)

// offlineEnv builds fixture projects from the module cache only.
func offlineEnv() []string {
	return append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOWORK=off")
}

// fixture assembles testdata/base overlaid with testdata/<name> in a temporary folder,
// with a go.mod that replaces the framework by this checkout and carries its
// requirements and go.sum, so that it builds offline.
func fixture(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	for _, src := range []string{"base", name} {
		if src == "" {
			continue
		}
		from := filepath.Join("testdata", src)
		err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(from, p)
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, rel), data, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	fw, err := scaffold.LocateFramework(repo, "")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("module example.com/fixture\n\ngo " + fw.GoVersion + "\n\nrequire " + fw.Module + " v0.0.0\n\nrequire (\n")
	for _, r := range fw.Requires {
		b.WriteString("\t" + r.Path + " " + r.Version + " // indirect\n")
	}
	b.WriteString(")\n\nreplace " + fw.Module + " => " + repo + "\n")
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), fw.Sum, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runFixture(t *testing.T, dir string) Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Options{Dir: dir, Env: offlineEnv()})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

// TestFixtures runs every check on each fixture: the one item it violates fails with
// evidence naming the cause; every other item passes.
func TestFixtures(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs fixture projects: skipped with -short")
	}
	tests := []struct {
		fixture  string
		evidence string // in the failing check's evidence
	}{
		{fixture: "base"},
		{fixture: TwoModels, evidence: "Front v1 hello gives different results"},
		{fixture: ExternalConfig, evidence: `services/back/v1/service/service.go:13: broker URL "nats://127.0.0.1:4222"`},
		{fixture: Stateless, evidence: "package-level var seen"},
		{fixture: TimeoutsAndRetries, evidence: "timeout of 1h0m0s"},
		{fixture: GracefulShutdown, evidence: "exited with code 1"},
		{fixture: HealthConnectivity, evidence: "health ignores the bridge"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			rep := runFixture(t, fixture(t, tt.fixture))
			for _, c := range rep.Checks {
				var all strings.Builder
				all.WriteString(c.Reason + "\n")
				for _, e := range c.Evidence {
					all.WriteString(e.String() + "\n")
				}
				switch {
				case c.Name == tt.fixture:
					if c.Status != Fail || !strings.Contains(all.String(), tt.evidence) {
						t.Errorf("%s: %s, want fail with %q in:\n%s", c.Name, c.Status, tt.evidence, all.String())
					}
				case c.Status != Pass:
					t.Errorf("%s: %s, want pass:\n%s", c.Name, c.Status, all.String())
				}
			}
		})
	}
}

// TestExampleSignup checks examples/signup, which must pass every check.
func TestExampleSignup(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs examples/signup: skipped with -short")
	}
	rep := runFixture(t, filepath.Join("..", "..", "examples", "signup"))
	for _, c := range rep.Checks {
		if c.Status != Pass {
			t.Errorf("%s: %s: %s %v", c.Name, c.Status, c.Reason, c.Evidence)
		}
	}
}
