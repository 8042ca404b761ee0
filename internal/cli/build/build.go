// Package build implements `purista build`: container images of a project's one binary,
// assembled without a Docker daemon (see internal/image and docs/deployment.md).
package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/completion"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/image"
	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
)

// ExitNotBuilt is the exit code when the project does not compile (as for `purista check`).
const ExitNotBuilt = 3

// DefaultOutput is the OCI layout folder, relative to the project root, written when
// no other output (--output, --tar, --push, --load) is asked for.
const DefaultOutput = "dist/image"

// Options are the parsed flags and arguments of `purista build`.
type Options struct {
	// IO are the streams to write to.
	IO *iostreams.IOStreams
	// Dir is the project folder (default ".").
	Dir string
	// Services is empty (one image, all services), service names, or "each".
	Services []string
	// Platforms are OS/ARCH[/VARIANT] strings (default linux/<host arch>).
	Platforms []string
	// Output is an OCI layout folder; Tar a docker-loadable tarball.
	Output, Tar string
	// Tag is NAME[:TAG] of the image(s).
	Tag string
	// Push is REGISTRY/REPO[:TAG] to push to.
	Push string
	// Load loads the image(s) into a Docker daemon.
	Load bool
	// Base is a base image reference ("" for an empty image).
	Base string
	// Profile is the purista.yaml profile whose bridge the binary links, besides the
	// memory bridge ("" links every bridge).
	Profile string
	// OpenAPI is where the OpenAPI document goes ("" beside the image output, "off"
	// for nowhere).
	OpenAPI string
	// KeepSymbols keeps the symbol table and debug information in the binary (default:
	// stripped).
	KeepSymbols bool
	// DockerHost overrides DOCKER_HOST for --load (tests; "" = environment).
	DockerHost string
	// Images builds and writes the images; BuildProject compiles the binary that
	// writes the OpenAPI document (see cmdutil.Factory).
	Images       cmdutil.ImageBuilder
	BuildProject cmdutil.ProjectBuilder
}

