package image

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/moby/client"

	"github.com/purista-go/purista/internal/testutil/dockertest"
)

// fakeImages assembles images from a fake binary, without compiling: one per service,
// single-platform, or as a two-platform index when multi is set.
func fakeImages(t *testing.T, multi bool) []Image {
	t.Helper()
	ps := []v1.Platform{{OS: "linux", Architecture: "amd64"}}
	if multi {
		ps = append(ps, v1.Platform{OS: "linux", Architecture: "arm64"})
	}
	bases, err := fetchBases(context.Background(), "", ps, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []Image
	for _, svc := range []string{"User", "Email"} {
		img := Image{Name: "tiny-" + strings.ToLower(svc), Tag: "latest", Service: svc, Services: []string{svc}, Platforms: ps}
		imgs := make([]v1.Image, len(ps))
		for i, p := range ps {
			l, err := binaryLayer("tiny", []byte("\x7fELF fake "+p.Architecture), time.Unix(0, 0), bases[i])
			if err != nil {
				t.Fatal(err)
			}
			imgs[i], err = assemble(bases[i], l, p, imageConfig{binary: "tiny", title: img.Name, version: "latest",
				source: "https://example.com/tiny", project: "tiny", services: img.Services, contains: img.Services, created: time.Unix(0, 0)})
			if err != nil {
				t.Fatal(err)
			}
		}
		if multi {
			img.Index = makeIndex(imgs, ps)
			img.Digest, err = img.Index.Digest()
		} else {
			img.Image = imgs[0]
			img.Digest, err = imgs[0].Digest()
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, img)
	}
	return out
}

func TestWriteLayout(t *testing.T) {
	t.Parallel()
	for _, multi := range []bool{false, true} {
		imgs := fakeImages(t, multi)
		dir := filepath.Join(t.TempDir(), "dist", "image")
		for range 2 { // the second write replaces the first layout
			if err := WriteLayout(dir, imgs); err != nil {
				t.Fatal(err)
			}
		}
		idx, err := layout.ImageIndexFromPath(dir)
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Manifests) != 2 {
			t.Fatalf("multi=%v: index.json has %d entries, want 2", multi, len(im.Manifests))
		}
		for i, d := range im.Manifests {
			if d.Annotations[RefNameAnnotation] != imgs[i].Ref() || d.Digest != imgs[i].Digest {
				t.Errorf("entry %d = %v %s, want %s %s", i, d.Annotations, d.Digest, imgs[i].Ref(), imgs[i].Digest)
			}
		}
		entries, _ := os.ReadDir(filepath.Dir(dir))
		if len(entries) != 1 {
			t.Errorf("left behind next to the layout: %v", entries)
		}
	}
}

