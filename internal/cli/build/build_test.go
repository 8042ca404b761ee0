package build_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/purista-go/purista/internal/cli"
	buildcmd "github.com/purista-go/purista/internal/cli/build"
	"github.com/purista-go/purista/internal/cli/clitest"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/cli/root"
)

func TestNewCmdBuild(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		args      []string
		want      buildcmd.Options
		wantUsage string
	}{
		{name: "defaults"},
		{name: "all flags", args: []string{"proj", "--services", "User,Email", "--platform", "linux/amd64,linux/arm64",
			"-o", "out", "-t", "shop:v1", "--push", "localhost:5000/shop", "--base", "gcr.io/distroless/static-debian12", "--profile", "microservices",
			"--openapi", "api.json", "--keep-symbols"},
			want: buildcmd.Options{Dir: "proj", Services: []string{"User", "Email"}, Platforms: []string{"linux/amd64", "linux/arm64"},
				Output: "out", Tag: "shop:v1", Push: "localhost:5000/shop", Base: "gcr.io/distroless/static-debian12", Profile: "microservices",
				OpenAPI: "api.json", KeepSymbols: true}},
		{name: "tar and load", args: []string{"--services", "each", "--tar", "x.tar", "--load"},
			want: buildcmd.Options{Services: []string{"each"}, Tar: "x.tar", Load: true}},
		{name: "two dirs", args: []string{"a", "b"}, wantUsage: "at most one project folder"},
		{name: "output and tar", args: []string{"--output", "a", "--tar", "b"}, wantUsage: "exclusive"},
		{name: "bad platform", args: []string{"--platform", "linux/sparc"}, wantUsage: "unknown architecture"},
		{name: "windows", args: []string{"--platform", "windows/amd64"}, wantUsage: "linux binaries"},
		{name: "tar of two platforms", args: []string{"--platform", "linux/amd64,linux/arm64", "--tar", "x.tar"}, wantUsage: "one platform"},
		{name: "load of two platforms", args: []string{"--platform", "linux/amd64,linux/arm64", "--load"}, wantUsage: "one platform"},
		{name: "bad tag", args: []string{"--tag", "Shop:1"}, wantUsage: "--tag"},
		{name: "bad push", args: []string{"--push", "reg/repo@sha256:00"}, wantUsage: "--push"},
		{name: "unknown flag", args: []string{"--bogus"}, wantUsage: "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, _, _ := iostreams.Test()
			var got *buildcmd.Options
			cmd := buildcmd.NewCmdBuild(&cmdutil.Factory{IOStreams: ios}, func(o *buildcmd.Options) error { got = o; return nil })
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
			if got.IO != ios {
				t.Errorf("IO is not the Factory's")
			}
			g := *got
			g.IO = nil
			if !reflect.DeepEqual(g, tt.want) {
				t.Errorf("options\n got %+v\nwant %+v", g, tt.want)
			}
		})
	}
}

// run executes `purista build args…` through the root command like the binary does
// and returns the exit code, standard output and standard error.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	f := root.NewFactory(ios)
	code := cli.Execute(context.Background(), root.NewCmdRoot(f), append([]string{"build"}, args...), ios)
	return code, out.String(), errOut.String()
}

func TestBuildErrors(t *testing.T) {
	signup := signupDir(t)
	tmp := t.TempDir()
	file := filepath.Join(tmp, "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	notProject := t.TempDir()
	notLayout := t.TempDir() // a folder of the user's that --output must not replace
	if err := os.WriteFile(filepath.Join(notLayout, "keep.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(tmp, "no-docker.sock"))
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  []string
	}{
		{"not a project", []string{notProject}, 1, []string{"not inside a purista project", "purista build DIR", "purista new NAME"}},
		{"unknown service", []string{signup, "--services", "Billing"}, 2, []string{`unknown service "Billing"`, "User, Email", "--help"}},
		{"each with names", []string{signup, "--services", "each,User"}, 2, []string{"stands alone"}},
		{"bad platform", []string{signup, "--platform", "linux/sparc64"}, 2, []string{"unknown architecture", "linux/arm64"}},
		{"unknown profile", []string{signup, "--profile", "cloud"}, 2, []string{`--profile "cloud" is not a profile of purista.yaml`, "edge, microservices, monolith, serverless"}},
		{"unwritable output", []string{signup, "--output", filepath.Join(file, "image")}, 1, []string{"cannot write", "is not a folder", "Pick a writable place with --output"}},
		{"no daemon for --load", []string{signup, "--load"}, 1, []string{"no Docker daemon at unix://" + tmp, "--tar FILE", "--push", "Start Docker"}},
		{"unwritable tar", []string{signup, "--tar", filepath.Join(file, "x", "i.tar")}, 1, []string{"cannot write", "--tar"}},
		{"output is another folder", []string{signup, "--output", notLayout}, 1, []string{"cannot write " + notLayout, "not an OCI image layout", "--output"}},
		{"output is a file", []string{signup, "--output", file}, 1, []string{"cannot write " + file, "not a folder", "--output"}},
		{"tar is a folder", []string{signup, "--tar", notLayout}, 1, []string{"cannot write " + notLayout, "is a folder", "--tar"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.args...)
			if code != tt.wantCode || out != "" {
				t.Errorf("exit %d, stdout %q; want exit %d and no output", code, out, tt.wantCode)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not say %q", errOut, w)
				}
			}
			if strings.Contains(errOut, "compiling") { // every one of these is known before the slow compile
				t.Errorf("stderr %q: the error came only after compiling", errOut)
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(notLayout, "keep.txt")); err != nil || string(b) != "mine" {
		t.Errorf("the user's folder was touched: %q, %v", b, err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	code, out, _ := run(t, "--help")
	for _, w := range []string{"Examples:", "purista build --services each", "--platform", "--push", "--load", "--base", "--profile", "purista_no_nats", "Exit codes"} {
		if !strings.Contains(out, w) {
			t.Errorf("help does not mention %q", w)
		}
	}
	if code != 0 {
		t.Errorf("exit %d", code)
	}
}

// signupDir returns the absolute path of examples/signup.
func signupDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "examples", "signup"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "purista.yaml")); err != nil {
		t.Fatal(err)
	}
	return dir
}
