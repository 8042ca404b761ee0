// Package image turns a purista project into container images without a Docker daemon:
// it compiles the project's one binary statically for each asked platform
// (CGO_ENABLED=0, -trimpath, GOOS=linux) with runtime.Build and assembles OCI images
// with go-containerregistry. `purista build` is its command line.
//
// Every image holds one layer on top of an empty image (or of a base image):
//
//	/app/            0755, root
//	/app/<name>      0755, root: the project binary (purista.yaml name)
//
// and a config with Entrypoint ["/app/<name>"], Env PURISTA_HEALTH_ADDR=0.0.0.0:8081
// (plus PURISTA_SERVICES=<names> for a service image), ExposedPorts 8081/tcp, User
// 65532:65532 and the labels org.opencontainers.image.{title,version,source},
// dev.purista.project, dev.purista.services (the services the image runs, comma-
// separated) and dev.purista.bridges (the bridges its binary links). With more than one
// platform the result is an OCI image index with one image per platform.
//
// The binary links every bridge unless Options.Profile names a profile: then the build
// tags of BridgeTags leave out the broker bridges the profile does not use.
//
// Images are reproducible: file times, the config's created time and the history use
// one fixed time (Options.Created, by default the Unix epoch), the layer is compressed
// deterministically, and the binary is built with -trimpath, so two builds of the same
// source with the same Go toolchain give the same digest.
//
// Typical use:
//
//	res, err := image.Build(ctx, image.Options{Dir: ".", Services: []string{"each"}})
//	err = image.WriteLayout("dist/image", res.Images)          // or WriteTarball, Push, Load
//	for _, img := range res.Images { fmt.Println(img.Ref(), img.Digest) }
package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
)

// Each, given as the only entry of Options.Services, builds one image per service of the
// manifest (the microservices model), named <project>-<service>.
const Each = "each"

// Fixed settings of every image.
const (
	// AppDir is the folder of the binary inside the image.
	AppDir = "/app"
	// HealthAddr is the PURISTA_HEALTH_ADDR of every image: health on all interfaces.
	HealthAddr = "0.0.0.0:8081"
	// HealthPort is the exposed port of the health endpoint.
	HealthPort = "8081/tcp"
	// User is the non-root user (and group) the entrypoint runs as.
	User = "65532:65532"
)

// ErrUsage is wrapped by errors caused by bad input (unknown service, bad platform,
// bad tag or base reference): the command line, not the machine, must change.
var ErrUsage = errors.New("bad build input")

// Options say what to build.
type Options struct {
	// Dir is the project root or any folder inside the project.
	Dir string
	// Services selects what the image runs. Empty: one image with every service.
	// Names (case-insensitive, as in purista.yaml): one image that runs these services
	// (PURISTA_SERVICES). []string{Each}: one image per service.
	Services []string
	// Platforms to build for; empty means linux on the host's architecture.
	Platforms []v1.Platform
	// Tag is NAME or NAME:TAG of the image (default <project>:latest); with Each the
	// service is appended to NAME: <NAME>-<service>:TAG.
	Tag string
	// Base is a base image reference ("" for an empty image), fetched from its registry
	// for each platform.
	Base string
	// Created is the fixed time of files, config and history (zero: the Unix epoch).
	Created time.Time
	// Keychain authenticates base image pulls (nil: authn.DefaultKeychain).
	Keychain authn.Keychain
	// Go is the go command (default "go").
	Go string
	// Profile, when set, names the purista.yaml profile the image is for: its binary
	// links the memory bridge and the bridge of the profile only (see BridgeTags).
	// Empty: the binary links every bridge and runs with any PURISTA_BRIDGE.
	Profile string
	// KeepSymbols keeps the symbol table and DWARF debug information in the binary. By
	// default it is stripped (-ldflags="-s -w"), unless GOFLAGS sets -ldflags itself.
	KeepSymbols bool
	// Logf, when set, receives progress lines ("compiling signup for linux/amd64").
	Logf func(format string, args ...any)
}

// Image is one built image: a single-platform image or a multi-platform index.
type Image struct {
	// Name is the repository name, e.g. "signup" or "signup-user".
	Name string
	// Tag is the tag, e.g. "latest".
	Tag string
	// Service is the service of a per-service image (--services each), else "".
	Service string
	// Services are the services the image runs (PURISTA_SERVICES), nil for all.
	Services []string
	// Bridges are the bridges linked into the image's binary ("memory", "nats", …).
	Bridges []string
	// Image is set when one platform was built.
	Image v1.Image
	// Index is set when several platforms were built.
	Index v1.ImageIndex
	// Platforms are the built platforms, in order.
	Platforms []v1.Platform
	// Digest is the digest of Image or Index.
	Digest v1.Hash
}