func TestWriteLayoutRefusesAndLeavesNothing(t *testing.T) {
	t.Parallel()
	imgs := fakeImages(t, false)
	base := t.TempDir()
	foreign := filepath.Join(base, "src")
	if err := os.MkdirAll(foreign, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(foreign, "main.go"), []byte("package main"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, dir, want string }{
		{"a source folder", foreign, "not an OCI image layout"},
		{"a file", file, "not a folder"},
		{"below a file", filepath.Join(file, "image"), "not a directory"},
	}
	for _, tt := range tests {
		err := WriteLayout(tt.dir, imgs)
		var oe *OutputError
		if !errors.As(err, &oe) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want an OutputError with %q", tt.name, err, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(foreign, "main.go")); err != nil {
		t.Errorf("the source folder was touched: %v", err)
	}
	entries, _ := os.ReadDir(base)
	if len(entries) != 2 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestWriteTarball(t *testing.T) {
	t.Parallel()
	imgs := fakeImages(t, false)
	file := filepath.Join(t.TempDir(), "out", "images.tar")
	if err := WriteTarball(file, imgs); err != nil {
		t.Fatal(err)
	}
	for _, want := range imgs {
		tag, err := name.NewTag(want.Ref())
		if err != nil {
			t.Fatal(err)
		}
		img, err := tarball.ImageFromPath(file, &tag)
		if err != nil {
			t.Fatal(err)
		}
		// A docker tarball keeps config and layers but no manifest: compare the config.
		got, _ := img.ConfigName()
		if w, _ := want.Image.ConfigName(); got != w {
			t.Errorf("%s: config in tarball %s, want %s", want.Ref(), got, w)
		}
	}
	err := WriteTarball(filepath.Join(t.TempDir(), "multi.tar"), fakeImages(t, true))
	if !errors.Is(err, ErrMultiPlatform) || !errors.Is(err, ErrUsage) {
		t.Errorf("multi-platform tarball: err = %v, want ErrMultiPlatform", err)
	}
	if err := WriteTarball(t.TempDir(), imgs); err == nil || !strings.Contains(err.Error(), "is a folder") {
		t.Errorf("tarball onto a folder: err = %v", err)
	}
}

func TestPushRefs(t *testing.T) {
	t.Parallel()
	one, two := fakeImages(t, false)[:1], fakeImages(t, false)
	tests := []struct {
		repo string
		imgs []Image
		want []string
	}{
		{"ghcr.io/acme/shop", one, []string{"ghcr.io/acme/shop:latest"}},
		{"ghcr.io/acme/shop:v1", one, []string{"ghcr.io/acme/shop:v1"}},
		{"localhost:5000/shop", two, []string{"localhost:5000/shop-user:latest", "localhost:5000/shop-email:latest"}},
		{"localhost:5000/shop:v2", two, []string{"localhost:5000/shop-user:v2", "localhost:5000/shop-email:v2"}},
		{"shop@sha256:00", one, nil},
		{"Bad/Repo", one, nil},
	}
	for _, tt := range tests {
		refs, err := PushRefs(tt.repo, tt.imgs)
		if tt.want == nil {
			if !errors.Is(err, ErrUsage) {
				t.Errorf("PushRefs(%q) err = %v, want a usage error", tt.repo, err)
			}
			continue
		}
		var got []string
		for _, r := range refs {
			got = append(got, r.String())
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("PushRefs(%q) = %v, %v; want %v", tt.repo, got, err, tt.want)
		}
	}
}

// testRegistry starts an in-process registry and returns its host:port.
func testRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func TestPush(t *testing.T) {
	t.Parallel()
	host := testRegistry(t)
	ctx := context.Background()
	for _, multi := range []bool{false, true} {
		imgs := fakeImages(t, multi)
		repo := host + "/acme/tiny:v1"
		if multi {
			repo = host + "/acme/multi:v1"
		}
		pushed, err := Push(ctx, repo, imgs)
		if err != nil {
			t.Fatal(err)
		}
		if len(pushed) != 2 {
			t.Fatalf("pushed %d images", len(pushed))
		}
		for i, p := range pushed {
			if !strings.HasSuffix(p.Ref.RepositoryStr(), "-"+strings.ToLower(imgs[i].Service)) || p.Ref.TagStr() != "v1" {
				t.Errorf("pushed to %s", p.Ref)
			}
			desc, err := remote.Get(p.Ref, remote.WithContext(ctx))
			if err != nil {
				t.Fatal(err)
			}
			if desc.Digest != imgs[i].Digest || p.Digest != imgs[i].Digest {
				t.Errorf("%s: registry has %s, want %s", p.Ref, desc.Digest, imgs[i].Digest)
			}
			if multi && !desc.MediaType.IsIndex() {
				t.Errorf("%s: media type %s, want an index", p.Ref, desc.MediaType)
			}
		}
	}
	if _, err := Push(ctx, "127.0.0.1:1/nothing", fakeImages(t, false)); err == nil || !strings.Contains(err.Error(), "push 127.0.0.1:1/nothing-user:latest") {
		t.Errorf("push to a closed port: err = %v", err)
	}
}

func TestBaseImage(t *testing.T) {
	t.Parallel()
	host := testRegistry(t)
	ctx := context.Background()
	base, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := base.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Cmd = []string{"/bin/sh"}
	cf.Config.Env = []string{"PATH=/usr/bin", "PURISTA_HEALTH_ADDR=127.0.0.1:1"}
	cf.Config.Labels = map[string]string{LabelSource: "https://base.example", "base": "yes"}
	if base, err = mutate.ConfigFile(base, cf); err != nil {
		t.Fatal(err)
	}
	ref := host + "/base:1"
	if _, err := Push(ctx, ref, []Image{{Name: "base", Tag: "1", Image: base}}); err != nil {
		t.Fatal(err)
	}
	amd := v1.Platform{OS: "linux", Architecture: "amd64"}
	bases, err := fetchBases(ctx, ref, []v1.Platform{amd}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := binaryLayer("tiny", []byte("bin"), time.Unix(0, 0), bases[0])
	if err != nil {
		t.Fatal(err)
	}
	img, err := assemble(bases[0], l, amd, imageConfig{binary: "tiny", title: "tiny", version: "1", project: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	got, _ := img.ConfigFile()
	c := got.Config
	if len(layers) != 2 || c.Cmd != nil || !slices.Equal(c.Env, []string{"PATH=/usr/bin", "PURISTA_HEALTH_ADDR=0.0.0.0:8081"}) ||
		c.Labels["base"] != "yes" || c.Labels[LabelSource] != "" {
		t.Errorf("on a base: %d layers, cmd %v, env %v, labels %v", len(layers), c.Cmd, c.Env, c.Labels)
	}
	if _, err := fetchBases(ctx, ref, []v1.Platform{{OS: "linux", Architecture: "arm64"}}, nil); err == nil || !strings.Contains(err.Error(), "not linux/arm64") {
		t.Errorf("base of the wrong platform: err = %v", err)
	}
}

func TestLoadNoDaemon(t *testing.T) {
	t.Parallel()
	host := "unix://" + filepath.Join(t.TempDir(), "docker.sock")
	_, err := Load(context.Background(), host, fakeImages(t, false))
	var nd *NoDaemonError
	if !errors.As(err, &nd) || nd.Host != host {
		t.Fatalf("err = %v, want a NoDaemonError for %s", err, host)
	}
	for _, want := range []string{"no Docker daemon at " + host, "--tar", "--push"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := Load(context.Background(), host, fakeImages(t, true)); !errors.Is(err, ErrMultiPlatform) {
		t.Errorf("multi-platform load: err = %v", err)
	}
}

// TestLoadDaemon loads into the Docker daemon of DOCKER_HOST (or the default socket);
// skipped without one (a failure under PURISTA_REQUIRE_DOCKER=1).
func TestLoadDaemon(t *testing.T) {
	ctx := context.Background()
	c := dockertest.RequireDocker(t)
	imgs := fakeImages(t, false)[:1]
	imgs[0].Tag = "purista-load-test"
	said, err := Load(ctx, "", imgs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = c.ImageRemove(ctx, imgs[0].Ref(), client.ImageRemoveOptions{Force: true}) })
	if !strings.Contains(strings.Join(said, "\n"), imgs[0].Ref()) {
		t.Errorf("daemon said %q, want it to name %s", said, imgs[0].Ref())
	}
	if _, err := c.ImageInspect(ctx, imgs[0].Ref()); err != nil {
		t.Errorf("inspect after load: %v", err)
	}
}
