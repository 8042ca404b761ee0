package image

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
)

// tinyProject writes a project whose binary needs only the standard library, so that
// building it (also for another architecture) is quick.
func tinyProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":             "module example.com/tiny\n\ngo 1.26\n",
		"cmd/tiny/main.go":   "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"tiny\") }\n",
		"purista.yaml":       "name: tiny\nmodule: example.com/tiny\nmain: ./cmd/tiny\nservices:\n  - name: User\n    version: \"1\"\n    path: services/user/v1\n  - name: Email\n    version: \"1\"\n    path: services/email/v1\n",
		"services/README.md": "contracts would live here\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testManifest() *project.Manifest {
	return &project.Manifest{Name: "signup", Module: "example.com/signup", Main: "./cmd/signup",
		Services: []project.Service{{Name: "User", Version: "1", Path: "u"}, {Name: "Email", Version: "1", Path: "e"}}}
}

func TestParsePlatforms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      []string
		want    []string
		wantErr string
	}{
		{in: nil, want: nil},
		{in: []string{"linux/amd64"}, want: []string{"linux/amd64"}},
		{in: []string{"linux/amd64,linux/arm64", "linux/amd64"}, want: []string{"linux/amd64", "linux/arm64"}},
		{in: []string{" linux/arm/v7 "}, want: []string{"linux/arm/v7"}},
		{in: []string{"linux"}, wantErr: "not OS/ARCH"},
		{in: []string{"darwin/arm64"}, wantErr: "images run linux binaries"},
		{in: []string{"linux/sparc"}, wantErr: "unknown architecture"},
		{in: []string{"linux/arm/v9"}, wantErr: "variant"},
		{in: []string{"linux/386/v2"}, wantErr: "has no variants"},
		{in: []string{"linux/amd64/v3/x"}, wantErr: "not OS/ARCH"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.in, ";"), func(t *testing.T) {
			t.Parallel()
			got, err := ParsePlatforms(tt.in)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a usage error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, p := range got {
				s = append(s, p.String())
			}
			if !slices.Equal(s, tt.want) {
				t.Errorf("got %v, want %v", s, tt.want)
			}
		})
	}
}

func TestParseTag(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, def, repo, tag string }{
		{in: "", def: "Signup", repo: "signup", tag: "latest"},
		{in: "shop", repo: "shop", tag: "latest"},
		{in: "shop:v1.2.0", repo: "shop", tag: "v1.2.0"},
		{in: "localhost:5000/acme/shop:1", repo: "localhost:5000/acme/shop", tag: "1"},
		{in: "Shop:1"},
		{in: "shop@sha256:abc"},
		{in: "shop:bad tag"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			repo, tag, err := ParseTag(tt.in, tt.def)
			if tt.repo == "" {
				if !errors.Is(err, ErrUsage) {
					t.Fatalf("ParseTag(%q) err = %v, want a usage error", tt.in, err)
				}
				return
			}
			if err != nil || repo != tt.repo || tag != tt.tag {
				t.Errorf("ParseTag(%q) = %q, %q, %v; want %q, %q", tt.in, repo, tag, err, tt.repo, tt.tag)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		services []string
		tag      string
		want     []string // name:tag=services
		wantErr  string
	}{
		{name: "all", want: []string{"signup:latest="}},
		{name: "one service, case-insensitive", services: []string{"user"}, want: []string{"signup:latest=User"}},
		{name: "two services", services: []string{"User", "Email", "user"}, tag: "app:v2", want: []string{"app:v2=User,Email"}},
		{name: "each", services: []string{"each"}, tag: "shop:1", want: []string{"shop-user:1=User", "shop-email:1=Email"}},
		{name: "unknown", services: []string{"Billing"}, wantErr: `unknown service "Billing": purista.yaml lists User, Email`},
		{name: "each with names", services: []string{"each", "User"}, wantErr: "stands alone"},
		{name: "bad tag", tag: "UPPER", wantErr: "--tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := plan(testManifest(), tt.services, tt.tag)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a usage error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, g := range got {
				s = append(s, g.name+":"+g.tag+"="+strings.Join(g.services, ","))
			}
			if !slices.Equal(s, tt.want) {
				t.Errorf("plan = %v, want %v", s, tt.want)
			}
		})
	}
}

