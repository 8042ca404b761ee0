package image

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	goruntime "runtime"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Label keys set on every image.
const (
	LabelTitle    = "org.opencontainers.image.title"
	LabelVersion  = "org.opencontainers.image.version"
	LabelSource   = "org.opencontainers.image.source"
	LabelProject  = "dev.purista.project"
	LabelServices = "dev.purista.services"
	LabelBridges  = "dev.purista.bridges"
)

// archVariants returns the variants ("" = none) of a GOARCH that Go builds static linux
// binaries for, and false for an unknown architecture.
func archVariants(arch string) ([]string, bool) {
	switch arch {
	case "amd64":
		return []string{"", "v1", "v2", "v3", "v4"}, true
	case "arm64":
		return []string{"", "v8"}, true
	case "arm":
		return []string{"", "v6", "v7"}, true
	case "386", "ppc64le", "s390x", "riscv64", "loong64":
		return []string{""}, true
	}
	return nil, false
}

// DefaultPlatform is linux on the architecture of the running machine.
func DefaultPlatform() v1.Platform {
	return v1.Platform{OS: "linux", Architecture: goruntime.GOARCH}
}

// ParsePlatforms parses platforms such as "linux/amd64", "linux/arm64" or
// "linux/arm/v7" (each entry may itself be a comma-separated list). Duplicates are
// dropped. Errors wrap ErrUsage.
func ParsePlatforms(specs []string) ([]v1.Platform, error) {
	var out []v1.Platform
	for _, spec := range specs {
		for s := range strings.SplitSeq(spec, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			p, err := v1.ParsePlatform(s)
			if err != nil || p.OS == "" || p.Architecture == "" || p.OSVersion != "" {
				return nil, fmt.Errorf("%w: platform %q is not OS/ARCH[/VARIANT]: use e.g. linux/amd64 or linux/arm64", ErrUsage, s)
			}
			if !slices.ContainsFunc(out, p.Equals) {
				out = append(out, *p)
			}
		}
	}
	return out, checkPlatforms(out)
}

// checkPlatforms rejects platforms a static Go binary in a linux container cannot serve.
func checkPlatforms(ps []v1.Platform) error {
	for _, p := range ps {
		if p.OS != "linux" {
			return fmt.Errorf("%w: platform %q: images run linux binaries; use linux/%s", ErrUsage, p.String(), p.Architecture)
		}
		variants, ok := archVariants(p.Architecture)
		if !ok {
			return fmt.Errorf("%w: platform %q: unknown architecture %q; use one of linux/amd64, linux/arm64, linux/arm/v7, linux/386, linux/ppc64le, linux/s390x, linux/riscv64", ErrUsage, p.String(), p.Architecture)
		}
		if !slices.Contains(variants, p.Variant) {
			if len(variants) == 1 {
				return fmt.Errorf("%w: platform %q: %s has no variants; use linux/%s", ErrUsage, p.String(), p.Architecture, p.Architecture)
			}
			return fmt.Errorf("%w: platform %q: variant %q of %s is unknown (known: %s)", ErrUsage, p.String(), p.Variant, p.Architecture, strings.Join(variants[1:], ", "))
		}
	}
	return nil
}

// ParseTag splits "NAME[:TAG]" into a lower-case repository name and a tag. An empty
// tag gives def:latest (def lower-cased). Errors wrap ErrUsage.
func ParseTag(tag, def string) (repo, version string, err error) {
	if tag == "" {
		tag = strings.ToLower(def)
	}
	if strings.Contains(tag, "@") {
		return "", "", fmt.Errorf("%w: --tag %q: give NAME:TAG, not a digest", ErrUsage, tag)
	}
	t, err := name.NewTag(tag)
	if err != nil {
		return "", "", fmt.Errorf("%w: --tag %q is not NAME[:TAG] (lower-case name, e.g. shop:v1.2.0): %v", ErrUsage, tag, err)
	}
	repo = strings.TrimSuffix(tag, ":"+t.TagStr())
	if repo == tag && strings.HasSuffix(tag, ":") {
		return "", "", fmt.Errorf("%w: --tag %q has an empty tag (e.g. shop:v1.2.0)", ErrUsage, tag)
	}
	return repo, t.TagStr(), nil
}

