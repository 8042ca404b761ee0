package check

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/scaffold"
)

// offlineEnv builds fixture projects from the module cache only.
func offlineEnv() []string {
	return append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOWORK=off")
}

// fixture assembles testdata/base overlaid with testdata/<name> for each name, in order,
// in a temporary folder, with a go.mod that replaces the framework by this checkout and
// carries its requirements and go.sum, so that it builds offline.
func fixture(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i, src := range append([]string{"base"}, names...) {
		if src == "" || (i > 0 && src == "base") {
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

func runFixture(t *testing.T, dir string, only ...string) Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Options{Dir: dir, Env: offlineEnv(), Only: only})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

// TestFixtures runs the checks on each fixture: the items it violates fail with a
// reason or evidence naming the cause; every other item passes. The fixtures named
// after a check violate that item alone and run every check; the others run the checks
// they are about (only). The base project's report is also compared with its golden
// text and JSON (see TestGolden).
func TestFixtures(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs fixture projects: skipped with -short")
	}
	every := []string{TwoModels, Stateless, TimeoutsAndRetries, GracefulShutdown, HealthConnectivity}
	tests := []struct {
		name     string
		overlays []string          // default: name
		only     []string          // default: every check
		fails    map[string]string // check → in its reason or evidence
	}{
		{name: "base"},
		{name: TwoModels, fails: map[string]string{TwoModels: "Front v1 hello gives different results"}},
		{name: ExternalConfig, fails: map[string]string{ExternalConfig: `services/back/v1/service/service.go:13: broker URL "nats://127.0.0.1:4222"`}},
		// A service that runs an application of its own (app.New … Main).
		{name: "external-config-app", only: []string{ExternalConfig}, fails: map[string]string{
			ExternalConfig: "services/back/v1/service/service.go:23: service Back calls app.New: bridge and runtime are chosen by the app's main"}},
		{name: Stateless, fails: map[string]string{Stateless: "package-level var seen"}},
		{name: TimeoutsAndRetries, fails: map[string]string{TimeoutsAndRetries: "timeout of 1h0m0s"}},
		{name: GracefulShutdown, fails: map[string]string{GracefulShutdown: "exited with code 1"}},
		{name: HealthConnectivity, fails: map[string]string{HealthConnectivity: "health ignores the bridge"}},
		// os.Exit(0) on SIGTERM while 500 ms calls are in flight.
		{name: "abrupt-exit", only: []string{GracefulShutdown}, fails: map[string]string{
			GracefulShutdown: "abrupt exit with work in flight: calls the app had accepted got no answer, yet it exited 0"}},
		// A caller that retries the stopped callee forever, ignoring its context.
		{name: "endless-retry", only: []string{TimeoutsAndRetries}, fails: map[string]string{
			TimeoutsAndRetries: "services/front/v1/service/service.go:23: with Back stopped, the process of Front kept a handler running " +
				"after every call had its answer, and exited with code 1"}},
		// A random id in the output: fails until declared non-deterministic.
		{name: "random-id", only: []string{TwoModels, Stateless}, fails: map[string]string{
			TwoModels: "Back v1 upper: output field id differs between calls: if that is meant (a random id, a time stamp), " +
				"declare it in purista.yaml: check: {nondeterministic: {Back.upper: [id]}}",
			Stateless: "Back v1 upper: output field id differs between calls"}},
		{name: "random-id-marked", overlays: []string{"random-id", "random-id-marked"}, only: []string{TwoModels, Stateless}},
		// A handler that sleeps a day, ignoring its context: named as the hung one.
		{name: "hung-handler", only: []string{TwoModels, Stateless, GracefulShutdown}, fails: map[string]string{
			TwoModels:        "no answer in time from Back v1 upper (a hung handler?)",
			Stateless:        "no answer in time from Back v1 upper (a hung handler?): calls that time out agree on nothing",
			GracefulShutdown: "(memory): Back v1 upper never returned from its handler during the load"}},
		// purista.yaml lists Extra, which cmd/fixture does not run: named at once, not
		// "not ready within 30s".
		{name: "missing-service", fails: func() map[string]string {
			m := map[string]string{}
			for _, c := range every {
				m[c] = "purista.yaml lists Extra, which ./cmd/fixture does not run (it runs Front/v1, Back/v1): " +
					"register it in ./cmd/fixture (app.New) or remove it from purista.yaml\n"
			}
			return m
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			overlays := tt.overlays
			if overlays == nil {
				overlays = []string{tt.name}
			}
			rep := runFixture(t, fixture(t, overlays...), tt.only...)
			if tt.name == "base" {
				compareGolden(t, "base", rep)
			}
			for _, c := range rep.Checks {
				var all strings.Builder
				all.WriteString(c.Reason + "\n")
				for _, e := range c.Evidence {
					all.WriteString(e.String() + "\n")
				}
				want, failing := tt.fails[c.Name]
				switch {
				case c.Status == Skip && tt.only != nil && !slices.Contains(tt.only, c.Name):
				case failing:
					if c.Status != Fail || !strings.Contains(all.String(), want) {
						t.Errorf("%s: %s, want fail with %q in:\n%s", c.Name, c.Status, want, all.String())
					}
					if strings.Contains(all.String(), "not ready within") {
						t.Errorf("%s waited for readiness:\n%s", c.Name, all.String())
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
