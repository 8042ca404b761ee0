// Package add implements `purista add service|command|subscription`: each writes new
// files from the embedded templates and registers them (main.go, the service's New,
// purista.yaml), never editing a user's code anywhere else. It works from any folder
// inside a project; re-adding an existing name is an error that changes nothing.
package add

import (
	"github.com/spf13/cobra"

	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/completion"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/cli/newcmd"
	"github.com/purista-go/purista/internal/scaffold"
)

// Options are the parsed arguments and flags of the `add` verbs.
type Options struct {
	// IO are the streams to use.
	IO *iostreams.IOStreams
	// What is "service", "command" or "subscription".
	What string
	// Dir is a folder inside the project (default: the working directory).
	Dir string
	// Service is the service to add to (command, subscription) or to create (service).
	Service string
	// Name is the command or subscription name.
	Name string
	// Version is the new service's version.
	Version string
	// Event is the command's success event, or the event a subscription listens to.
	Event string
	// From is the service whose messages a subscription receives (instead of Event).
	From string
	// AllowSharedEvent lets a command emit an event another command of the project
	// already emits.
	AllowSharedEvent bool
	// HTTP is the command's endpoint: "METHOD:/path", "/path" or "METHOD" ("" for none).
	HTTP string
	// Public makes the command's endpoint public (with HTTP).
	Public bool
	// DryRun lists the files instead of writing them.
	DryRun bool
	// Scaffold plans the addition (see cmdutil.Factory).
	Scaffold cmdutil.Scaffolder
}

// NewCmdAdd returns the `add` command group. When runF is non-nil the verbs call it with
// the parsed options instead of Run (for tests of argument parsing).
func NewCmdAdd(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "add <service|command|subscription>",
		Short: "Add a service, command or subscription to the project",
		Long: `Add a service, a command or a subscription to the project that contains the current
folder (or --dir). New files come from the embedded templates; the registration is
added for you (main.go, the service's New function, purista.yaml).`,
		Example: `  purista add service Billing
  purista add command Billing sendInvoice --event invoiceSent
  purista add subscription Greeter onInvoiceSent --event invoiceSent`,
		Args: cmdutil.ExactArgs(1, "a kind to add: service, command or subscription"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.UsageErrorf("cannot add %q: use service, command or subscription, e.g. purista add service Billing", args[0])
		},
	}
	cmd.AddCommand(newCmdService(f, runF), newCmdCommand(f, runF), newCmdSubscription(f, runF))
	return cmd
}

func common(cmd *cobra.Command, opts *Options) {
	cmd.Flags().StringVar(&opts.Dir, "dir", ".", "a folder inside the project")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "list the files that would be written, write nothing")
	completion.Flags(cmd, map[string]cobra.CompletionFunc{"dir": completion.Folders})
}

func run(opts *Options, runF func(*Options) error) error {
	if runF != nil {
		return runF(opts)
	}
	return Run(opts)
}

func newCmdService(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, What: "service", Scaffold: f.Scaffold}
	cmd := &cobra.Command{
		Use:   "service NAME [--version N]",
		Short: "Add a service: contract and implementation packages, registered in main.go",
		Long: `Add service NAME, version N (default 1): services/<name>/v<N> (the contract other
services import) and services/<name>/v<N>/service (the implementation), listed in
purista.yaml and passed to app.New in the project's main.go.`,
		Example: `  purista add service Billing
  purista add service Billing --version 2
  purista add service Billing --dry-run`,
		Args:              cmdutil.ExactArgs(1, "a service name, e.g. Billing"),
		ValidArgsFunction: cobra.NoFileCompletions, // a new name
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Service = args[0]
			return run(opts, runF)
		},
	}
	cmd.Flags().StringVar(&opts.Version, "version", "1", "service version, a whole number")
	common(cmd, opts)
	return cmd
}

