// Package dev implements `purista dev`: it builds the project, runs it (all services in
// one process on the in-memory bridge, or with --distributed one process per service
// over a broker), shows it in a terminal UI or as log lines, and rebuilds on changes.
package dev

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/completion"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/devenv"
	"github.com/purista-go/purista/internal/preflight"
	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/pkg/framework/app"
)

// Options are the parsed flags of `purista dev`.
type Options struct {
	// IO are the streams.
	IO *iostreams.IOStreams
	// Dir is where to look for the project (default: the working directory).
	Dir string
	// NoTUI prints log lines instead of the terminal UI (implied when stdout is no TTY).
	NoTUI bool
	// JSON prints the headless output as JSON lines.
	JSON bool
	// Distributed runs one process per service over a broker.
	Distributed bool
	// Broker is nats, amqp or mqtt; BrokerURL an explicit broker URL.
	Broker, BrokerURL string
	// NoContainers skips testcontainers when looking for a broker.
	NoContainers bool
	// BrokerImage is the container image of the broker (wins over dev.images of
	// purista.yaml).
	BrokerImage string
	// NoWatch disables rebuild on change.
	NoWatch bool
	// Grace is the SIGTERM → SIGKILL grace period.
	Grace time.Duration
	// Profile is the purista.yaml profile to run (--profile); see ApplyProfile.
	Profile string
	// HTTPAddr is the app's HTTP address (from the profile's http; "" picks a port).
	HTTPAddr string
	// SecureHTTP runs the app's HTTP endpoint with the project's own authentication
	// instead of the framework's HTTP development mode.
	SecureHTTP bool
	// NoTraces turns the TUI's trace view off (the processes get no OTEL_* settings).
	NoTraces bool
	// Changed reports whether a flag was given on the command line (nil: none was).
	Changed func(flag string) bool
	// Getenv reads the environment (NO_COLOR).
	Getenv func(string) string

	// Dev runs the session; BuildProject, Launch and Provision are handed to it (see
	// cmdutil.Factory).
	Dev          func(context.Context, devenv.Options) error
	BuildProject cmdutil.ProjectBuilder
	Launch       cmdutil.ProcessLauncher
	Provision    cmdutil.BrokerProvisioner
}

