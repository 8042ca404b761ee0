package root

import (
	"context"

	"github.com/purista-go/purista/internal/buildinfo"
	"github.com/purista-go/purista/internal/check"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/devenv"
	"github.com/purista-go/purista/internal/devenv/brokers"
	"github.com/purista-go/purista/internal/image"
	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/internal/scaffold"
)

// NewFactory returns the Factory of the purista binary: the given streams, the real
// build info and the real engines.
func NewFactory(ios *iostreams.IOStreams) *cmdutil.Factory {
	return &cmdutil.Factory{
		IOStreams:    ios,
		BuildInfo:    buildinfo.Get,
		BuildProject: runtime.Build,
		Launch:       runtime.Start,
		Provision:    brokers.Provision,
		Images:       images{},
		Scaffold:     scaffolder{},
		Check:        check.Run,
		Dev:          devenv.RunSession,
	}
}

// images is the real cmdutil.ImageBuilder: package image.
type images struct{}

func (images) Build(ctx context.Context, opts image.Options) (*image.Result, error) {
	return image.Build(ctx, opts)
}
func (images) CheckDaemon(ctx context.Context, host string) error {
	return image.CheckDaemon(ctx, host)
}
func (images) WriteLayout(dir string, imgs []image.Image) error { return image.WriteLayout(dir, imgs) }
func (images) WriteTarball(file string, imgs []image.Image) error {
	return image.WriteTarball(file, imgs)
}
func (images) Load(ctx context.Context, host string, imgs []image.Image) ([]string, error) {
	return image.Load(ctx, host, imgs)
}
func (images) Push(ctx context.Context, repo string, imgs []image.Image) ([]image.Pushed, error) {
	return image.Push(ctx, repo, imgs)
}

// scaffolder is the real cmdutil.Scaffolder: package scaffold.
type scaffolder struct{}

func (scaffolder) NewProject(o scaffold.ProjectOptions) (*scaffold.Plan, error) {
	return scaffold.NewProject(o)
}
func (scaffolder) AddService(dir, name, version string) (*scaffold.Plan, error) {
	return scaffold.AddService(dir, name, version)
}
func (scaffolder) AddCommand(dir string, o scaffold.CommandOptions) (*scaffold.Plan, error) {
	return scaffold.AddCommandWith(dir, o)
}
func (scaffolder) AddSubscription(dir, service, name, event, from string) (*scaffold.Plan, error) {
	return scaffold.AddSubscription(dir, service, name, event, from)
}
