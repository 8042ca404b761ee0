package build

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/runtime"
)

// OpenAPIFile is the name of the OpenAPI document `purista build` writes beside the
// image output.
const OpenAPIFile = "openapi.json"

// openAPITimeout bounds the run of the binary that prints the document.
const openAPITimeout = time.Minute

// openAPIPath returns where the OpenAPI document goes: --openapi when given ("" for
// "off"), else openapi.json in the folder that holds the --output layout or the --tar
// file, else dist/openapi.json in the project root.
func openAPIPath(opts *Options, root string) string {
	switch {
	case opts.OpenAPI == "off":
		return ""
	case opts.OpenAPI != "":
		return opts.OpenAPI
	case opts.Output != "":
		return filepath.Join(filepath.Dir(filepath.Clean(opts.Output)), OpenAPIFile)
	case opts.Tar != "":
		return filepath.Join(filepath.Dir(opts.Tar), OpenAPIFile)
	}
	return filepath.Join(root, "dist", OpenAPIFile)
}

// hostBinary compiles the project's main package for this machine with build into a
// temporary folder, for the service check and the OpenAPI document that run it. The
// caller calls remove when done with it.
func hostBinary(ctx context.Context, build cmdutil.ProjectBuilder, root, main string) (path string, remove func(), err error) {
	tmp, err := os.MkdirTemp("", "purista-host-*")
	if err != nil {
		return "", nil, err
	}
	remove = func() { _ = os.RemoveAll(tmp) }
	bin, err := build(ctx, runtime.BuildOptions{Dir: root, Main: main, Output: filepath.Join(tmp, "app")})
	if err != nil {
		remove()
		return "", nil, err
	}
	return bin.Path, remove, nil
}

// hostOpenAPI runs bin, the project's binary built for this machine, with --openapi-out
// (and --services when services names some), which writes the OpenAPI document of the
// selected services' HTTP endpoints and exits without starting anything. It returns
// the document, or nil when no command declares an endpoint.
func hostOpenAPI(ctx context.Context, bin, root, main string, services []string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "purista-openapi-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, OpenAPIFile)
	args := []string{"--openapi-out", out}
	if len(services) > 0 && !(len(services) == 1 && services[0] == "each") {
		args = append(args, "--services", strings.Join(services, ","))
	}
	ctx, cancel := context.WithTimeout(ctx, openAPITimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = root
	cmd.Env = withoutPurista(os.Environ())
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("the OpenAPI document: %s --openapi-out failed: %w\n%s", filepath.Base(main), err, strings.TrimSpace(stderr.String()))
	}
	doc, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("the OpenAPI document: %w", err)
	}
	var paths struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &paths); err != nil {
		return nil, fmt.Errorf("the OpenAPI document the binary wrote is not JSON: %w", err)
	}
	if len(paths.Paths) == 0 {
		return nil, nil
	}
	return doc, nil
}

// probeOpenAPI checks, before the compile, an --openapi FILE given by the user: its
// folder exists and takes files, and FILE is not a folder. Problems are usage errors;
// the check leaves nothing behind.
func probeOpenAPI(path string) error {
	if path == "" || path == "off" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return cmdutil.UsageErrorf("--openapi %s is a folder: give a file name, e.g. %s", path, filepath.Join(path, OpenAPIFile))
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return cmdutil.UsageErrorf("--openapi %s: folder %s does not exist: create it first, or pick a file in an existing folder", path, dir)
	}
	f, err := os.CreateTemp(dir, ".purista-probe-*")
	if err != nil {
		return cmdutil.UsageErrorf("--openapi %s: cannot write in %s (%v): pick a writable place, or --openapi off", path, dir, err)
	}
	_ = f.Close()
	_ = os.Remove(f.Name())
	return nil
}

// withoutPurista returns env without PURISTA_* settings, so that the shell's
// configuration does not change the document.
func withoutPurista(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PURISTA_") {
			out = append(out, kv)
		}
	}
	return out
}

// writeOpenAPIFile writes doc to dest, creating its folder.
func writeOpenAPIFile(dest string, doc []byte) error {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("write the OpenAPI document: %w", err)
	}
	if err := os.WriteFile(dest, doc, 0o644); err != nil {
		return fmt.Errorf("write the OpenAPI document: %w", err)
	}
	return nil
}
