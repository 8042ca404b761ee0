package build_test

import (
	"archive/tar"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/purista-go/purista/internal/cli/build"
	"github.com/purista-go/purista/internal/image"
)

// TestEndToEnd builds examples/signup into an OCI layout with the real command, reads
// it back, checks the image, runs the binary taken out of the layer and builds again to
// prove the digest is reproducible.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles examples/signup")
	}
	signup := signupDir(t)
	out := filepath.Join(t.TempDir(), "image")
	start := time.Now()
	code, stdout, stderr := run(t, signup, "--output", out, "--tag", "signup:e2e", "--platform", "linux/amd64")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	t.Logf("purista build took %s", time.Since(start).Round(time.Millisecond))
	fields := strings.Fields(stdout)
	if len(fields) != 2 || fields[0] != "signup:e2e" || !strings.HasPrefix(fields[1], "sha256:") {
		t.Fatalf("stdout = %q, want \"signup:e2e sha256:…\"", stdout)
	}

	idx, err := layout.ImageIndexFromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest.String() != fields[1] ||
		im.Manifests[0].Annotations[image.RefNameAnnotation] != "signup:e2e" {
		t.Fatalf("index.json = %+v, want one signup:e2e %s", im.Manifests, fields[1])
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if !slices.Equal(c.Entrypoint, []string{"/app/signup"}) || c.User != "65532:65532" ||
		!slices.Equal(c.Env, []string{"PURISTA_HEALTH_ADDR=0.0.0.0:8081"}) || cf.Architecture != "amd64" || cf.OS != "linux" {
		t.Errorf("config: entrypoint %v user %q env %v platform %s/%s", c.Entrypoint, c.User, c.Env, cf.OS, cf.Architecture)
	}
	if c.Labels[image.LabelTitle] != "signup" || c.Labels[image.LabelVersion] != "e2e" || c.Labels[image.LabelServices] != "User,Email" ||
		c.Labels[image.LabelSource] != "https://github.com/purista-go/purista/examples/signup" {
		t.Errorf("labels = %v", c.Labels)
	}
	bin := extract(t, img, "app/signup")
	checkBridges(t, bin, c.Labels, []string{"memory", "nats", "amqp", "mqtt"}, "")
	checkStripped(t, bin)

	if goruntime.GOOS == "linux" && goruntime.GOARCH == "amd64" {
		runBinary(t, bin)
	} else {
		t.Logf("not running the linux/amd64 binary on %s/%s", goruntime.GOOS, goruntime.GOARCH)
	}

	checkOpenAPI(t, filepath.Join(filepath.Dir(out), build.OpenAPIFile), "/users")

	// The same source again: the same digest (the compile now comes from the build cache).
	code, again, stderr := run(t, signup, "--output", filepath.Join(t.TempDir(), "again"), "--tag", "signup:e2e", "--platform", "linux/amd64")
	if code != 0 {
		t.Fatalf("second build: exit %d\n%s", code, stderr)
	}
	if again != stdout {
		t.Errorf("not reproducible: first %q, then %q", stdout, again)
	}
}

