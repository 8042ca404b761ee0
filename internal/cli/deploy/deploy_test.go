package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/cli"
	"github.com/purista-go/purista/internal/cli/clitest"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	deploycmd "github.com/purista-go/purista/internal/cli/deploy"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/cli/root"
)

func TestNewCmdDeploy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		args      []string
		want      deploycmd.Options
		wantUsage string
	}{
		{name: "defaults", args: []string{"manifests", "--profile", "p"}},
		{name: "all flags", args: []string{"manifests", "proj", "--profile", "p", "--services", "User,Email", "-t", "reg/x:v1", "-o", "out",
			"--shutdown-timeout", "30s", "--env", "A=1,2", "--env", "B=2", "--broker-from", "configmap/b", "--broker-key", "k", "--broker-image", "nats:2",
			"-n", "shop", "--replicas", "3", "--cpu", "1", "--memory", "1Gi", "--memory-limit", "2Gi"},
			want: deploycmd.Options{Dir: "proj", Output: "out"}},
		{name: "two dirs", args: []string{"manifests", "a", "b", "--profile", "p"}, wantUsage: "at most one project folder"},
		{name: "bad shutdown", args: []string{"manifests", "--shutdown-timeout", "soon"}, wantUsage: `--shutdown-timeout "soon"`},
		{name: "unknown what", args: []string{"helm"}, wantUsage: `cannot deploy "helm": use manifests`},
		{name: "nothing", args: nil, wantUsage: "needs what to make: manifests"},
		{name: "unknown flag", args: []string{"manifests", "--bogus"}, wantUsage: "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, _, _ := iostreams.Test()
			var got *deploycmd.Options
			cmd := deploycmd.NewCmdDeploy(&cmdutil.Factory{IOStreams: ios}, func(o *deploycmd.Options) error { got = o; return nil })
			err := clitest.Parse(cmd, tt.args, ios)
			if tt.wantUsage != "" {
				if !cmdutil.IsUsageError(err) || !strings.Contains(err.Error(), tt.wantUsage) {
					t.Fatalf("err = %v, want a usage error with %q", err, tt.wantUsage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Dir != tt.want.Dir || got.Output != tt.want.Output || got.Render.Profile != "p" {
				t.Errorf("options = %+v, want %+v", got, tt.want)
			}
			if tt.name != "all flags" {
				if got.Render.Replicas != 1 || got.Render.CPU != "50m" || got.Render.Memory != "64Mi" {
					t.Errorf("defaults = %+v", got.Render)
				}
				return
			}
			r := got.Render
			if !slices.Equal(r.Services, []string{"User", "Email"}) || r.Tag != "reg/x:v1" || r.ShutdownTimeout != 30*time.Second ||
				!slices.Equal(r.Env, []string{"A=1,2", "B=2"}) || r.BrokerFrom != "configmap/b" || r.BrokerKey != "k" || r.BrokerImage != "nats:2" ||
				r.Namespace != "shop" || r.Replicas != 3 || r.CPU != "1" || r.Memory != "1Gi" || r.MemoryLimit != "2Gi" {
				t.Errorf("render options = %+v", r)
			}
		})
	}
}

// purista executes `purista args…` through the root command like the binary does and
// returns the exit code, standard output and standard error.
func purista(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	code := cli.Execute(context.Background(), root.NewCmdRoot(root.NewFactory(ios)), args, ios)
	return code, out.String(), errOut.String()
}

func TestManifests(t *testing.T) {
	t.Parallel()
	signup, err := filepath.Abs(filepath.Join("..", "..", "..", "examples", "signup"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	file := filepath.Join(tmp, "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
		wantErr  []string
	}{
		{name: "microservices", args: []string{"manifests", signup, "--profile", "microservices", "-o", filepath.Join(tmp, "ms")}, wantOut: []string{
			filepath.Join(tmp, "ms", "compose.yaml"), filepath.Join(tmp, "ms", "k8s", "signup-user.yaml"), filepath.Join(tmp, "ms", "k8s", "signup-email.yaml")},
			wantErr: []string{"purista build --services each --profile microservices", "docker compose -f " + filepath.Join(tmp, "ms", "compose.yaml") + " -p signup up -d",
				"secret signup-broker with the key PURISTA_BRIDGE"}},
		{name: "monolith", args: []string{"manifests", signup, "--profile", "monolith", "-o", filepath.Join(tmp, "mono"), "-t", "shop:v2"},
			wantOut: []string{filepath.Join(tmp, "mono", "compose.yaml"), filepath.Join(tmp, "mono", "k8s", "shop.yaml")},
			wantErr: []string{"purista build --tag shop:v2 --profile monolith", "kubectl apply -f " + filepath.Join(tmp, "mono", "k8s")}},
		{name: "no profile", args: []string{"manifests", signup}, wantCode: 2, wantErr: []string{"--profile is required", "edge, microservices, monolith, serverless", "--help"}},
		{name: "unknown profile", args: []string{"manifests", signup, "--profile", "cloud"}, wantCode: 2, wantErr: []string{`--profile "cloud" is not a profile`}},
		{name: "unknown service", args: []string{"manifests", signup, "--profile", "microservices", "--services", "Ghost"}, wantCode: 2, wantErr: []string{`unknown service "Ghost"`, "User, Email"}},
		{name: "not a project", args: []string{"manifests", tmp, "--profile", "monolith"}, wantCode: 1, wantErr: []string{"not inside a purista project", "purista deploy manifests DIR"}},
		{name: "unwritable output", args: []string{"manifests", signup, "--profile", "monolith", "-o", filepath.Join(file, "x")}, wantCode: 1, wantErr: []string{"--output"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := purista(t, append([]string{"deploy"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr %s", code, tt.wantCode, errOut)
			}
			if got := strings.Fields(out); !slices.Equal(got, tt.wantOut) {
				t.Errorf("stdout %q, want %q", got, tt.wantOut)
			}
			for _, p := range tt.wantOut {
				if _, err := os.Stat(p); err != nil {
					t.Errorf("not written: %v", err)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not say %q", errOut, w)
				}
			}
		})
	}
}

// TestCompletion completes the profiles and services of the project, as the shell
// scripts do through cobra's hidden __complete command.
func TestCompletion(t *testing.T) {
	t.Parallel()
	signup, err := filepath.Abs(filepath.Join("..", "..", "..", "examples", "signup"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{name: "verb", args: []string{"deploy", ""}, want: []string{"manifests"}},
		{name: "profile", args: []string{"deploy", "manifests", signup, "--profile", ""}, want: []string{"edge", "microservices", "monolith", "serverless"}},
		{name: "services", args: []string{"deploy", "manifests", signup, "--services", ""}, want: []string{"User", "Email", "each"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := purista(t, append([]string{"__complete"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var got []string
			for line := range strings.Lines(out) {
				if v, _, _ := strings.Cut(strings.TrimSpace(line), "\t"); v != "" && !strings.HasPrefix(v, ":") {
					got = append(got, v)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("completions %q, want %q", got, tt.want)
			}
		})
	}
}
