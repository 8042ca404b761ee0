package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// BuildOptions say what to build and where to put it.
type BuildOptions struct {
	// Dir is the project root (the folder with purista.yaml); `go build` runs there.
	Dir string
	// Main is the package of the binary relative to Dir, e.g. "./cmd/shop".
	Main string
	// Output is the path of the binary. Empty means a stable path in the user cache
	// (see CacheDir), so that repeated builds of one project replace each other.
	Output string
	// Env is added to the environment of `go build` (e.g. "CGO_ENABLED=0").
	Env []string
	// Go is the go command (default "go" from PATH).
	Go string
}

// BuildError is returned by Build when the compiler rejects the project. Output holds
// what `go build` printed (file:line: message lines), ready to show to the user.
type BuildError struct {
	// Output is the compiler's combined output.
	Output string
	// Err is the underlying exec error.
	Err error
}

// Error implements error.
func (e *BuildError) Error() string {
	return "go build failed:\n" + strings.TrimRight(e.Output, "\n")
}

// Unwrap returns the exec error.
func (e *BuildError) Unwrap() error { return e.Err }

// Binary is a built project binary.
type Binary struct {
	// Path is the absolute path of the executable.
	Path string
	// Took is how long the build took.
	Took time.Duration
}

// CacheDir returns the folder where Build puts binaries of the project at root when no
// Output is given: <user cache>/purista/bin/<hash of root>.
func CacheDir(root string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(base, "purista", "bin", hex.EncodeToString(sum[:8])), nil
}

// Build compiles the project's main package with `go build`. The binary is written to
// a temporary file next to the output and renamed over it, so a process still running
// the previous binary is not disturbed. A compile error is a *BuildError.
func Build(ctx context.Context, opts BuildOptions) (*Binary, error) {
	if opts.Main == "" {
		return nil, errors.New("build: no main package given (purista.yaml main: ./cmd/<name>)")
	}
	out := opts.Output
	if out == "" {
		dir, err := CacheDir(opts.Dir)
		if err != nil {
			return nil, fmt.Errorf("build: %w", err)
		}
		out = filepath.Join(dir, filepath.Base(filepath.Clean(opts.Main)))
	}
	out, err := filepath.Abs(out)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".build-*")
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	tmpName := tmp.Name()
	_ = tmp.Close()
	defer func() { _ = os.Remove(tmpName) }() // gone after the rename; cleans up on failure
	goCmd := opts.Go
	if goCmd == "" {
		goCmd = "go"
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, goCmd, "build", "-o", tmpName, opts.Main)
	cmd.Dir = opts.Dir
	cmd.Env = append(os.Environ(), opts.Env...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("build: %w", ctx.Err())
		}
		return nil, &BuildError{Output: buf.String(), Err: err}
	}
	if err := os.Rename(tmpName, out); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	return &Binary{Path: out, Took: time.Since(start)}, nil
}