// Ref returns NAME:TAG.
func (i Image) Ref() string { return i.Name + ":" + i.Tag }

// Result is what Build made.
type Result struct {
	// Root is the absolute project root.
	Root string
	// Manifest is the project's purista.yaml.
	Manifest *project.Manifest
	// Images are the built images, in manifest order of their services.
	Images []Image
	// Bridges are the bridges linked into the binary, in the order of AllBridges.
	Bridges []string
	// Tags are the build tags the binary was compiled with (nil: none).
	Tags []string
}

// target is an image to make, before compiling.
type target struct {
	name, tag, service string
	services           []string
}

// Build compiles the project once per platform and assembles the images. A compile
// error is a *runtime.BuildError; bad input wraps ErrUsage; a folder outside any project
// wraps project.ErrNotFound.
func Build(ctx context.Context, opts Options) (*Result, error) {
	m, root, err := project.Find(opts.Dir)
	if err != nil {
		return nil, err
	}
	targets, err := plan(m, opts.Services, opts.Tag)
	if err != nil {
		return nil, err
	}
	bridges, tags, err := BridgeTags(m, opts.Profile)
	if err != nil {
		return nil, err
	}
	platforms := opts.Platforms
	if len(platforms) == 0 {
		platforms = []v1.Platform{DefaultPlatform()}
	}
	if err := checkPlatforms(platforms); err != nil {
		return nil, err
	}
	created := opts.Created
	if created.IsZero() {
		created = time.Unix(0, 0).UTC()
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	bases, err := fetchBases(ctx, opts.Base, platforms, opts.Keychain)
	if err != nil {
		return nil, err
	}

	tmp, err := os.MkdirTemp("", "purista-build-*")
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	layers := make([]v1.Layer, len(platforms))
	for i, p := range platforms {
		logf("compiling %s for %s with the %s bridges", m.Name, p.String(), strings.Join(bridges, ", "))
		bin, err := runtime.Build(ctx, runtime.BuildOptions{
			Dir: root, Main: m.Main, Go: opts.Go, Env: goEnv(p, os.Getenv("GOFLAGS"), tags, !opts.KeepSymbols),
			Output: filepath.Join(tmp, strings.ReplaceAll(p.String(), "/", "_"), m.Name),
		})
		if err != nil {
			return nil, err
		}
		logf("compiled %s for %s in %s", m.Name, p.String(), bin.Took.Round(100*time.Millisecond))
		data, err := os.ReadFile(bin.Path)
		if err != nil {
			return nil, fmt.Errorf("build: %w", err)
		}
		if layers[i], err = binaryLayer(m.Name, data, created, bases[i]); err != nil {
			return nil, fmt.Errorf("build: %w", err)
		}
	}

	res := &Result{Root: root, Manifest: m, Bridges: bridges, Tags: tags}
	for _, t := range targets {
		cfg := imageConfig{binary: m.Name, title: t.name, version: t.tag, source: SourceURL(m.Module),
			project: m.Name, services: t.services, contains: t.services, bridges: bridges, created: created}
		if len(t.services) == 0 {
			cfg.contains = m.ServiceNames()
		}
		img := Image{Name: t.name, Tag: t.tag, Service: t.service, Services: t.services, Bridges: bridges, Platforms: platforms}
		imgs := make([]v1.Image, len(platforms))
		for i, p := range platforms {
			if imgs[i], err = assemble(bases[i], layers[i], p, cfg); err != nil {
				return nil, fmt.Errorf("build %s for %s: %w", t.name, p.String(), err)
			}
		}
		if len(platforms) == 1 {
			img.Image = imgs[0]
			img.Digest, err = imgs[0].Digest()
		} else {
			img.Index = makeIndex(imgs, platforms)
			img.Digest, err = img.Index.Digest()
		}
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", t.name, err)
		}
		res.Images = append(res.Images, img)
	}
	return res, nil
}

// Planned names one image that Build makes for a service selection and a tag.
type Planned struct {
	// Name is the repository name, e.g. "signup" or "ghcr.io/acme/signup-user".
	Name string
	// Tag is the tag, e.g. "latest".
	Tag string
	// Service is the service of a per-service image, else "".
	Service string
	// Services are the services the image runs (PURISTA_SERVICES), nil for all.
	Services []string
}

