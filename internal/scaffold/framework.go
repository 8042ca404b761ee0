package scaffold

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
)

// FrameworkModule is the module path of the purista framework.
const FrameworkModule = "github.com/purista-go/purista"

// Framework is how a generated go.mod depends on the framework.
type Framework struct {
	// Module is FrameworkModule.
	Module string
	// Version is the required version: v0.0.0 with a Replace, otherwise the version of
	// this purista binary when it is a release (v0.0.0 for development builds).
	Version string
	// Replace is the absolute path of a local framework checkout, or "".
	Replace string
	// GoVersion is the go line of the generated go.mod (the framework's own go line when
	// known, so the project is never older than its dependency).
	GoVersion string
	// Requires are the framework's own requirements, copied into the project's go.mod so
	// that it builds offline from the module cache (only with a Replace).
	Requires []Require
	// Sum is the framework's go.sum, copied for the same reason (only with a Replace).
	Sum []byte
}

// Require is one requirement of a go.mod.
type Require struct {
	// Path is the module path.
	Path string
	// Version is the module version.
	Version string
}

// semverRE matches release versions a go.mod can require.
var semverRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)

// LocateFramework decides the framework dependency of a new project. The rule, in order:
//
//  1. explicit (the --framework flag) names a local checkout: go.mod gets
//     "replace github.com/purista-go/purista => <its absolute path>". It is an error if
//     the folder holds no go.mod of the framework module.
//  2. Otherwise, when this purista binary was built from a source checkout (go build or
//     go run without -trimpath: the path of this source file is recorded at build time)
//     and that checkout still exists, the replace points at it.
//  3. Otherwise, a release build (binVersion is a semantic version) makes the project
//     require that version, which `go mod tidy` fetches.
//  4. Otherwise (a development build moved away from its checkout, or built with
//     -trimpath) nothing says where the framework is: that is an error asking for
//     --framework, instead of a go.mod that cannot build.
//
// With a replace, the framework's requirements and go.sum are copied into the project,
// so that it builds offline from the module cache, exactly as the framework itself does.
func LocateFramework(explicit, binVersion string) (Framework, error) {
	return locateFramework(explicit, binVersion, buildCheckout)
}

// locateFramework is LocateFramework with the build-checkout lookup passed in (tests).
func locateFramework(explicit, binVersion string, checkout func() (string, bool)) (Framework, error) {
	fw := Framework{Module: FrameworkModule, Version: "v0.0.0", GoVersion: goLine(runtime.Version())}
	dir := ""
	switch {
	case explicit != "":
		abs, err := filepath.Abs(explicit)
		if err != nil {
			return fw, err
		}
		if !isFrameworkCheckout(abs) {
			return fw, invalid("--framework %s is not a checkout of %s (no go.mod with \"module %s\" there): pass the folder that holds the framework's go.mod, e.g. --framework ~/src/purista", explicit, FrameworkModule, FrameworkModule)
		}
		dir = abs
	default:
		if d, ok := checkout(); ok {
			dir = d
		} else if semverRE.MatchString(binVersion) {
			fw.Version = binVersion
		} else {
			return fw, invalid("this purista (version %q) is a development build that cannot tell where the framework is: pass --framework PATH, the folder of a %s checkout (e.g. --framework ~/src/purista)", binVersion, FrameworkModule)
		}
	}
	if dir == "" {
		return fw, nil
	}
	fw.Replace = dir
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return fw, err
	}
	goVer, reqs := parseGoMod(mod)
	if goVer != "" {
		fw.GoVersion = goVer
	}
	fw.Requires = reqs
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fw, err
	}
	fw.Sum = sum
	return fw, nil
}

// buildCheckout returns the framework checkout this binary was built from, when the
// build recorded absolute source paths and the checkout is still there.
func buildCheckout() (string, bool) {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", false // -trimpath: a release build
	}
	// file is <checkout>/internal/scaffold/framework.go
	dir := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	return dir, isFrameworkCheckout(dir)
}

// isFrameworkCheckout reports whether dir/go.mod declares the framework module.
func isFrameworkCheckout(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	return modulePath(data) == FrameworkModule
}

// modulePath returns the module line's path of a go.mod.
func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(stripComment(line))
		if len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// parseGoMod returns the go line and the requirements (from require lines and blocks) of
// a go.mod. It is deliberately small: it reads what `go mod` writes.
func parseGoMod(gomod []byte) (goVersion string, reqs []Require) {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	inRequire := false
	for sc.Scan() {
		f := strings.Fields(stripComment(sc.Text()))
		switch {
		case len(f) == 0:
		case inRequire && f[0] == ")":
			inRequire = false
		case inRequire && len(f) == 2:
			reqs = append(reqs, Require{Path: f[0], Version: f[1]})
		case f[0] == "go" && len(f) == 2:
			goVersion = f[1]
		case f[0] == "require" && len(f) == 2 && f[1] == "(":
			inRequire = true
		case f[0] == "require" && len(f) == 3:
			reqs = append(reqs, Require{Path: f[1], Version: f[2]})
		}
	}
	return goVersion, reqs
}

func stripComment(line string) string {
	if i := strings.Index(line, "//"); i >= 0 {
		return line[:i]
	}
	return line
}

// goLine turns runtime.Version() ("go1.26.8") into a go.mod go line ("1.26.8").
func goLine(v string) string {
	v = strings.TrimPrefix(v, "go")
	if i := strings.IndexAny(v, " -+"); i >= 0 {
		v = v[:i]
	}
	if v == "" || strings.Trim(v, "0123456789.") != "" {
		return "1.26"
	}
	return v
}

// String describes the dependency for humans.
func (f Framework) String() string {
	if f.Replace != "" {
		return fmt.Sprintf("%s => %s (local checkout)", f.Module, f.Replace)
	}
	return f.Module + " " + f.Version
}