// checkOpenAPI checks that file is an OpenAPI 3.1 document with an operation at each
// of paths.
func checkOpenAPI(t *testing.T, file string, paths ...string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the OpenAPI document beside the image output: %v", err)
	}
	var doc struct {
		OpenAPI string                     `json:"openapi"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("%s: openapi %q, want 3.1.x", file, doc.OpenAPI)
	}
	for _, p := range paths {
		if doc.Paths[p] == nil {
			t.Errorf("%s has no path %s: %s", file, p, data)
		}
	}
}

// checkBridges checks, from the bridges label and from the module list and build
// settings that the Go toolchain writes into the binary (`go version -m`), that bin
// links the client library of each broker bridge in want and of no other.
func checkBridges(t *testing.T, bin string, labels map[string]string, want []string, wantTags string) {
	t.Helper()
	if got := labels[image.LabelBridges]; got != strings.Join(want, ",") {
		t.Errorf("label %s = %q, want %q", image.LabelBridges, got, strings.Join(want, ","))
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	tags := ""
	for _, s := range info.Settings {
		if s.Key == "-tags" {
			tags = s.Value
		}
	}
	if tags != wantTags {
		t.Errorf("built with -tags=%q, want %q", tags, wantTags)
	}
	clients := map[string]string{"nats": "github.com/nats-io/nats.go", "amqp": "github.com/rabbitmq/amqp091-go", "mqtt": "github.com/eclipse/paho.golang"}
	for kind, mod := range clients {
		linked := slices.ContainsFunc(info.Deps, func(m *debug.Module) bool { return m.Path == mod })
		if linked != slices.Contains(want, kind) {
			t.Errorf("the binary links %s: %v, want %v (bridges %v)", mod, linked, !linked, want)
		}
	}
}

// checkStripped checks that bin has no symbol table and no DWARF sections (-s -w).
func checkStripped(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, s := range f.Sections {
		if s.Name == ".symtab" || strings.HasPrefix(s.Name, ".debug") || strings.HasPrefix(s.Name, ".zdebug") {
			t.Errorf("the binary is not stripped: it has section %s", s.Name)
		}
	}
}

// extract writes the file name of img's layers to a temporary executable.
func extract(t *testing.T, img v1.Image, name string) string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rc.Close() })
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s is not in the layer", name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name != name {
			continue
		}
		if h.Mode != 0o755 || h.Uid != 0 || !h.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: mode %o uid %d mtime %v", name, h.Mode, h.Uid, h.ModTime)
		}
		p := filepath.Join(t.TempDir(), filepath.Base(name))
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, tr); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// runBinary starts the extracted binary with health on a free loopback port, waits
// for /healthz to answer 200, then stops it with SIGTERM and expects exit 0.
func runBinary(t *testing.T, bin string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "PURISTA_HEALTH_ADDR="+addr, "PURISTA_BRIDGE=memory", "PURISTA_SERVICES=")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	healthy := false
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				healthy = true
				break
			}
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	if !healthy {
		t.Fatalf("the binary from the image never answered /healthz on %s\n%s", addr, logs.String())
	}
	if err != nil {
		t.Errorf("the binary from the image exited with %v after SIGTERM\n%s", err, logs.String())
	}
}

// TestPushCommand pushes one image per service of examples/signup, for its NATS
// profile, to an in-process registry with `purista build --services each --profile
// microservices --push` and reads them back: their binaries link NATS and memory only.
func TestPushCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles examples/signup")
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	dist := filepath.Join(signupDir(t), "dist")
	_, statErr := os.Stat(dist)
	hadDist := statErr == nil
	apiDoc := filepath.Join(t.TempDir(), "openapi.json") // not into the repository's examples/signup/dist
	code, stdout, stderr := run(t, signupDir(t), "--services", "each", "--push", host+"/acme/signup:v1", "--platform", "linux/amd64",
		"--profile", "microservices", "--openapi", apiDoc)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout = %q, want two pushed references", stdout)
	}
	for i, svc := range []string{"User", "Email"} {
		ref, digest, ok := strings.Cut(lines[i], "@")
		if !ok || ref != host+"/acme/signup-"+strings.ToLower(svc)+":v1" {
			t.Errorf("line %d = %q", i, lines[i])
			continue
		}
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(r)
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := img.Digest(); d.String() != digest {
			t.Errorf("%s: registry digest %s, printed %s", ref, d, digest)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(cf.Config.Env, "PURISTA_SERVICES="+svc) {
			t.Errorf("%s: env %v lacks PURISTA_SERVICES=%s", ref, cf.Config.Env, svc)
		}
		checkBridges(t, extract(t, img, "app/signup"), cf.Config.Labels, []string{"memory", "nats"}, "purista_no_amqp,purista_no_mqtt")
	}
	if _, err := os.Stat(dist); err == nil && !hadDist {
		t.Errorf("--push also wrote the default OCI layout into examples/signup/dist")
	}
	if _, err := os.Stat(apiDoc); err != nil {
		t.Errorf("--push with --openapi FILE wrote no OpenAPI document: %v", err)
	}
}
