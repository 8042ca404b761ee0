// Package check implements `purista check`: the distribution checklist as executable
// checks for CI (see internal/check and docs/check.md).
package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/purista-go/purista/internal/check"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/completion"
	"github.com/purista-go/purista/internal/cli/iostreams"
)

// Exit codes of `purista check` (besides cmdutil.ExitUsage = 2).
const (
	// ExitFailed means at least one check failed, or the run timed out (--timeout).
	ExitFailed = 1
	// ExitNotBuilt means the project could not be built or loaded: nothing was checked.
	ExitNotBuilt = 3
)

// Options are the parsed flags and arguments of `purista check`.
type Options struct {
	// IO are the streams to write to.
	IO *iostreams.IOStreams
	// Dir is the project folder (default ".").
	Dir string
	// Only and Skip select checks by name.
	Only, Skip []string
	// Broker is nats, amqp or mqtt: --broker, or without it the kind of --broker-url's
	// scheme, or "" when the kind comes from --profile's bridge.
	Broker string
	// BrokerURL is an external broker (--broker-url).
	BrokerURL string
	// Profile is a profile of purista.yaml whose bridge is the default BrokerURL.
	Profile string
	// Format is text or json.
	Format string
	// JUnit is a file to write JUnit XML to ("" for none).
	JUnit string
	// Timeout bounds the whole run.
	Timeout time.Duration
	// Check is the engine that runs the checks (check.Run; see cmdutil.Factory).
	Check func(context.Context, check.Options) (check.Report, error)
}

