// Package cmdutil holds what every purista verb shares: the Factory that hands commands
// their dependencies, and the error types that decide the exit code and the hint printed
// after "Error: …".
//
// A verb lives in its own package under internal/cli (internal/cli/version,
// internal/cli/completion, …) and follows one pattern, after GitHub CLI's pkg/cmd:
//
//	type Options struct { IO *iostreams.IOStreams; /* flags and args */ }
//	func NewCmdX(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command
//	func runX(opts *Options) error
//
// NewCmdX parses flags and arguments into Options and calls runF when it is non-nil (tests
// use it to check parsing alone) or runX otherwise.
package cmdutil

import (
	"github.com/purista-go/purista/internal/buildinfo"
	"github.com/purista-go/purista/internal/cli/iostreams"
)

// Factory carries the dependencies of every command. It is built once in cmd/purista (or
// in a test) and passed down; commands copy what they need into their Options.
type Factory struct {
	// IOStreams are the standard streams and their TTY state.
	IOStreams *iostreams.IOStreams
	// BuildInfo returns the build information of the running binary.
	BuildInfo func() buildinfo.Info
}

// NewFactory returns a Factory for the given streams that reports the real build info.
func NewFactory(ios *iostreams.IOStreams) *Factory {
	return &Factory{IOStreams: ios, BuildInfo: buildinfo.Get}
}
