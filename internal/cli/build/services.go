package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/image"
	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/pkg/framework/app"
)

// ErrMissingService is wrapped by the error of a build whose image would run a service
// that purista.yaml lists but the project's binary does not contain (such an image
// would exit with code 2 at start).
var ErrMissingService = errors.New("a service of " + project.FileName + " is missing from the binary")

// servicesToCheck returns the services the images run: those of an image's --services,
// all of purista.yaml's for an image without.
func servicesToCheck(m *project.Manifest, imgs []image.Image) []string {
	var names []string
	for _, img := range imgs {
		svcs := img.Services
		if len(svcs) == 0 {
			svcs = m.ServiceNames()
		}
		for _, s := range svcs {
			if !slices.Contains(names, s) {
				names = append(names, s)
			}
		}
	}
	return names
}

// checkServices asks bin, the project's binary (of package main) built for this
// machine, whether it contains each of names: it runs bin with --services and
// --openapi-out, which selects the services and exits without starting anything. A
// service it does not contain is an error wrapping ErrMissingService that names each
// such service.
func checkServices(ctx context.Context, bin, root, main string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	unknown, said, err := selectIn(ctx, bin, root, names)
	if err != nil || !unknown {
		return err
	}
	var missing []string
	for _, n := range names {
		u, _, err := selectIn(ctx, bin, root, []string{n})
		if err != nil {
			return err
		}
		if u {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return fmt.Errorf("%s refused the services %s together: %s", main, strings.Join(names, ","), said)
	}
	return cmdutil.WithHint(
		fmt.Errorf("%w: %s, but the binary of %s does not run %s (it says: %s); no image was written",
			ErrMissingService, listed(missing), main, pronoun(missing), said),
		fmt.Sprintf("Pass the service to app.New in %s, or remove it from %s.", main, project.FileName))
}

// selectIn runs bin --services names --openapi-out FILE. It reports unknown when the
// binary exits with app.ExitConfig naming an unknown service, with the binary's
// last error line; another failure is an error.
func selectIn(ctx context.Context, bin, root string, names []string) (unknown bool, said string, err error) {
	tmp, err := os.MkdirTemp("", "purista-services-*")
	if err != nil {
		return false, "", err
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(ctx, openAPITimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--services", strings.Join(names, ","), "--openapi-out", filepath.Join(tmp, OpenAPIFile))
	cmd.Dir = root
	cmd.Env = withoutPurista(os.Environ())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	if runErr == nil {
		return false, "", nil
	}
	said = lastLine(out.String())
	var ee *exec.ExitError
	if errors.As(runErr, &ee) && ee.ExitCode() == app.ExitConfig && strings.Contains(said, app.ErrUnknownService.Error()) {
		return true, strings.TrimPrefix(said, "Error: "), nil
	}
	return false, "", fmt.Errorf("checking the services of the binary: %s --services %s failed: %w\n%s", filepath.Base(bin), strings.Join(names, ","), runErr, strings.TrimSpace(out.String()))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func listed(names []string) string {
	if len(names) == 1 {
		return names[0] + " is listed"
	}
	return strings.Join(names, ", ") + " are listed"
}

func pronoun(names []string) string {
	if len(names) == 1 {
		return "it"
	}
	return "them"
}
