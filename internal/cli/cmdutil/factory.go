// Package cmdutil holds what every purista verb shares: the Factory that hands commands
// their dependencies, and the error types that decide the exit code and the hint printed
// after "Error: …".
//
// A verb lives in its own package under internal/cli (internal/cli/version,
// internal/cli/completion, …) and follows one pattern, after GitHub CLI's pkg/cmd:
//
//	type Options struct { IO *iostreams.IOStreams; /* flags and args */; /* engines */ }
//	func NewCmdX(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command
//	func Run(ctx context.Context, opts *Options) error
//
// NewCmdX copies the streams and the engines it needs from the Factory into Options,
// parses flags and arguments into it and calls runF when it is non-nil (tests use it to
// check parsing alone) or Run otherwise. Run does the work through the engines, so
// tests give it fakes (package internal/cli/clitest).
package cmdutil

import (
	"context"

	"github.com/purista-go/purista/internal/buildinfo"
	"github.com/purista-go/purista/internal/check"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/devenv"
	"github.com/purista-go/purista/internal/devenv/brokers"
	"github.com/purista-go/purista/internal/image"
	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/internal/scaffold"
)

// Factory carries the dependencies of every command: the streams, the build info and the
// engines that do the work past flag parsing. It is built once (root.NewFactory wires
// the real engines) and passed down; commands copy what they need into their Options, so
// a verb's Run can be tested with fakes. An engine a verb needs must not be nil.
type Factory struct {
	// IOStreams are the standard streams and their TTY state.
	IOStreams *iostreams.IOStreams
	// BuildInfo returns the build information of the running binary.
	BuildInfo func() buildinfo.Info

	// BuildProject compiles a user project's main package (runtime.Build).
	BuildProject ProjectBuilder
	// Launch starts a built project as a process with a profile (runtime.Start).
	Launch ProcessLauncher
	// Provision finds or starts the broker of a distributed dev session
	// (brokers.Provision).
	Provision BrokerProvisioner
	// Images builds container images and writes them out (package image).
	Images ImageBuilder
	// Scaffold plans new projects and additions to one (package scaffold).
	Scaffold Scaffolder
	// Check runs the distribution checks (check.Run).
	Check func(ctx context.Context, opts check.Options) (check.Report, error)
	// Dev runs a `purista dev` session until ctx ends or the user quits
	// (devenv.RunSession).
	Dev func(ctx context.Context, opts devenv.Options) error
}

// ProjectBuilder compiles a project's main package and returns the binary; a compile
// error is a *runtime.BuildError.
type ProjectBuilder func(ctx context.Context, opts runtime.BuildOptions) (*runtime.Binary, error)

// ProcessLauncher starts a built project as a process; the process outlives ctx's end
// only as far as runtime.Start documents.
type ProcessLauncher func(ctx context.Context, opts runtime.StartOptions) (*runtime.Process, error)

// BrokerProvisioner returns a broker for a distributed session (see brokers.Provision).
type BrokerProvisioner func(ctx context.Context, opts brokers.ProvisionOptions) (*brokers.Broker, error)

// ImageBuilder is what `purista build` does with images: the functions of package image
// of the same names, with the same contracts.
type ImageBuilder interface {
	Build(ctx context.Context, opts image.Options) (*image.Result, error)
	CheckDaemon(ctx context.Context, host string) error
	WriteLayout(dir string, imgs []image.Image) error
	WriteTarball(file string, imgs []image.Image) error
	Load(ctx context.Context, host string, imgs []image.Image) ([]string, error)
	Push(ctx context.Context, repo string, imgs []image.Image) ([]image.Pushed, error)
}

// Scaffolder plans what `purista new` and `purista add` write: the functions of package
// scaffold of the same names, with the same contracts. A plan is applied by its Apply.
type Scaffolder interface {
	NewProject(opts scaffold.ProjectOptions) (*scaffold.Plan, error)
	AddService(dir, name, version string) (*scaffold.Plan, error)
	AddCommand(dir string, opts scaffold.CommandOptions) (*scaffold.Plan, error)
	AddSubscription(dir, service, name, event, from string) (*scaffold.Plan, error)
}