func newCmdCommand(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, What: "command", Scaffold: f.Scaffold}
	cmd := &cobra.Command{
		Use:   "command SERVICE NAME [--event NAME] [--http [METHOD:]/PATH [--public]]",
		Short: "Add a command to a service: typed handle, handler, test, registration",
		Long: `Add command NAME to SERVICE: the input and output types and the typed command handle
in the contract package (callers import it), the handler and its table-driven unit test
in the implementation, and framework.Handle in the service's New function. With
--event, the command emits that success event with its output.

With --http, the contract also declares an HTTP endpoint (framework.WithHTTP): the value
is METHOD:/path, /path (POST) or METHOD (path /<service>/<command>); the method is GET,
POST, PUT, PATCH or DELETE. Each {name} segment of the path becomes a string field of a
parameter type (framework.WithParameter) that the handler reads. The endpoint needs an
authenticated caller unless --public is given (see docs/http.md). GET and DELETE take no
body, so their input's fields are optional.`,
		Example: `  purista add command Billing sendInvoice
  purista add command Billing sendInvoice --event invoiceSent
  purista add command Billing getInvoice --http GET:/invoices/{id}
  purista add command Billing pricing --http GET:/pricing --public`,
		Args:              cmdutil.ExactArgs(2, "a service and a command name, e.g. Billing sendInvoice"),
		ValidArgsFunction: completion.Services(completion.DirFlag("dir"), 0),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Service, opts.Name = args[0], args[1]
			return run(opts, runF)
		},
	}
	cmd.Flags().StringVar(&opts.Event, "event", "", "success event emitted with the output, e.g. invoiceSent")
	cmd.Flags().BoolVar(&opts.AllowSharedEvent, "allow-shared-event", false, "allow an event that another command of the project already emits (its subscribers get both)")
	cmd.Flags().StringVar(&opts.HTTP, "http", "", "serve it over HTTP: METHOD:/path, /path or METHOD, e.g. POST:/orders/{id}")
	cmd.Flags().BoolVar(&opts.Public, "public", false, "with --http: anyone may call the endpoint (default: callers need credentials)")
	common(cmd, opts)
	return cmd
}

func newCmdSubscription(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, What: "subscription", Scaffold: f.Scaffold}
	cmd := &cobra.Command{
		Use:   "subscription SERVICE NAME (--event NAME | --from SERVICE)",
		Short: "Add a subscription to a service: handler, test, registration",
		Long: `Add subscription NAME to SERVICE: a handler and its unit test in the implementation and
framework.Subscribe in the service's New function.

With --event, the handler receives that event with its typed body when a contract of the
project declares it (a command's success event or a framework.Event); otherwise the event
is declared in SERVICE's contract with a raw JSON body (for events of services outside
the project). With --from, the handler receives every message that service sends.`,
		Example: `  purista add subscription Greeter onInvoiceSent --event invoiceSent
  purista add subscription Audit onBilling --from Billing`,
		Args:              cmdutil.ExactArgs(2, "a service and a subscription name, e.g. Greeter onInvoiceSent"),
		ValidArgsFunction: completion.Services(completion.DirFlag("dir"), 0),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Service, opts.Name = args[0], args[1]
			return run(opts, runF)
		},
	}
	cmd.Flags().StringVar(&opts.Event, "event", "", "event to subscribe to, e.g. invoiceSent")
	cmd.Flags().StringVar(&opts.From, "from", "", "subscribe to every message from this service instead of one event")
	common(cmd, opts)
	completion.Flags(cmd, map[string]cobra.CompletionFunc{
		"event": completion.Events(completion.DirFlag("dir")),
		"from":  completion.Services(completion.DirFlag("dir"), -1),
	})
	return cmd
}

// Run plans the addition with its Scaffold engine and applies (or, with DryRun, lists)
// it.
func Run(opts *Options) error {
	var (
		plan *scaffold.Plan
		err  error
		done string
	)
	switch opts.What {
	case "service":
		plan, err = opts.Scaffold.AddService(opts.Dir, opts.Service, opts.Version)
		done = "Added service " + opts.Service
	case "command":
		plan, err = opts.Scaffold.AddCommand(opts.Dir, scaffold.CommandOptions{Service: opts.Service, Name: opts.Name,
			Event: opts.Event, AllowSharedEvent: opts.AllowSharedEvent, HTTP: opts.HTTP, Public: opts.Public})
		done = "Added command " + opts.Name + " to " + opts.Service
	case "subscription":
		plan, err = opts.Scaffold.AddSubscription(opts.Dir, opts.Service, opts.Name, opts.Event, opts.From)
		done = "Added subscription " + opts.Name + " to " + opts.Service
	default:
		return cmdutil.UsageErrorf("cannot add %q: use service, command or subscription", opts.What)
	}
	if err != nil {
		return newcmd.Classify(err)
	}
	return newcmd.Apply(opts.IO, plan, opts.DryRun, done)
}