// Ref returns NAME:TAG.
func (p Planned) Ref() string { return p.Name + ":" + p.Tag }

// Plan returns, without compiling anything, the images Build makes for services and
// tag (as Options.Services and Options.Tag), in the same order and with the same names.
// Bad input wraps ErrUsage.
func Plan(m *project.Manifest, services []string, tag string) ([]Planned, error) {
	targets, err := plan(m, services, tag)
	if err != nil {
		return nil, err
	}
	out := make([]Planned, len(targets))
	for i, t := range targets {
		out[i] = Planned{Name: t.name, Tag: t.tag, Service: t.service, Services: t.services}
	}
	return out, nil
}

// plan resolves the service selection and the tag into the images to make.
func plan(m *project.Manifest, services []string, tag string) ([]target, error) {
	name, version, err := ParseTag(tag, m.Name)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range services {
		if s = strings.TrimSpace(s); s != "" {
			names = append(names, s)
		}
	}
	if len(names) == 0 {
		return []target{{name: name, tag: version}}, nil
	}
	if slices.ContainsFunc(names, func(s string) bool { return strings.EqualFold(s, Each) }) {
		if len(names) > 1 {
			return nil, fmt.Errorf("%w: --services %s stands alone; give either %q or service names", ErrUsage, strings.Join(names, ","), Each)
		}
		if len(m.Services) == 0 {
			return nil, fmt.Errorf("%w: --services each: %s lists no services (add one with `purista add service NAME`)", ErrUsage, project.FileName)
		}
		out := make([]target, 0, len(m.Services))
		for _, s := range m.Services {
			out = append(out, target{name: name + "-" + strings.ToLower(s.Name), tag: version, service: s.Name, services: []string{s.Name}})
		}
		return out, nil
	}
	var resolved []string
	for _, n := range names {
		s, ok := m.Service(n)
		if !ok {
			return nil, fmt.Errorf("%w: unknown service %q: %s lists %s (or use --services each)", ErrUsage, n, project.FileName, quoteList(m.ServiceNames()))
		}
		if !slices.Contains(resolved, s.Name) {
			resolved = append(resolved, s.Name)
		}
	}
	t := target{name: name, tag: version, services: resolved}
	if len(resolved) == 1 {
		t.service = resolved[0]
	}
	return []target{t}, nil
}

func quoteList(names []string) string {
	if len(names) == 0 {
		return "no services"
	}
	return strings.Join(names, ", ")
}

// goEnv is the environment of a static, reproducible build for p with the build tags
// tags, keeping the flags of goflags (the caller's GOFLAGS) and any -tags it sets. With
// strip, and no -ldflags in goflags, the binary leaves out its symbol table and DWARF.
func goEnv(p v1.Platform, goflags string, tags []string, strip bool) []string {
	var flags []string
	for _, f := range strings.Fields(goflags) {
		name := strings.TrimLeft(f, "-")
		if v, ok := strings.CutPrefix(name, "tags="); ok {
			tags = append(slices.Clone(tags), strings.Split(v, ",")...)
			continue
		}
		if strings.HasPrefix(name, "ldflags=") {
			strip = false
		}
		flags = append(flags, f)
	}
	flags = append(flags, "-trimpath")
	if strip {
		flags = append(flags, `"-ldflags=-s -w"`)
	}
	if tags = slices.DeleteFunc(slices.Clone(tags), func(t string) bool { return t == "" }); len(tags) > 0 {
		slices.Sort(tags)
		flags = append(flags, "-tags="+strings.Join(slices.Compact(tags), ","))
	}
	env := []string{"CGO_ENABLED=0", "GOOS=" + p.OS, "GOARCH=" + p.Architecture, "GOFLAGS=" + strings.Join(flags, " ")}
	if p.Architecture == "arm" && p.Variant != "" {
		env = append(env, "GOARM="+strings.TrimPrefix(p.Variant, "v"))
	}
	if p.Architecture == "amd64" && p.Variant != "" {
		env = append(env, "GOAMD64="+p.Variant)
	}
	return env
}

// SourceURL returns the org.opencontainers.image.source label for a Go module path:
// "https://<module>" when its first element is a host name, else "".
func SourceURL(module string) string {
	host, _, _ := strings.Cut(module, "/")
	if !strings.Contains(host, ".") {
		return ""
	}
	return "https://" + module
}
