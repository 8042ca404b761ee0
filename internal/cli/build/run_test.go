package build_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	buildcmd "github.com/purista-go/purista/internal/cli/build"
	"github.com/purista-go/purista/internal/cli/clitest"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/image"
	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
)

// TestBuildRunOnFakes: what `purista build` asks its image builder and project builder
// to do for each combination of flags, and the exit code and output for each outcome.
func TestBuildRunOnFakes(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	dir := t.TempDir()
	digest := v1.Hash{Algorithm: "sha256", Hex: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}
	amd, arm := v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	shop := image.Image{Name: "shop", Tag: "latest", Platforms: []v1.Platform{amd}, Digest: digest, Bridges: []string{"memory"}}
	epoch := time.Unix(0, 0).UTC()
	none, err := image.ParsePlatforms(nil) // no --platform: the builder's default
	if err != nil {
		t.Fatal(err)
	}
	base := image.Options{Dir: dir, Platforms: none, Created: epoch}
	tests := []struct {
		name      string
		args      []string
		buildErr  error
		errs      map[string]error
		projErr   error // what the project builder returns (the OpenAPI step)
		want      image.Options
		wantCalls []string // methods after Build, with their target
		wantProj  bool     // the project builder was asked for the OpenAPI binary
		wantCode  int
		wantOut   string
		wantErr   []string
	}{
		{name: "defaults: an OCI layout in the project", args: []string{"--openapi", "off"}, want: base,
			wantCalls: []string{"WriteLayout " + filepath.Join(dir, "dist", "image")}, wantOut: "shop:latest sha256:0011"},
		{name: "every image flag", args: []string{"--openapi", "off", "--services", "each", "--platform", "linux/amd64,linux/arm64/v8",
			"-t", "shop:v1", "--base", "gcr.io/distroless/static-debian12", "--profile", "micro", "-o", filepath.Join(dir, "out")},
			want: image.Options{Dir: dir, Services: []string{"each"}, Platforms: []v1.Platform{amd, arm}, Tag: "shop:v1",
				Base: "gcr.io/distroless/static-debian12", Created: epoch, Profile: "micro"},
			wantCalls: []string{"WriteLayout " + filepath.Join(dir, "out")}, wantOut: "shop:latest sha256:0011"},
		{name: "symbols kept", args: []string{"--openapi", "off", "--keep-symbols"},
			want:      image.Options{Dir: dir, Platforms: none, Created: epoch, KeepSymbols: true},
			wantCalls: []string{"WriteLayout " + filepath.Join(dir, "dist", "image")}, wantOut: "shop:latest sha256:0011"},
		{name: "tarball", args: []string{"--openapi", "off", "--tar", filepath.Join(dir, "i.tar")}, want: base,
			wantCalls: []string{"WriteTarball " + filepath.Join(dir, "i.tar")}, wantOut: "shop:latest sha256:0011"},
		{name: "load", args: []string{"--openapi", "off", "--load"}, want: base,
			wantCalls: []string{"CheckDaemon ", "Load "}, wantOut: "shop:latest sha256:0011"},
		{name: "push prints the pushed reference", args: []string{"--openapi", "off", "--push", "localhost:5000/shop"}, want: base,
			wantCalls: []string{"Push localhost:5000/shop"}, wantOut: "shop:latest\n"},
		{name: "no daemon for --load", args: []string{"--openapi", "off", "--load"},
			errs:      map[string]error{"CheckDaemon": &image.NoDaemonError{Host: "unix:///nope.sock", Err: errors.New("refused")}},
			wantCalls: nil, wantCode: cmdutil.ExitError, wantErr: []string{"Start Docker"}},
		{name: "the project does not compile", args: []string{"--openapi", "off"}, want: base,
			buildErr: &runtime.BuildError{Output: "main.go:1: syntax error", Err: errors.New("exit status 1")},
			wantCode: buildcmd.ExitNotBuilt, wantErr: []string{"Fix the compile errors above"}},
		{name: "not a project", args: []string{"--openapi", "off"}, want: base,
			buildErr: fmt.Errorf("%w: %s", project.ErrNotFound, dir), wantCode: cmdutil.ExitError, wantErr: []string{"purista build DIR"}},
		{name: "bad input found by the builder", args: []string{"--openapi", "off", "--services", "Billing"},
			want:     image.Options{Dir: dir, Services: []string{"Billing"}, Platforms: base.Platforms, Created: epoch},
			buildErr: fmt.Errorf("%w: unknown service %q", image.ErrUsage, "Billing"), wantCode: cmdutil.ExitUsage,
			wantErr: []string{`unknown service "Billing"`}},
		{name: "layout cannot be written", args: []string{"--openapi", "off"}, want: base,
			errs:      map[string]error{"WriteLayout": &image.OutputError{Path: "x", Err: errors.New("read-only")}},
			wantCalls: []string{"WriteLayout " + filepath.Join(dir, "dist", "image")}, wantCode: cmdutil.ExitError,
			wantErr: []string{"cannot write x", "Pick a writable place with --output"}},
		{name: "the OpenAPI binary does not compile", want: base, wantProj: true,
			projErr:  &runtime.BuildError{Output: "x.go:1: bad", Err: errors.New("exit status 1")},
			wantCode: buildcmd.ExitNotBuilt, wantErr: []string{"Fix the compile errors above"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, out, errOut := iostreams.Test()
			imgs := &clitest.Images{Result: image.Result{Manifest: &project.Manifest{Name: "shop", Main: "./cmd/shop"},
				Images: []image.Image{shop}}, BuildErr: tt.buildErr, Errs: tt.errs}
			var proj []runtime.BuildOptions
			f := &cmdutil.Factory{IOStreams: ios, Images: imgs,
				BuildProject: func(_ context.Context, o runtime.BuildOptions) (*runtime.Binary, error) {
					proj = append(proj, o)
					return nil, tt.projErr
				}}
			code := clitest.Execute(context.Background(), buildcmd.NewCmdBuild(f, nil), append([]string{dir}, tt.args...), ios)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, errOut)
			}
			calls := imgs.Calls()
			var after []string
			for i, c := range calls {
				if c.Method == "Build" {
					if i != 0 && !(i == 1 && calls[0].Method == "CheckDaemon") {
						t.Errorf("Build is call %d", i)
					}
					if c.Options.Logf == nil {
						t.Error("Build got no Logf")
					}
					c.Options.Logf = nil
					if !reflect.DeepEqual(c.Options, tt.want) {
						t.Errorf("Build options\n got %+v\nwant %+v", c.Options, tt.want)
					}
					continue
				}
				if c.Method != "CheckDaemon" && !reflect.DeepEqual(c.Refs, []string{"shop:latest"}) {
					t.Errorf("%s got images %v", c.Method, c.Refs)
				}
				after = append(after, c.Method+" "+c.Target)
			}
			if tt.wantCalls != nil && !reflect.DeepEqual(after, tt.wantCalls) {
				t.Errorf("calls after Build %q, want %q", after, tt.wantCalls)
			}
			if (len(proj) > 0) != tt.wantProj {
				t.Errorf("project builder calls %+v, want some: %v", proj, tt.wantProj)
			} else if tt.wantProj && (proj[0].Dir != dir || proj[0].Main != "./cmd/shop") {
				t.Errorf("project builder options %+v", proj[0])
			}
			if tt.wantCode == cmdutil.ExitOK {
				clitest.Contains(t, "stdout", out.String(), tt.wantOut)
			} else if out.Len() != 0 {
				t.Errorf("stdout %q after a failure", out)
			}
			clitest.Contains(t, "stderr", errOut.String(), tt.wantErr...)
		})
	}
}