// NewCmdBuild returns the `build` command. When runF is non-nil it is called with the
// parsed options instead of the real implementation (for tests of flag parsing).
func NewCmdBuild(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Images: f.Images, BuildProject: f.BuildProject}
	cmd := &cobra.Command{
		Use:   "build [DIR] [flags]",
		Short: "Build container images of the project, without a Docker daemon",
		Long: `Compile the project in DIR (default: the current folder or the project that contains
it) statically for linux (CGO_ENABLED=0, -trimpath) and assemble OCI images of it,
without a Docker daemon. Each image holds the binary at /app/<name>, runs it as user
65532, serves health on 0.0.0.0:8081 (PURISTA_HEALTH_ADDR) and, with --services, runs
only those services (PURISTA_SERVICES). The bridge is chosen where the image runs:
docker run -e PURISTA_BRIDGE=nats://nats:4222 …

The binary links every bridge unless --profile names a profile of purista.yaml: then
it links the memory bridge and the profile's bridge only (build tags
purista_no_nats, purista_no_amqp, purista_no_mqtt for the others), a smaller binary
whose dependencies are only those it uses. Such an image fails at start, naming the
build tag, when PURISTA_BRIDGE names a bridge it left out.

Builds are reproducible: the same source and Go toolchain give the same digest
(file times are SOURCE_DATE_EPOCH, or 1970-01-01 when it is not set).

Output: an OCI layout folder (--output, default dist/image in the project), a
docker-loadable tarball (--tar), a registry (--push, credentials from docker login),
or the local Docker daemon (--load). One line per image goes to standard output:
NAME:TAG DIGEST (or the pushed REGISTRY/REPO:TAG@DIGEST).

When commands of the project declare HTTP endpoints (framework.WithHTTP), the OpenAPI
document of the image's services is written beside the image output: openapi.json in
the folder of --output or --tar, else dist/openapi.json (--openapi FILE to choose,
--openapi off for none). It comes from the binary itself, built for this machine and
run once with --openapi-out.

Exit codes: 0 built, 1 failed (not a project, unwritable output, registry or daemon
error), 2 usage error (bad flag, unknown service, bad platform), 3 the project does
not compile. Run 'purista docs deployment' for how each deployment model maps to images.`,
		Example: `  # one image with every service (monolith), as an OCI layout in dist/image
  purista build

  # one image per service (microservices): signup-user, signup-email
  purista build --services each --tar dist/images.tar && docker load -i dist/images.tar

  # the same, linking only the bridge of the microservices profile (NATS)
  purista build --services each --profile microservices

  # only the User service, for two platforms, pushed to a registry
  purista build --services User --platform linux/amd64,linux/arm64 --push ghcr.io/acme/signup-user:v1.0.0

  # into the local Docker daemon, on a distroless base (CA certificates, tzdata)
  purista build --load --tag signup:dev --base gcr.io/distroless/static-debian12`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return cmdutil.UsageErrorf("%s takes at most one project folder, got %q", cmd.CommandPath(), strings.Join(args, " "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Dir = args[0]
			}
			if err := validate(opts); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&opts.Services, "services", nil, "run only these services in the image (comma-separated), or \"each\" for one image per service")
	fl.StringSliceVar(&opts.Platforms, "platform", nil, "target platforms, comma-separated (default linux/<this machine's arch>); several make a multi-platform index")
	fl.StringVarP(&opts.Output, "output", "o", "", "write an OCI image layout to this folder (default "+DefaultOutput+" in the project when nothing else is asked)")
	fl.StringVar(&opts.Tar, "tar", "", "write a docker-loadable tarball to this file instead (one platform)")
	fl.StringVarP(&opts.Tag, "tag", "t", "", "image NAME[:TAG] (default <project>:latest; with --services each: NAME-<service>:TAG)")
	fl.StringVar(&opts.Push, "push", "", "push to REGISTRY/REPO[:TAG] (with --services each: REGISTRY/REPO-<service>)")
	fl.BoolVar(&opts.Load, "load", false, "load the image(s) into the Docker daemon at DOCKER_HOST (one platform)")
	fl.StringVar(&opts.Base, "base", "", "base image to put the binary on (default: an empty image)")
	fl.StringVar(&opts.OpenAPI, "openapi", "", "write the OpenAPI document of the HTTP endpoints to this file, or off (default: openapi.json beside the image output)")
	fl.BoolVar(&opts.KeepSymbols, "keep-symbols", false, "keep the symbol table and debug information in the binary (default: stripped, -ldflags=\"-s -w\")")
	fl.StringVar(&opts.Profile, "profile", "", "link only the bridge of this purista.yaml profile (and memory) into the binary; default: every bridge")
	cmd.ValidArgsFunction = completion.Dirs
	completion.Flags(cmd, map[string]cobra.CompletionFunc{"profile": completion.Profiles(completion.DirArg),
		"services": completion.ServiceList(completion.DirArg, cobra.CompletionWithDesc("each", "one image per service"))})
	return cmd
}

// validate checks what can be checked without the project: flag combinations,
// platforms, tag and push reference. Problems are usage errors.
func validate(opts *Options) error {
	if opts.Output != "" && opts.Tar != "" {
		return cmdutil.UsageErrorf("--output and --tar are exclusive: choose an OCI layout folder or a docker tarball")
	}
	ps, err := image.ParsePlatforms(opts.Platforms)
	if err != nil {
		return usage(err)
	}
	if len(ps) > 1 && (opts.Tar != "" || opts.Load) {
		return usage(image.ErrMultiPlatform)
	}
	if _, _, err := image.ParseTag(opts.Tag, "x"); err != nil {
		return usage(err)
	}
	if opts.Push != "" {
		if _, err := image.PushRefs(opts.Push, nil); err != nil {
			return usage(err)
		}
	}
	return nil
}