// NewCmdDev returns the `dev` command. When runF is non-nil it is called with the
// parsed options instead of the real implementation (for tests of flag parsing).
func NewCmdDev(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Getenv: os.Getenv, Dev: f.Dev, BuildProject: f.BuildProject, Launch: f.Launch,
		Provision: f.Provision}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the project with a live terminal UI, rebuilding on every change",
		Long: `Build the project's binary (purista.yaml main) and run it: all services in one
process on the in-memory bridge, or with --distributed one process per service over a
broker. Saving a .go file, go.mod or go.sum rebuilds and restarts; a compile error is shown
and the previous process keeps running.

The terminal UI shows processes, services (state, health, invocations, errors, p50
latency), the message stream (filter with /), logs, and an invoke dialog (i). Press ? for
help and q to quit. Without a terminal, or with --no-tui, it prints prefixed log lines
(--json: JSON lines) instead.

--distributed finds a broker in this order: --broker-url or PURISTA_BROKER_URL, a
testcontainers container when a Docker daemon answers, an embedded broker (nats, mqtt).
AMQP has no embedded broker: give a URL or start Docker. A broker URL is tested first
(a few seconds): when it does not answer, dev stops with exit code 2 before building.

--profile NAME runs a profile of purista.yaml: bridge memory runs the monolith, split: true
means --distributed, a broker URL means --broker-url (its scheme gives --broker; without
split the one process uses that broker), http is the app's HTTP address. Flags given on
the command line win over the profile.

HTTP: the app serves its declared endpoints (framework.WithHTTP), GET /api and its OpenAPI
document at http://<addr>/openapi.json (the address is shown). By default it runs in the
framework's HTTP development mode (PURISTA_HTTP_DEV_INSECURE=1, logged as a warning):
requests need no credentials, X-Principal-Id names the caller, and every command is also
served at POST /api/<service>/v<n>/<command>, which the invoke dialog uses. Never deploy
like this. --secure-http applies the project's own authentication instead (set e.g.
PURISTA_HTTP_API_KEYS or PURISTA_HTTP_AUTH_JWKS_URL in the environment you start dev from;
without one, an app with protected endpoints refuses to start): protected endpoints, GET
/api and the OpenAPI document need credentials, the command routes are off and the invoke
dialog reaches no command (call the endpoints with curl and your credentials).

On quit, SIGINT or SIGTERM every process gets SIGTERM, then SIGKILL after --grace; dev
exits 0 when everything stopped cleanly and 1 when a process had to be killed or failed.
Without --no-watch a crashed app waits for a change; with --no-watch dev exits 1 with the
app's error.`,
		Example: `  purista dev
  purista dev --no-tui
  purista dev --distributed                      # embedded NATS unless a URL or Docker is there
  purista dev --distributed --broker-url amqp://guest:guest@127.0.0.1:5672/
  purista dev --distributed --broker mqtt
  purista dev --profile microservices            # a profile of purista.yaml
  PURISTA_HTTP_API_KEYS="sha256:<hex> alice" purista dev --secure-http   # the project's authentication`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Broker != "" && opts.Broker != "nats" && opts.Broker != "amqp" && opts.Broker != "mqtt" {
				return cmdutil.UsageErrorf("--broker %q is unknown: use nats, amqp or mqtt", opts.Broker)
			}
			if (opts.Broker != "" || opts.BrokerURL != "") && !opts.Distributed && opts.Profile == "" {
				return cmdutil.UsageErrorf("--broker and --broker-url need --distributed")
			}
			if err := checkBrokerURL(opts.Broker, opts.BrokerURL); err != nil {
				return err
			}
			if opts.Grace < 0 {
				return cmdutil.UsageErrorf("--grace %v is negative: use e.g. 10s (0 kills at once)", opts.Grace)
			}
			opts.Changed = cmd.Flags().Changed
			if runF != nil {
				return runF(opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Dir, "dir", "C", ".", "project folder (or any folder inside it)")
	fl.BoolVar(&opts.NoTUI, "no-tui", false, "print log lines instead of the terminal UI")
	fl.BoolVar(&opts.JSON, "json", false, "headless output as JSON lines (implies --no-tui)")
	fl.BoolVar(&opts.Distributed, "distributed", false, "run one process per service over a broker")
	fl.StringVar(&opts.Broker, "broker", "", "broker for --distributed: nats (default), amqp or mqtt")
	fl.StringVar(&opts.BrokerURL, "broker-url", "", "broker URL for --distributed (env PURISTA_BROKER_URL)")
	fl.BoolVar(&opts.NoContainers, "no-containers", false, "never start a broker container with testcontainers")
	fl.StringVar(&opts.BrokerImage, "broker-image", "", "container image of the broker for testcontainers (default: dev.images of purista.yaml, else nats:2.10-alpine, rabbitmq:3.13-management-alpine, eclipse-mosquitto:2.0)")
	fl.BoolVar(&opts.NoWatch, "no-watch", false, "do not rebuild on changes")
	fl.DurationVar(&opts.Grace, "grace", 10*time.Second, "how long processes may take to stop after SIGTERM before SIGKILL")
	fl.StringVar(&opts.Profile, "profile", "", "run a profile of purista.yaml (bridge, split, http); flags win over it")
	fl.BoolVar(&opts.SecureHTTP, "secure-http", false, "serve HTTP with the project's own authentication, not in HTTP development mode (the invoke dialog then reaches no command)")
	fl.BoolVar(&opts.NoTraces, "no-traces", false, "no trace view: do not collect the processes' spans (they keep the OTEL_* environment as it is)")
	completion.Flags(cmd, map[string]cobra.CompletionFunc{"dir": completion.Folders, "broker": completion.BrokerKinds(),
		"profile": completion.Profiles(completion.DirFlag("dir"))})
	return cmd
}

// Run runs the dev session described by opts with its Dev engine.
func Run(ctx context.Context, opts *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	m, root, err := project.Find(opts.Dir)
	if err != nil {
		return manifestError(err)
	}
	if err := ApplyProfile(opts, m); err != nil {
		return err
	}
	if err := preflightBroker(ctx, opts); err != nil {
		return err
	}
	headless := opts.NoTUI || opts.JSON || !opts.IO.IsStdoutTTY() || !opts.IO.IsStdinTTY()
	return opts.Dev(ctx, devenv.Options{
		Root: root, Manifest: m, Distributed: opts.Distributed, Broker: opts.Broker, BrokerURL: opts.BrokerURL,
		HTTPAddr: opts.HTTPAddr, SecureHTTP: opts.SecureHTTP, NoTraces: opts.NoTraces,
		NoContainers: opts.NoContainers, BrokerImage: opts.BrokerImage, Watch: !opts.NoWatch, Headless: headless, JSON: opts.JSON,
		NoColor: opts.Getenv("NO_COLOR") != "", Grace: opts.Grace,
		In: opts.IO.In, Out: opts.IO.Out, ErrOut: opts.IO.ErrOut,
		Build: opts.BuildProject, Start: opts.Launch, Provision: opts.Provision,
	})
}

