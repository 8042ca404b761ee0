package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/moby/client"
)

// RefNameAnnotation names each image in the index.json of an OCI layout ("signup:latest").
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// OutputError is returned when an output file or folder cannot be written; nothing was
// left behind at Path.
type OutputError struct {
	// Path is the output that could not be written.
	Path string
	// Err is why.
	Err error
}

// Error implements error.
func (e *OutputError) Error() string { return fmt.Sprintf("cannot write %s: %v", e.Path, e.Err) }

// Unwrap returns the cause.
func (e *OutputError) Unwrap() error { return e.Err }

// NoDaemonError is returned by Load when no Docker daemon answers at Host.
type NoDaemonError struct {
	// Host is the daemon address that was tried (DOCKER_HOST or the default socket).
	Host string
	// Err is the connection error.
	Err error
}

// Error implements error.
func (e *NoDaemonError) Error() string {
	return fmt.Sprintf("no Docker daemon at %s (%v); use --tar FILE and `docker load -i FILE`, or --push REGISTRY/REPO", e.Host, e.Err)
}

// Unwrap returns the connection error.
func (e *NoDaemonError) Unwrap() error { return e.Err }

// WriteLayout writes imgs into the OCI image layout folder dir, each named in index.json
// by RefNameAnnotation. The layout is written to a temporary folder next to dir and
// renamed into place, so dir is never half-written. An existing dir is replaced only
// when it is empty or an OCI layout itself.
func WriteLayout(dir string, imgs []Image) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return &OutputError{Path: dir, Err: err}
	}
	if err := CheckLayoutOutput(abs); err != nil {
		return err
	}
	parent := filepath.Dir(abs)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return &OutputError{Path: abs, Err: err}
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(abs)+".tmp-")
	if err != nil {
		return &OutputError{Path: abs, Err: err}
	}
	done := false
	defer func() {
		if !done {
			_ = os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return &OutputError{Path: abs, Err: err}
	}
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return &OutputError{Path: abs, Err: err}
	}
	for _, img := range imgs {
		opt := layout.WithAnnotations(map[string]string{RefNameAnnotation: img.Ref()})
		if img.Index != nil {
			err = p.AppendIndex(img.Index, opt)
		} else {
			err = p.AppendImage(img.Image, opt)
		}
		if err != nil {
			return &OutputError{Path: abs, Err: err}
		}
	}
	for _, f := range []string{"index.json", "oci-layout"} { // written 0777 &^ umask
		if err := os.Chmod(filepath.Join(tmp, f), 0o644); err != nil {
			return &OutputError{Path: abs, Err: err}
		}
	}
	if err := replace(tmp, abs); err != nil {
		return &OutputError{Path: abs, Err: err}
	}
	done = true
	return nil
}

// CheckLayoutOutput reports, without writing anything, whether WriteLayout could put an
// OCI layout at dir as far as what is there now goes: an *OutputError when dir exists
// and is not an empty folder or an OCI layout.
func CheckLayoutOutput(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return &OutputError{Path: dir, Err: err}
	}
	if err := checkReplaceable(abs); err != nil {
		return &OutputError{Path: abs, Err: err}
	}
	return nil
}

// CheckTarballOutput reports, without writing anything, whether WriteTarball could write
// file as far as what is there now goes: an *OutputError when file is a folder.
func CheckTarballOutput(file string) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return &OutputError{Path: file, Err: err}
	}
	if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
		return &OutputError{Path: abs, Err: errTarIsFolder}
	}
	return nil
}

var errTarIsFolder = errors.New("it is a folder: give a file name such as dist/image.tar")

// checkReplaceable refuses to replace anything but a missing path, an empty folder or
// an OCI layout: a mistyped --output must never delete a user's folder.
func checkReplaceable(abs string) error {
	fi, err := os.Lstat(abs)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errors.New("it exists and is not a folder")
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(abs, "oci-layout")); err != nil {
		return errors.New("it exists and is not an OCI image layout (no oci-layout file); remove it or pick another place")
	}
	return nil
}

// replace moves the finished folder tmp to abs, replacing what is there.
func replace(tmp, abs string) error {
	if _, err := os.Lstat(abs); errors.Is(err, os.ErrNotExist) {
		return os.Rename(tmp, abs)
	}
	old := tmp + ".old"
	if err := os.Rename(abs, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, abs); err != nil {
		_ = os.Rename(old, abs)
		return err
	}
	return os.RemoveAll(old)
}

// ErrMultiPlatform is returned (wrapped with ErrUsage) when a docker tarball or a
// daemon load is asked for an image of several platforms.
var ErrMultiPlatform = fmt.Errorf("%w: a docker tarball or --load holds one platform per image; build one --platform, or use --output (OCI layout) or --push for several", ErrUsage)

// WriteTarball writes imgs as one `docker load`-able tarball to file (via a temporary
// file and a rename). Every image must be single-platform.
func WriteTarball(file string, imgs []Image) error {
	refs, err := tarRefs(imgs)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return &OutputError{Path: file, Err: err}
	}
	if err := CheckTarballOutput(abs); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return &OutputError{Path: abs, Err: err}
	}
	f, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp-")
	if err != nil {
		return &OutputError{Path: abs, Err: err}
	}
	defer func() { _ = os.Remove(f.Name()) }() // a no-op after the rename
	if err := tarball.MultiRefWrite(refs, f); err != nil {
		_ = f.Close()
		return &OutputError{Path: abs, Err: err}
	}
	if err := f.Chmod(0o644); err != nil {
		_ = f.Close()
		return &OutputError{Path: abs, Err: err}
	}
	if err := f.Close(); err != nil {
		return &OutputError{Path: abs, Err: err}
	}
	if err := os.Rename(f.Name(), abs); err != nil {
		return &OutputError{Path: abs, Err: err}
	}
	return nil
}