// NewCmdCheck returns the `check` command. When runF is non-nil it is called with the
// parsed options instead of the real implementation (for tests of flag parsing).
func NewCmdCheck(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Check: f.Check}
	cmd := &cobra.Command{
		Use:   "check [DIR] [flags]",
		Short: "Run the distribution checklist against a project, for CI",
		Long: `Run the distribution checklist against the project in DIR (default: the current
folder or the project that contains it). Every item is a check that runs the project
for real or analyses its service code:

  ` + strings.Join(check.Names(), "\n  ") + `

The broker checks use an embedded NATS server unless --broker, --broker-url or
--profile say otherwise; the broker kind follows the URL's scheme. Exit codes: 0
nothing failed, 1 a check failed or the run timed out, 2 usage error or broker
unavailable (an external broker is tested first, for a few seconds), 3 the project
could not be built. Run 'purista docs check' for the checks and the JSON schema.`,
		Example: `  # in CI, from the project root
  purista check --junit check-report.xml

  # only the static checks, as JSON
  purista check --only external-config,stateless --format json

  # against a running RabbitMQ (the kind, amqp, follows the scheme)
  purista check --broker-url amqp://guest:guest@127.0.0.1:5672/

  # against the broker of the "microservices" profile of purista.yaml
  purista check --profile microservices`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return cmdutil.UsageErrorf("%s takes at most one project folder, got %q", cmd.CommandPath(), strings.Join(args, " "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Dir = args[0]
			}
			if opts.Format != "text" && opts.Format != "json" {
				return cmdutil.UsageErrorf("--format %q is unknown: use text or json", opts.Format)
			}
			if opts.Broker != "nats" && opts.Broker != "amqp" && opts.Broker != "mqtt" {
				return cmdutil.UsageErrorf("--broker %q is unknown: use nats, amqp or mqtt", opts.Broker)
			}
			explicit := ""
			if cmd.Flags().Changed("broker") {
				explicit = opts.Broker
			}
			switch {
			case opts.BrokerURL != "":
				kind, err := check.BrokerKind(explicit, opts.BrokerURL)
				if err != nil {
					return &cmdutil.UsageError{Err: err}
				}
				opts.Broker = kind
			case opts.Profile != "":
				opts.Broker = explicit // "": the profile's bridge decides
			}
			if opts.Timeout <= 0 {
				return cmdutil.UsageErrorf("--timeout %v is not positive: use e.g. 5m", opts.Timeout)
			}
			if runF != nil {
				return runF(opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&opts.Only, "only", nil, "run only these checks (comma-separated names)")
	fl.StringSliceVar(&opts.Skip, "skip", nil, "leave out these checks (comma-separated names)")
	fl.StringVar(&opts.Broker, "broker", "nats", "broker kind for the broker checks: nats | amqp | mqtt; when not given, the broker URL's scheme decides")
	fl.StringVar(&opts.BrokerURL, "broker-url", "", "use this broker instead of an embedded one, e.g. nats://127.0.0.1:4222")
	fl.StringVar(&opts.Profile, "profile", "", "take the broker URL from this profile of purista.yaml (--broker-url wins)")
	fl.StringVar(&opts.Format, "format", "text", "output: text (a table) or json")
	fl.StringVar(&opts.JUnit, "junit", "", "also write a JUnit XML report to this file")
	fl.DurationVar(&opts.Timeout, "timeout", 5*time.Minute, "give up after this long")
	cmd.ValidArgsFunction = completion.Dirs
	completion.Flags(cmd, map[string]cobra.CompletionFunc{
		"only": completion.List(completion.Choices(check.Names()...)), "skip": completion.List(completion.Choices(check.Names()...)),
		"broker": completion.BrokerKinds(), "profile": completion.Profiles(completion.DirArg), "format": completion.Fixed("text", "json"),
	})
	return cmd
}

// Run runs the checks with its Check engine and prints the report.
func Run(ctx context.Context, opts *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	// Outputs are checked before anything runs: a report that cannot be written
	// should not cost a whole run.
	if opts.JUnit != "" {
		if err := checkWritable(opts.JUnit); err != nil {
			return &cmdutil.UsageError{Err: fmt.Errorf("--junit %s cannot be written (%w): give a file in an existing, writable folder", opts.JUnit, err)}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	timedOut := func() bool { return errors.Is(ctx.Err(), context.DeadlineExceeded) }
	prog := newProgress(opts.IO)
	rep, err := opts.Check(ctx, check.Options{Dir: opts.Dir, Only: opts.Only, Skip: opts.Skip,
		Broker: opts.Broker, BrokerURL: opts.BrokerURL, Profile: opts.Profile, Progress: prog.update})
	prog.stop()
	var be *check.BuildError
	var brk *check.BrokerError
	switch {
	case errors.Is(err, check.ErrUsage):
		return &cmdutil.UsageError{Err: err}
	case errors.As(err, &brk):
		return &cmdutil.ExitCodeError{Code: cmdutil.ExitUsage, Err: cmdutil.WithHint(err, brokerHint(brk.Kind))}
	case err != nil && timedOut() && errors.Is(err, context.DeadlineExceeded):
		return &cmdutil.ExitCodeError{Code: ExitFailed, Err: fmt.Errorf("check timed out after %v (raise --timeout)", opts.Timeout)}
	case errors.As(err, &be):
		return &cmdutil.ExitCodeError{Code: ExitNotBuilt, Err: cmdutil.WithHint(err,
			"Fix the errors above; `go build ./...` and `go vet ./...` in the project show the same.")}
	case err != nil:
		return cmdutil.ProjectHint(err, "check", "purista check DIR")
	}
	if opts.JUnit != "" {
		if err := writeFile(opts.JUnit, func(w io.Writer) error { return check.WriteJUnit(w, rep) }); err != nil {
			return fmt.Errorf("write --junit %s: %w", opts.JUnit, err)
		}
	}
	if opts.Format == "json" {
		err = check.WriteJSON(opts.IO.Out, rep, opts.IO.IsStdoutTTY())
	} else {
		err = check.WriteText(opts.IO.Out, rep)
	}
	if err != nil {
		return err
	}
	if !rep.Passed {
		err := fmt.Errorf("%d of %d checks failed", rep.Summary.Failed, len(rep.Checks))
		if timedOut() {
			err = fmt.Errorf("check timed out after %v (raise --timeout): %w", opts.Timeout, err)
		}
		return &cmdutil.ExitCodeError{Code: ExitFailed, Err: err}
	}
	return nil
}

// brokerHint says what to do about an external broker that failed the connection test.
func brokerHint(kind string) string {
	if kind == "amqp" {
		return "Nothing was checked. Start RabbitMQ (e.g. docker run -p 5672:5672 rabbitmq:3) or give --broker-url of one that runs; " +
			"or leave out --broker-url and --profile to check on an embedded NATS server."
	}
	return "Nothing was checked. Start the broker, give --broker-url of one that runs, or leave out --broker-url and --profile " +
		"to check on an embedded broker."
}

// checkWritable reports whether the file name can be written, without leaving a trace:
// an existing file is opened for writing (not truncated), a new one is created and
// removed again.
func checkWritable(name string) error {
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_ = f.Close()
	return os.Remove(name)
}

func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