// fetchBases returns the base image of each platform: empty OCI images, or the --base
// image fetched from its registry for that platform.
func fetchBases(ctx context.Context, base string, ps []v1.Platform, kc authn.Keychain) ([]v1.Image, error) {
	out := make([]v1.Image, len(ps))
	if base == "" {
		for i := range ps {
			out[i] = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
		}
		return out, nil
	}
	ref, err := name.ParseReference(base)
	if err != nil {
		return nil, fmt.Errorf("%w: --base %q is not an image reference (e.g. gcr.io/distroless/static-debian12): %v", ErrUsage, base, err)
	}
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	for i, p := range ps {
		img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(kc), remote.WithPlatform(p))
		if err != nil {
			return nil, fmt.Errorf("fetch base image %s for %s: %w", base, p.String(), err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("fetch base image %s for %s: %w", base, p.String(), err)
		}
		if cf.OS != p.OS || cf.Architecture != p.Architecture {
			return nil, fmt.Errorf("base image %s is %s/%s, not %s: pick a base image built for every --platform", base, cf.OS, cf.Architecture, p.String())
		}
		out[i] = img
	}
	return out, nil
}

// binaryLayer makes the layer with /app/ and /app/<binary>, every header at the fixed
// time t, owned by root, gzip-compressed deterministically. Its media type follows the
// base image's (OCI or Docker).
func binaryLayer(binary string, data []byte, t time.Time, base v1.Image) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdrs := []*tar.Header{
		{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(AppDir, "/") + "/", Mode: 0o755},
		{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(AppDir, "/") + "/" + binary, Mode: 0o755, Size: int64(len(data))},
	}
	for _, h := range hdrs {
		h.ModTime, h.AccessTime, h.ChangeTime = t, t, t
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	mt := types.OCILayer
	if bmt, err := base.MediaType(); err == nil && bmt == types.DockerManifestSchema2 {
		mt = types.DockerLayer
	}
	layerData := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerData)), nil
	}, tarball.WithMediaType(mt), tarball.WithCompressedCaching)
}

// imageConfig is what assemble writes into an image's config.
type imageConfig struct {
	binary, title, version, source, project string
	services                                []string // PURISTA_SERVICES; nil for all
	contains                                []string // every service the image runs (label)
	bridges                                 []string // the bridges linked into the binary (label)
	created                                 time.Time
}

// assemble puts layer on base and writes the config for platform p.
func assemble(base v1.Image, layer v1.Layer, p v1.Platform, c imageConfig) (v1.Image, error) {
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{
		Created:   v1.Time{Time: c.created},
		CreatedBy: "purista build: COPY " + c.binary + " " + AppDir + "/" + c.binary,
		Comment:   "the project binary (CGO_ENABLED=0, -trimpath)",
	}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = v1.Time{Time: c.created}
	cfg := &cf.Config
	cfg.Entrypoint = []string{AppDir + "/" + c.binary}
	cfg.Cmd = nil // a base image's Cmd would become arguments of the binary
	cfg.User = User
	env := map[string]string{"PURISTA_HEALTH_ADDR": HealthAddr}
	if len(c.services) > 0 {
		env["PURISTA_SERVICES"] = strings.Join(c.services, ",")
	}
	cfg.Env = setEnv(cfg.Env, env)
	if cfg.ExposedPorts == nil {
		cfg.ExposedPorts = map[string]struct{}{}
	}
	cfg.ExposedPorts[HealthPort] = struct{}{}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	cfg.Labels[LabelTitle] = c.title
	cfg.Labels[LabelVersion] = c.version
	cfg.Labels[LabelProject] = c.project
	cfg.Labels[LabelServices] = strings.Join(c.contains, ",")
	cfg.Labels[LabelBridges] = strings.Join(c.bridges, ",")
	if c.source != "" {
		cfg.Labels[LabelSource] = c.source
	} else {
		delete(cfg.Labels, LabelSource) // a base image's source is not ours
	}
	return mutate.ConfigFile(img, cf)
}

// setEnv replaces or appends NAME=value entries, keeping the order of env and adding
// new names sorted.
func setEnv(env []string, set map[string]string) []string {
	out := make([]string, 0, len(env)+len(set))
	done := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if v, ok := set[k]; ok {
			kv = k + "=" + v
			done[k] = true
		}
		out = append(out, kv)
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		if !done[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		out = append(out, k+"="+set[k])
	}
	return out
}

// makeIndex bundles one image per platform into an OCI image index.
func makeIndex(imgs []v1.Image, ps []v1.Platform) v1.ImageIndex {
	adds := make([]mutate.IndexAddendum, len(imgs))
	for i, img := range imgs {
		p := ps[i]
		adds[i] = mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}}
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
}