func tarRefs(imgs []Image) (map[name.Reference]v1.Image, error) {
	refs := make(map[name.Reference]v1.Image, len(imgs))
	for _, img := range imgs {
		if img.Image == nil {
			return nil, ErrMultiPlatform
		}
		tag, err := name.NewTag(img.Ref())
		if err != nil {
			return nil, fmt.Errorf("%w: image name %q: %v", ErrUsage, img.Ref(), err)
		}
		refs[tag] = img.Image
	}
	return refs, nil
}

// Pushed is an image written to a registry.
type Pushed struct {
	// Ref is where it was pushed, REGISTRY/REPO:TAG.
	Ref name.Tag
	// Digest is the digest of the pushed image or index.
	Digest v1.Hash
}

// PushRefs returns where Push puts each image: repo ("REGISTRY/REPO" or
// "REGISTRY/REPO:TAG") for a single image; "REGISTRY/REPO-<service>" for each image of
// a per-service build. Without a tag in repo, each image keeps its own tag. Errors wrap
// ErrUsage.
func PushRefs(repo string, imgs []Image) ([]name.Tag, error) {
	if strings.Contains(repo, "@") {
		return nil, fmt.Errorf("%w: --push %q: give REGISTRY/REPO[:TAG], not a digest", ErrUsage, repo)
	}
	repository, tag := repo, ""
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repository, tag = repo[:i], repo[i+1:]
	}
	if _, err := name.NewRepository(repository); err != nil {
		return nil, fmt.Errorf("%w: --push %q is not REGISTRY/REPO[:TAG] (e.g. ghcr.io/acme/shop): %v", ErrUsage, repo, err)
	}
	out := make([]name.Tag, 0, len(imgs))
	for _, img := range imgs {
		r := repository
		if len(imgs) > 1 && img.Service != "" {
			r += "-" + strings.ToLower(img.Service)
		}
		t := tag
		if t == "" {
			t = img.Tag
		}
		ref, err := name.NewTag(r + ":" + t)
		if err != nil {
			return nil, fmt.Errorf("%w: --push %q: %v", ErrUsage, repo, err)
		}
		out = append(out, ref)
	}
	return out, nil
}

// Push writes imgs to the registry (see PushRefs for the names), authenticating with
// authn.DefaultKeychain (docker login, credential helpers) unless opts say otherwise.
func Push(ctx context.Context, repo string, imgs []Image, opts ...remote.Option) ([]Pushed, error) {
	refs, err := PushRefs(repo, imgs)
	if err != nil {
		return nil, err
	}
	opts = append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)
	out := make([]Pushed, 0, len(imgs))
	for i, img := range imgs {
		if img.Index != nil {
			err = remote.WriteIndex(refs[i], img.Index, opts...)
		} else {
			err = remote.Write(refs[i], img.Image, opts...)
		}
		if err != nil {
			return out, fmt.Errorf("push %s: %w", refs[i].String(), err)
		}
		out = append(out, Pushed{Ref: refs[i], Digest: img.Digest})
	}
	return out, nil
}

// CheckDaemon returns a *NoDaemonError when no Docker daemon answers at host ("" for
// DOCKER_HOST or the default socket), so that `purista build --load` fails before
// compiling.
func CheckDaemon(ctx context.Context, host string) error {
	c, err := daemon(ctx, host)
	if err != nil {
		return err
	}
	return c.Close()
}

// daemon returns a client of the Docker daemon at host after a ping with API version
// negotiation.
func daemon(ctx context.Context, host string) (*client.Client, error) {
	opts := []client.Opt{client.FromEnv}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	c, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		h := c.DaemonHost()
		_ = c.Close()
		return nil, &NoDaemonError{Host: h, Err: err}
	}
	return c, nil
}

// Load loads imgs into the Docker daemon at host ("" for DOCKER_HOST or the default
// socket) and returns what the daemon said ("Loaded image: signup:latest"). When no
// daemon answers, the error is a *NoDaemonError. Every image must be single-platform.
func Load(ctx context.Context, host string, imgs []Image) ([]string, error) {
	refs, err := tarRefs(imgs)
	if err != nil {
		return nil, err
	}
	c, err := daemon(ctx, host)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close() }()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.MultiRefWrite(refs, pw)) }()
	res, err := c.ImageLoad(ctx, pr)
	if err != nil {
		_ = pr.CloseWithError(err)
		return nil, fmt.Errorf("docker load: %w", err)
	}
	defer func() { _ = res.Close() }()
	var said []string
	dec := json.NewDecoder(res)
	for {
		var msg struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return said, fmt.Errorf("docker load: reading the daemon's answer: %w", err)
		}
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			return said, fmt.Errorf("docker load: %s", msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return said, fmt.Errorf("docker load: %s", msg.Error)
		}
		if s := strings.TrimSpace(msg.Stream); s != "" {
			said = append(said, s)
		}
	}
	return said, nil
}