// usage turns an image.ErrUsage error into a UsageError with the sentinel's prefix
// removed from the message.
func usage(err error) error {
	msg := strings.TrimPrefix(err.Error(), image.ErrUsage.Error()+": ")
	return &cmdutil.UsageError{Err: errors.New(msg)}
}

// Run builds the images with its Images engine and writes them where the options say.
func Run(ctx context.Context, opts *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	start := time.Now()
	ps, err := image.ParsePlatforms(opts.Platforms)
	if err != nil {
		return usage(err)
	}
	created, err := sourceDateEpoch()
	if err != nil {
		return err
	}
	dir := opts.Dir
	if dir == "" {
		dir = "."
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(opts.IO.ErrOut, "purista build: "+format+"\n", args...)
	}
	// Fail before compiling when the output cannot be written.
	if err := probeOutputs(opts); err != nil {
		return err
	}
	if opts.Load {
		if err := opts.Images.CheckDaemon(ctx, opts.DockerHost); err != nil {
			return noDaemon(err)
		}
	}
	res, err := opts.Images.Build(ctx, image.Options{Dir: dir, Services: opts.Services, Platforms: ps, Tag: opts.Tag,
		Base: opts.Base, Created: created, Profile: opts.Profile, KeepSymbols: opts.KeepSymbols, Logf: logf})
	if err != nil {
		return buildError(err)
	}
	// The binary, built for this machine, says whether it runs every service the images
	// run and writes the OpenAPI document; nothing is written before both are known.
	check := servicesToCheck(res.Manifest, res.Images)
	apiDest := openAPIPath(opts, res.Root)
	var apiDoc []byte
	if len(check) > 0 || apiDest != "" {
		host, removeHost, err := hostBinary(ctx, opts.BuildProject, res.Root, res.Manifest.Main)
		if err != nil {
			return buildError(err)
		}
		defer removeHost()
		if err := checkServices(ctx, host, res.Root, res.Manifest.Main, check); err != nil {
			return err
		}
		if apiDest != "" {
			if apiDoc, err = hostOpenAPI(ctx, host, res.Root, res.Manifest.Main, opts.Services); err != nil {
				return buildError(err)
			}
		}
	}
	refs := make([]string, len(res.Images))
	for i, img := range res.Images {
		refs[i] = img.Ref()
	}
	output := opts.Output
	if output == "" && opts.Tar == "" && opts.Push == "" && !opts.Load {
		output = filepath.Join(res.Root, filepath.FromSlash(DefaultOutput))
	}
	if output != "" {
		if err := opts.Images.WriteLayout(output, res.Images); err != nil {
			return outputError(err, "--output")
		}
		logf("wrote OCI layout %s", output)
	}
	if opts.Tar != "" {
		if err := opts.Images.WriteTarball(opts.Tar, res.Images); err != nil {
			return outputError(err, "--tar")
		}
		logf("wrote %s (docker load -i %s)", opts.Tar, opts.Tar)
	}
	if opts.Load {
		said, err := opts.Images.Load(ctx, opts.DockerHost, res.Images)
		if err != nil {
			return noDaemon(err)
		}
		for _, s := range said {
			logf("docker: %s", s)
		}
	}
	if opts.Push != "" {
		pushed, err := opts.Images.Push(ctx, opts.Push, res.Images)
		if err != nil {
			return cmdutil.WithHint(err, "Check the registry address and your credentials (docker login REGISTRY).")
		}
		for i, p := range pushed {
			refs[i] = p.Ref.String() + "@" + p.Digest.String()
		}
	}
	if apiDoc != nil {
		if err := writeOpenAPIFile(apiDest, apiDoc); err != nil {
			return cmdutil.WithHint(err, "Pick a writable place with --openapi, or --openapi off.")
		}
		logf("wrote the OpenAPI document %s", apiDest)
	} else if apiDest != "" {
		logf("no command declares an HTTP endpoint (framework.WithHTTP): no OpenAPI document")
	}
	for i, img := range res.Images {
		plat := make([]string, len(img.Platforms))
		for j, p := range img.Platforms {
			plat[j] = p.String()
		}
		if opts.Push != "" {
			fmt.Fprintln(opts.IO.Out, refs[i])
		} else {
			fmt.Fprintf(opts.IO.Out, "%s %s\n", refs[i], img.Digest)
		}
		logf("%s: %s, services %s, bridges %s", img.Ref(), strings.Join(plat, ", "), servicesText(img.Services), strings.Join(img.Bridges, ","))
	}
	logf("done in %s", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// noDaemon adds the hint for a missing Docker daemon.
func noDaemon(err error) error {
	var nd *image.NoDaemonError
	if errors.As(err, &nd) {
		return cmdutil.WithHint(err, "Start Docker (or set DOCKER_HOST), or write a tarball with --tar and run `docker load -i FILE`.")
	}
	return err
}

func servicesText(s []string) string {
	if len(s) == 0 {
		return "all"
	}
	return strings.Join(s, ",")
}

// sourceDateEpoch returns the fixed time of the image files: SOURCE_DATE_EPOCH when
// set (the reproducible-builds convention), else the Unix epoch.
func sourceDateEpoch() (time.Time, error) {
	v := strings.TrimSpace(os.Getenv("SOURCE_DATE_EPOCH"))
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, cmdutil.WithHint(fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", v),
			"Set it to e.g. $(git log -1 --format=%ct), or unset it.")
	}
	return time.Unix(n, 0).UTC(), nil
}

// probeOutputs checks, before the slow compile, that the output folder/file can be
// created: its parent can be made and written. It leaves nothing behind.
func probeOutputs(opts *Options) error {
	if err := probeOpenAPI(opts.OpenAPI); err != nil {
		return err
	}
	for _, o := range []struct{ path, flag string }{{opts.Output, "--output"}, {opts.Tar, "--tar"}} {
		if o.path == "" {
			continue
		}
		abs, err := filepath.Abs(o.path)
		if err != nil {
			return outputError(&image.OutputError{Path: o.path, Err: err}, o.flag)
		}
		// The nearest existing ancestor must be a writable folder.
		parent := filepath.Dir(abs)
		for {
			if _, err := os.Lstat(parent); err == nil || filepath.Dir(parent) == parent {
				break
			}
			parent = filepath.Dir(parent)
		}
		if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
			return outputError(&image.OutputError{Path: abs, Err: fmt.Errorf("%s is not a folder", parent)}, o.flag)
		}
		f, err := os.CreateTemp(parent, ".purista-probe-*")
		if err != nil {
			return outputError(&image.OutputError{Path: abs, Err: err}, o.flag)
		}
		_ = f.Close()
		_ = os.Remove(f.Name())
		check := image.CheckLayoutOutput
		if o.flag == "--tar" {
			check = image.CheckTarballOutput
		}
		if err := check(abs); err != nil {
			return outputError(err, o.flag)
		}
	}
	return nil
}

func outputError(err error, flag string) error {
	if errors.Is(err, image.ErrUsage) {
		return usage(err)
	}
	return cmdutil.WithHint(err, fmt.Sprintf("Pick a writable place with %s.", flag))
}

// buildError maps the errors of image.Build to exit codes and hints.
func buildError(err error) error {
	var be *runtime.BuildError
	switch {
	case errors.Is(err, project.ErrNotFound):
		return cmdutil.ProjectHint(err, "build", "purista build DIR")
	case errors.Is(err, image.ErrUsage):
		return usage(err)
	case errors.As(err, &be):
		return &cmdutil.ExitCodeError{Code: ExitNotBuilt, Err: cmdutil.WithHint(err, "Fix the compile errors above; `go build ./...` in the project shows the same.")}
	}
	return err
}
