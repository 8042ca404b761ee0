// Package buildinfo holds what the purista binary knows about its own build: the release
// version, the commit and the build date stamped in by the linker, plus the Go toolchain
// and platform read at run time.
//
// The three variables below are the only package-level variables the CLI has. They are set
// at link time (see the Makefile's build target and .goreleaser.yaml):
//
//	go build -ldflags "-X github.com/purista-go/purista/internal/buildinfo.Version=v1.2.3 \
//	  -X github.com/purista-go/purista/internal/buildinfo.Commit=abc1234 \
//	  -X github.com/purista-go/purista/internal/buildinfo.Date=2026-11-25T12:00:00Z" ./cmd/purista
//
// Read them through [Get], never directly, so a binary installed with `go install
// …@vX.Y.Z` (which sets no ldflags) still reports its module version.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set by the linker with -X; read through Get. Defaults describe an unstamped build.
var (
	// Version is the release version, e.g. "v0.3.1"; "dev" when not stamped.
	Version = "dev"
	// Commit is the VCS revision the binary was built from; "unknown" when not stamped.
	Commit = "unknown"
	// Date is the build time in RFC 3339 (UTC); "unknown" when not stamped.
	Date = "unknown"
)

// Placeholders used when the linker stamped nothing and the Go build info has no answer.
const (
	// DevVersion is the version of a binary built without release stamping.
	DevVersion = "dev"
	// Unknown marks a commit or date that nobody recorded.
	Unknown = "unknown"
)

// Info describes one build of the purista binary. Its JSON form is what
// `purista version --json` prints; the field names are a stable interface.
type Info struct {
	// Version is the release version ("dev" for a local build).
	Version string `json:"version"`
	// Commit is the VCS revision ("unknown" when not recorded).
	Commit string `json:"commit"`
	// Date is the build time in RFC 3339 ("unknown" when not recorded).
	Date string `json:"date"`
	// GoVersion is the Go toolchain that built the binary, e.g. "go1.26.8".
	GoVersion string `json:"goVersion"`
	// Platform is GOOS/GOARCH of the binary, e.g. "linux/amd64".
	Platform string `json:"platform"`
}

// Get returns the build information of the running binary: the linker-stamped values,
// completed from the Go build info (module version, vcs.revision, vcs.time) where the
// linker stamped nothing.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return Resolve(Version, Commit, Date, bi)
}

// Resolve combines linker-stamped values with the Go build info bi (which may be nil).
// A stamped value always wins; otherwise the main module's version (unless it is
// "(devel)") and the vcs.revision and vcs.time settings fill in. It is exported so the
// fallback rules can be tested without a specially linked binary.
func Resolve(version, commit, date string, bi *debug.BuildInfo) Info {
	info := Info{
		Version:   orDefault(version, DevVersion),
		Commit:    orDefault(commit, Unknown),
		Date:      orDefault(date, Unknown),
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi == nil {
		return info
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	if info.Version == DevVersion && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		info.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && info.Commit == Unknown && s.Value != "":
			info.Commit = s.Value
		case s.Key == "vcs.time" && info.Date == Unknown && s.Value != "":
			info.Date = s.Value
		}
	}
	return info
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
