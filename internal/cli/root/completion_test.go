package root_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/cli/root"
	"github.com/purista-go/purista/internal/scaffold"
)

// completionProject writes a project with the services Greeter and Billing (whose
// command charge emits charged) and the profiles monolith and microservices, and
// returns its root.
func completionProject(t *testing.T) string {
	t.Helper()
	repo, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "shop")
	plan, err := scaffold.NewProject(scaffold.ProjectOptions{Name: "shop", Dir: dir, Bridge: "nats", Framework: repo})
	if err == nil {
		err = plan.Apply()
	}
	for _, add := range []func() (*scaffold.Plan, error){
		func() (*scaffold.Plan, error) { return scaffold.AddService(dir, "Billing", "1") },
		func() (*scaffold.Plan, error) { return scaffold.AddCommand(dir, "Billing", "charge", "charged", false) },
	} {
		if err != nil {
			break
		}
		if plan, err = add(); err == nil {
			err = plan.Apply()
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// complete runs `purista __complete args…` (what the shell scripts call) and returns
// the offered values (descriptions cut off) and the directive line.
func complete(t *testing.T, args ...string) (values []string, directive string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	cmd := root.NewCmdRoot(root.NewFactory(ios))
	cmd.SetArgs(append([]string{"__complete"}, args...))
	if err := cmd.Execute(); err != nil {
		t.Fatalf("__complete %v: %v\n%s", args, err, errOut)
	}
	for line := range strings.Lines(out.String()) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, ":") {
			directive = line
			continue
		}
		v, _, _ := strings.Cut(line, "\t")
		values = append(values, v)
	}
	return values, directive
}

// TestDynamicCompletion completes service, profile, event, check and broker names
// through cobra's hidden __complete command, as the shell scripts do.
func TestDynamicCompletion(t *testing.T) {
	t.Parallel()
	dir := completionProject(t)
	outside := t.TempDir()
	const noFiles, noFilesNoSpace, dirs = ":4", ":6", ":16"
	tests := []struct {
		name          string
		args          []string
		want          []string
		wantDirective string
	}{
		{name: "add command SERVICE", args: []string{"add", "command", "--dir", dir, ""}, want: []string{"Greeter", "Billing"}, wantDirective: noFiles},
		{name: "add command NAME is new", args: []string{"add", "command", "--dir", dir, "Billing", ""}, wantDirective: noFiles},
		{name: "add subscription SERVICE", args: []string{"add", "subscription", "--dir", dir, ""}, want: []string{"Greeter", "Billing"}, wantDirective: noFiles},
		{name: "add subscription --event", args: []string{"add", "subscription", "--dir", dir, "Billing", "onX", "--event", ""}, want: []string{"greeted", "charged"}, wantDirective: noFiles},
		{name: "add subscription --from", args: []string{"add", "subscription", "--dir", dir, "Billing", "onX", "--from", ""}, want: []string{"Greeter", "Billing"}, wantDirective: noFiles},
		{name: "add --dir after the arguments", args: []string{"add", "command", "Billing", "x", "--dir", ""}, wantDirective: dirs},
		{name: "new NAME is new", args: []string{"new", ""}, wantDirective: noFiles},
		{name: "new --bridge", args: []string{"new", "shop", "--bridge", ""}, want: []string{"memory", "nats", "amqp", "mqtt"}, wantDirective: noFiles},
		{name: "new --framework", args: []string{"new", "shop", "--framework", ""}, wantDirective: dirs},
		{name: "dev --dir", args: []string{"dev", "--dir", ""}, wantDirective: dirs},
		{name: "add service NAME is new", args: []string{"add", "service", "--dir", dir, ""}, wantDirective: noFiles},
		{name: "add outside a project offers nothing", args: []string{"add", "command", "--dir", outside, ""}, wantDirective: noFiles},
		{name: "check DIR", args: []string{"check", ""}, wantDirective: dirs},
		{name: "check takes one DIR", args: []string{"check", dir, ""}, wantDirective: noFiles},
		{name: "check --only", args: []string{"check", dir, "--only", ""}, want: []string{"external-config", "stateless"}, wantDirective: noFilesNoSpace},
		{name: "check --skip keeps the list", args: []string{"check", dir, "--skip", "stateless,"}, want: []string{"stateless,external-config"}, wantDirective: noFilesNoSpace},
		{name: "check --broker", args: []string{"check", "--broker", ""}, want: []string{"nats", "amqp", "mqtt"}, wantDirective: noFiles},
		{name: "check --profile", args: []string{"check", dir, "--profile", ""}, want: []string{"microservices", "monolith"}, wantDirective: noFiles},
		{name: "dev --profile", args: []string{"dev", "-C", dir, "--profile", ""}, want: []string{"microservices", "monolith"}, wantDirective: noFiles},
		{name: "dev --broker", args: []string{"dev", "--broker", ""}, want: []string{"nats", "amqp", "mqtt"}, wantDirective: noFiles},
		{name: "build --services", args: []string{"build", dir, "--services", ""}, want: []string{"Greeter", "Billing", "each"}, wantDirective: noFilesNoSpace},
		{name: "build --services after one", args: []string{"build", dir, "--services", "Greeter,"}, want: []string{"Greeter,Billing", "Greeter,each"}, wantDirective: noFilesNoSpace},
		{name: "docs TOPIC", args: []string{"docs", ""}, want: []string{"check", "cli"}, wantDirective: noFiles},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, directive := complete(t, tt.args...)
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("completions %q lack %q", got, w)
				}
			}
			if len(tt.want) == 0 && len(got) != 0 {
				t.Errorf("completions %q, want none", got)
			}
			if directive != tt.wantDirective {
				t.Errorf("directive %s, want %s", directive, tt.wantDirective)
			}
		})
	}
}