func TestSetEnvAndSourceURL(t *testing.T) {
	t.Parallel()
	got := setEnv([]string{"PATH=/bin", "PURISTA_HEALTH_ADDR=x"}, map[string]string{"PURISTA_HEALTH_ADDR": HealthAddr, "B": "2", "A": "1"})
	want := []string{"PATH=/bin", "PURISTA_HEALTH_ADDR=" + HealthAddr, "A=1", "B=2"}
	if !slices.Equal(got, want) {
		t.Errorf("setEnv = %v, want %v", got, want)
	}
	for mod, want := range map[string]string{"github.com/acme/shop": "https://github.com/acme/shop", "shop": "", "local/x": ""} {
		if got := SourceURL(mod); got != want {
			t.Errorf("SourceURL(%q) = %q, want %q", mod, got, want)
		}
	}
}

// layerFiles returns name → header of the files in the image's only layer.
func layerFiles(t *testing.T, img v1.Image) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	hdrs, data := map[string]*tar.Header{}, map[string][]byte{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			hdrs[h.Name] = h
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			data[h.Name] = b
		}
		_ = rc.Close()
	}
	return hdrs, data
}

// checkImage verifies the config and layer of a built image.
func checkImage(t *testing.T, img v1.Image, p v1.Platform, services string) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if cf.OS != p.OS || cf.Architecture != p.Architecture || !cf.Created.Equal(time.Unix(0, 0)) {
		t.Errorf("config os/arch/created = %s/%s %v, want %s", cf.OS, cf.Architecture, cf.Created, p.String())
	}
	if !slices.Equal(c.Entrypoint, []string{"/app/tiny"}) || c.User != User || c.Cmd != nil {
		t.Errorf("entrypoint %v user %q cmd %v", c.Entrypoint, c.User, c.Cmd)
	}
	wantEnv := []string{"PURISTA_HEALTH_ADDR=0.0.0.0:8081"}
	if services != "" {
		wantEnv = append(wantEnv, "PURISTA_SERVICES="+services)
	}
	if !slices.Equal(c.Env, wantEnv) {
		t.Errorf("env = %v, want %v", c.Env, wantEnv)
	}
	if _, ok := c.ExposedPorts["8081/tcp"]; !ok || len(c.ExposedPorts) != 1 {
		t.Errorf("exposed ports = %v", c.ExposedPorts)
	}
	if c.Labels[LabelTitle] == "" || c.Labels[LabelVersion] != "latest" || c.Labels[LabelSource] != "https://example.com/tiny" || c.Labels[LabelProject] != "tiny" {
		t.Errorf("labels = %v", c.Labels)
	}
	hdrs, data := layerFiles(t, img)
	bin, dir := hdrs["app/tiny"], hdrs["app/"]
	if len(hdrs) != 2 || bin == nil || dir == nil {
		t.Fatalf("layer files = %v, want app/ and app/tiny", hdrs)
	}
	if bin.Mode != 0o755 || bin.Uid != 0 || !bin.ModTime.Equal(time.Unix(0, 0)) || dir.Mode != 0o755 {
		t.Errorf("app/tiny mode %o uid %d mtime %v; app/ mode %o", bin.Mode, bin.Uid, bin.ModTime, dir.Mode)
	}
	if b := data["app/tiny"]; len(b) < 4 || string(b[:4]) != "\x7fELF" {
		t.Errorf("app/tiny is not an ELF binary")
	}
}

func TestBuildEachMultiPlatformReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a project for two platforms")
	}
	dir := tinyProject(t)
	ps, err := ParsePlatforms([]string{"linux/amd64,linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var logged []string
	opts := Options{Dir: filepath.Join(dir, "services"), Services: []string{"each"}, Platforms: ps,
		Logf: func(f string, a ...any) { logged = append(logged, f) }}
	res, err := Build(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Root != dir || len(res.Images) != 2 || len(logged) == 0 {
		t.Fatalf("root %s, %d images, %d log lines", res.Root, len(res.Images), len(logged))
	}
	for i, want := range []struct{ ref, svc string }{{"tiny-user:latest", "User"}, {"tiny-email:latest", "Email"}} {
		img := res.Images[i]
		if img.Ref() != want.ref || img.Service != want.svc || img.Index == nil || img.Image != nil {
			t.Fatalf("image %d = %s service %q index %v", i, img.Ref(), img.Service, img.Index != nil)
		}
		im, err := img.Index.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Manifests) != 2 {
			t.Fatalf("index has %d manifests", len(im.Manifests))
		}
		for j, d := range im.Manifests {
			if d.Platform == nil || !d.Platform.Equals(ps[j]) {
				t.Errorf("manifest %d platform %v, want %v", j, d.Platform, ps[j])
			}
			sub, err := img.Index.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			checkImage(t, sub, ps[j], want.svc)
		}
	}
	again, err := Build(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range res.Images {
		if res.Images[i].Digest != again.Images[i].Digest {
			t.Errorf("%s: digest %s, then %s: not reproducible", res.Images[i].Ref(), res.Images[i].Digest, again.Images[i].Digest)
		}
	}
}

func TestBuildSingleAndErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a project")
	}
	t.Parallel()
	dir := tinyProject(t)
	ctx := context.Background()
	res, err := Build(ctx, Options{Dir: dir, Platforms: []v1.Platform{{OS: "linux", Architecture: "amd64"}}})
	if err != nil {
		t.Fatal(err)
	}
	img := res.Images[0]
	if img.Ref() != "tiny:latest" || img.Image == nil || img.Index != nil {
		t.Fatalf("image %s, single %v", img.Ref(), img.Image != nil)
	}
	checkImage(t, img.Image, v1.Platform{OS: "linux", Architecture: "amd64"}, "")
	cf, _ := img.Image.ConfigFile()
	if got := cf.Config.Labels[LabelServices]; got != "User,Email" {
		t.Errorf("services label = %q, want User,Email", got)
	}
	if got := cf.Config.Labels[LabelBridges]; got != "memory,nats,amqp,mqtt" || !slices.Equal(img.Bridges, AllBridges()) || res.Tags != nil {
		t.Errorf("bridges label = %q, image bridges %v, tags %v; want every bridge and no tags", got, img.Bridges, res.Tags)
	}

	broken := tinyProject(t)
	if err := os.WriteFile(filepath.Join(broken, "cmd", "tiny", "main.go"), []byte("package main\n\nfunc main() { undefinedThing() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		opts  Options
		check func(error) bool
	}{
		{"does not compile", Options{Dir: broken}, func(err error) bool {
			var be *runtime.BuildError
			return errors.As(err, &be) && strings.Contains(be.Output, "undefinedThing")
		}},
		{"not a project", Options{Dir: t.TempDir()}, func(err error) bool { return errors.Is(err, project.ErrNotFound) }},
		{"unknown service", Options{Dir: dir, Services: []string{"Nope"}}, func(err error) bool { return errors.Is(err, ErrUsage) }},
		{"bad platform", Options{Dir: dir, Platforms: []v1.Platform{{OS: "windows", Architecture: "amd64"}}}, func(err error) bool { return errors.Is(err, ErrUsage) }},
		{"bad base", Options{Dir: dir, Base: "UPPER CASE"}, func(err error) bool { return errors.Is(err, ErrUsage) }},
		{"unknown profile", Options{Dir: dir, Profile: "edge"}, func(err error) bool {
			return errors.Is(err, ErrUsage) && strings.Contains(err.Error(), `--profile "edge"`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Build(ctx, tt.opts); !tt.check(err) {
				t.Errorf("err = %v", err)
			}
		})
	}
}