// checkBrokerURL rejects a --broker-url that names no broker (an unknown scheme, the
// in-memory bridge) or contradicts --broker, before anything is built.
func checkBrokerURL(broker, url string) error {
	if url == "" {
		return nil
	}
	kind, err := app.BridgeKind(url)
	switch {
	case err != nil:
		return cmdutil.UsageErrorf("--broker-url %s: %v", app.RedactURL(url), err)
	case kind == "memory":
		return cmdutil.UsageErrorf("--broker-url %q is the in-memory bridge: give a broker, e.g. nats://127.0.0.1:4222", app.RedactURL(url))
	case broker != "" && broker != kind:
		return cmdutil.UsageErrorf("--broker %s contradicts --broker-url %s (a %s URL): drop --broker, or give a %s:// URL",
			broker, app.RedactURL(url), kind, broker)
	}
	if _, err := preflight.Validate(url); err != nil {
		return cmdutil.UsageErrorf("--broker-url: %w", err)
	}
	return nil
}

// preflightBroker tests the broker dev is to use when a URL names it (--broker-url, the
// profile's bridge or PURISTA_BROKER_URL) before anything is built: a URL that names no
// broker is a usage error, a broker that does not answer within preflight.DefaultTimeout
// one error (exit 2) naming the masked URL and what to try. Without a URL dev provisions
// the broker itself and there is nothing to test; an interrupted test is no error.
func preflightBroker(ctx context.Context, opts *Options) error {
	if !opts.Distributed && opts.BrokerURL == "" && opts.Broker == "" {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	url, source := opts.BrokerURL, "--broker-url"
	if opts.Profile != "" && (opts.Changed == nil || !opts.Changed("broker-url")) {
		source = "the bridge of profile " + opts.Profile
	}
	if url == "" && opts.Getenv != nil {
		url, source = opts.Getenv("PURISTA_BROKER_URL"), "PURISTA_BROKER_URL"
	}
	if url == "" {
		return nil
	}
	kind, err := preflight.Validate(url)
	if err != nil {
		return cmdutil.UsageErrorf("%s: %w", source, err)
	}
	err = preflight.Check(ctx, url, preflight.DefaultTimeout)
	switch {
	case err == nil, ctx.Err() != nil:
		return nil
	case errors.Is(err, preflight.ErrInvalid):
		return cmdutil.UsageErrorf("%s: %w", source, err)
	}
	hint := "Nothing was started. Start the broker, point " + source + " at one that runs, or leave it out: " +
		"dev then starts a broker itself (a container when Docker answers, else an embedded one)."
	if kind == "amqp" {
		hint = "Nothing was started. Start RabbitMQ (e.g. docker run -p 5672:5672 rabbitmq:3), point " + source +
			" at one that runs, or leave it out: dev then starts RabbitMQ in a container when Docker answers."
	}
	return &cmdutil.ExitCodeError{Code: cmdutil.ExitUsage, Err: cmdutil.WithHint(fmt.Errorf("%w (%s)", err, source), hint)}
}

// manifestError attaches the hint that fits why the project could not be loaded: no
// purista.yaml at all, or one that is broken.
func manifestError(err error) error {
	if errors.Is(err, project.ErrNotFound) {
		return cmdutil.ProjectHint(err, "dev", "purista dev -C DIR")
	}
	return cmdutil.WithHint(err, "Fix "+project.FileName+" and run 'purista dev' again.")
}

// ApplyProfile fills opts from the purista.yaml profile opts.Profile (nothing when it is
// ""): bridge "memory" runs the monolith, split: true means --distributed, a broker URL
// means --broker-url and --broker (from its scheme), http the app's HTTP address. A flag
// given on the command line (opts.Changed) wins over the profile. An unknown profile is
// an error that lists the profile names.
func ApplyProfile(opts *Options, m *project.Manifest) error {
	if opts.Profile == "" {
		return nil
	}
	p, ok := m.Profiles[opts.Profile]
	if !ok {
		names := m.ProfileNames()
		if len(names) == 0 {
			return cmdutil.UsageErrorf("--profile %q: %s has no profiles", opts.Profile, project.FileName)
		}
		return cmdutil.UsageErrorf("--profile %q is unknown: %s has %s", opts.Profile, project.FileName, strings.Join(names, ", "))
	}
	changed := opts.Changed
	if changed == nil {
		changed = func(string) bool { return false }
	}
	kind, err := app.BridgeKind(p.Bridge)
	if err != nil {
		return fmt.Errorf("profile %s: %w", opts.Profile, err)
	}
	if !changed("distributed") {
		opts.Distributed = p.Split
	}
	if kind != "memory" && !changed("broker-url") && !changed("broker") {
		opts.BrokerURL, opts.Broker = p.Bridge, kind
	}
	if opts.HTTPAddr == "" {
		opts.HTTPAddr = p.HTTP
	}
	return nil
}
