// Package app runs a project's services as a process: it is all a project's main
// function needs. It reads the configuration from flags and PURISTA_* environment
// variables (every setting is both), starts the chosen services on the chosen event
// bridge, serves health and, when asked, HTTP, and shuts down gracefully on SIGINT or
// SIGTERM:
//
//	func main() {
//		app.New(usersvc.New(), emailsvc.New()).Main()
//	}
//
// Which services run (PURISTA_SERVICES, --services) and over which bridge
// (PURISTA_BRIDGE, --bridge: memory, nats://, amqp://, mqtt://) is decided when the
// process starts, never in service code; run the binary with -h for every setting.
// An application adds flags of its own with App.Flags and builds its services from
// their values with App.Build.
//
// The package also exports what the purista CLI needs to drive such a process: the
// bridge settings (BridgeKind, NewBridge), the event stream's line format (StreamLine,
// Record) and the scrubbing of credentials (RedactURL, Redactor).
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/internal/redact"
)

// App is an application: services, the application's own flags, and how to run them.
// Configure it (Flags, Build, With) before calling Run or Main, from one goroutine.
type App struct {
	services []*framework.Service
	build    func() ([]*framework.Service, error)
	flags    *flag.FlagSet
	set      settings
}

// New returns an application that runs services. More can be built after the flags are
// parsed, with Build.
func New(services ...*framework.Service) *App {
	return &App{services: services, flags: flag.NewFlagSet(filepath.Base(os.Args[0]), flag.ContinueOnError)}
}

// Flags returns the application's own flag set. Define flags on it before Run or Main;
// they are parsed together with purista's (--bridge, --services, …), listed by -h, and
// their values are set when the Build function runs. A flag whose name purista uses
// makes Run fail with ExitConfig.
func (a *App) Flags() *flag.FlagSet { return a.flags }

// Build sets a function that returns more services once the command line is parsed, so
// that they can use the values of the application's flags (a database address, say).
// Its services run after those given to New. An error it returns stops the process:
// with ExitConfig when it wraps framework.ErrConfig (a bad flag value), else with ExitFailure.
func (a *App) Build(fn func() ([]*framework.Service, error)) { a.build = fn }

// Option tunes how an App runs its services (see With).
type Option func(*settings)

type settings struct {
	ready     func(*framework.Runtime)
	startOpts []framework.StartOption
	httpOpts  []framework.HTTPOption
}

// With applies opts to a and returns a.
func (a *App) With(opts ...Option) *App {
	for _, o := range opts {
		o(&a.set)
	}
	return a
}

// WithStartOptions passes options to framework.Start (a tracer provider, say).
func WithStartOptions(opts ...framework.StartOption) Option {
	return func(s *settings) { s.startOpts = append(s.startOpts, opts...) }
}

// WithHTTPOptions passes options to the HTTP handler served at PURISTA_HTTP_ADDR (an
// authenticator of your own, say); they come after those the configuration sets.
func WithHTTPOptions(opts ...framework.HTTPOption) Option {
	return func(s *settings) { s.httpOpts = append(s.httpOpts, opts...) }
}

// WithReady calls f once the services are started and health (and HTTP) is served, with
// the runtime, for tests and embedding.
func WithReady(f func(*framework.Runtime)) Option { return func(s *settings) { s.ready = f } }

// Main runs the application with the process's arguments and environment and exits the
// process with Run's exit code.
func (a *App) Main() {
	os.Exit(a.Run(context.Background(), os.Args[1:], os.Getenv, os.Stderr))
}

// Run runs the application as Main does, without exiting: args are the command-line
// arguments without the program name, getenv reads the environment (os.Getenv), and
// logs and errors go to stderr. It blocks until ctx is done or SIGINT or SIGTERM
// arrives, shuts down gracefully, and returns the exit code: ExitOK after a clean
// shutdown (and after -h), ExitConfig for an unknown flag, a bad value or an invalid
// service definition, ExitFailure when the application failed while starting or
// running. With --openapi-out it writes the OpenAPI document and returns.
func (a *App) Run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, err := parseConfig(a.flags, args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", redact.Error(err, cfg.Bridge))
		return ExitConfig
	}
	services := a.services
	if a.build != nil {
		built, err := a.build()
		if err != nil {
			return exitCode(fmt.Errorf("build the services: %w", err), stderr)
		}
		services = append(services[:len(services):len(services)], built...)
	}
	if cfg.OpenAPIOut != "" {
		return exitCode(writeOpenAPI(cfg, services), stderr)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return exitCode(runServices(ctx, cfg, services, a.set, stderr), stderr)
}
