// Package newcmd implements `purista new NAME`: it creates a project from the embedded
// templates (see internal/scaffold), asking for missing choices only when standard input
// and output are terminals. (The package is not called "new", which is a Go builtin.)
package newcmd

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/charmbracelet/x/term"

	"github.com/spf13/cobra"

	"github.com/purista-go/purista/internal/buildinfo"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/completion"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/scaffold"
)

// PromptFunc asks the questions and returns the completed answers.
type PromptFunc func(ctx context.Context, ios *iostreams.IOStreams, a Answers, questions ...Question) (Answers, error)

// Options are the parsed arguments and flags of `purista new`.
type Options struct {
	// IO are the streams to use.
	IO *iostreams.IOStreams
	// BuildInfo reports the running binary (its version picks the framework version).
	BuildInfo func() buildinfo.Info
	// Answers are the name, module, bridge and HTTP choice given on the command line.
	Answers
	// BridgeSet and HTTPSet tell whether --bridge and --http were given explicitly.
	BridgeSet, HTTPSet bool
	// Dir is the target folder (default ./NAME).
	Dir string
	// Framework is a local framework checkout for go.mod's replace.
	Framework string
	// Service is the example service's name.
	Service string
	// DryRun lists the files instead of writing them.
	DryRun bool
	// Force allows a non-empty target folder.
	Force bool
	// NoPrompt never asks, even on a terminal.
	NoPrompt bool
	// Prompt asks for missing choices (default: the bubbletea prompt).
	Prompt PromptFunc
	// Scaffold plans the project (see cmdutil.Factory).
	Scaffold cmdutil.Scaffolder
}

// NewCmdNew returns the `new` command. When runF is non-nil it is called with the parsed
// options instead of Run (for tests of flag parsing).
func NewCmdNew(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, BuildInfo: f.BuildInfo, Scaffold: f.Scaffold}
	cmd := &cobra.Command{
		Use:   "new NAME [flags]",
		Short: "Create a new purista project",
		Long: `Create a new project NAME: go.mod, cmd/NAME/main.go, purista.yaml (services and
deployment profiles), README.md, Makefile, .gitignore and one service (Greeter v1) with
one command and its unit test. The project builds and its tests pass at once.

The generated go.mod requires github.com/purista-go/purista. With --framework PATH, or
when this purista binary was built from a source checkout that still exists, go.mod
gets a replace to that checkout plus the framework's requirements and go.sum, so the
project builds offline from the module cache.

On a terminal, purista asks for the choices you did not give (name, module, bridge,
HTTP); in scripts and CI it never asks. Nothing is written until everything is
rendered; a folder that is not empty is refused unless --force.`,
		Example: `  # a project in ./shop, in-memory bridge only
  purista new shop

  # module path, a NATS profile and an HTTP (serverless) profile
  purista new shop --module github.com/acme/shop --bridge nats --http

  # see what would be written
  purista new shop --dry-run

  # build against a local framework checkout
  purista new shop --framework ~/src/purista`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return cmdutil.UsageErrorf("%s takes one project name, got %d arguments: e.g. purista new shop", cmd.CommandPath(), len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Name = args[0]
			}
			opts.BridgeSet = cmd.Flags().Changed("bridge")
			opts.HTTPSet = cmd.Flags().Changed("http")
			if runF != nil {
				return runF(opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Module, "module", "", "Go module path (default: NAME)")
	fl.StringVar(&opts.Bridge, "bridge", "memory", "broker of the distributed profile: memory, nats, amqp or mqtt")
	fl.BoolVar(&opts.HTTP, "http", false, "add a serverless profile that serves commands over HTTP")
	fl.StringVar(&opts.Dir, "dir", "", "folder to create the project in (default: ./NAME)")
	fl.StringVar(&opts.Framework, "framework", "", "local checkout of the purista framework for go.mod's replace")
	fl.StringVar(&opts.Service, "service", scaffold.DefaultService, "name of the example service")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "list the files that would be written, write nothing")
	fl.BoolVar(&opts.Force, "force", false, "write into a non-empty folder, overwriting files of the same names")
	fl.BoolVar(&opts.NoPrompt, "no-prompt", false, "never ask, even on a terminal")
	cmd.ValidArgsFunction = cobra.NoFileCompletions // a new name
	completion.Flags(cmd, map[string]cobra.CompletionFunc{
		"bridge": completion.Fixed(scaffold.BridgeKinds()...), "dir": completion.Folders, "framework": completion.Folders,
		"module": cobra.NoFileCompletions, "service": cobra.NoFileCompletions,
	})
	return cmd
}

// Run creates the project described by opts: its Scaffold engine plans it, Run writes
// the plan.
func Run(ctx context.Context, opts *Options) error {
	if canPrompt(opts.IO) && !opts.NoPrompt {
		var qs []Question
		if opts.Name == "" {
			qs = append(qs, AskName)
			if opts.Module == "" {
				qs = append(qs, AskModule)
			}
		}
		if !opts.BridgeSet {
			qs = append(qs, AskBridge)
		}
		if !opts.HTTPSet {
			qs = append(qs, AskHTTP)
		}
		if len(qs) > 0 {
			prompt := opts.Prompt
			if prompt == nil {
				prompt = func(ctx context.Context, ios *iostreams.IOStreams, a Answers, q ...Question) (Answers, error) {
					return RunPrompt(ctx, ios.In, ios.Out, a, q...)
				}
			}
			a, err := prompt(ctx, opts.IO, opts.Answers, qs...)
			if err != nil {
				return err
			}
			opts.Answers = a
		}
	}
	if opts.Name == "" {
		return cmdutil.UsageErrorf("a project name is needed, e.g. purista new shop")
	}
	version := ""
	if opts.BuildInfo != nil {
		version = opts.BuildInfo().Version
	}
	plan, err := opts.Scaffold.NewProject(scaffold.ProjectOptions{
		Name: opts.Name, Module: opts.Module, Bridge: opts.Bridge, HTTP: opts.HTTP, Dir: opts.Dir,
		Force: opts.Force, Framework: opts.Framework, BinaryVersion: version, Service: opts.Service,
	})
	if err != nil {
		return Classify(err)
	}
	return Apply(opts.IO, plan, opts.DryRun, "Created project "+opts.Name)
}

// canPrompt reports whether to ask questions: the streams say both standard input and
// output are terminals, and, when they are real files, the terminal driver agrees (a
// character device such as /dev/null is not a terminal).
func canPrompt(ios *iostreams.IOStreams) bool {
	if !ios.CanPrompt() {
		return false
	}
	for _, s := range []any{ios.In, ios.Out} {
		if f, ok := s.(*os.File); ok && !term.IsTerminal(f.Fd()) {
			return false
		}
	}
	return true
}

// Apply prints (dry run) or writes the plan and tells the user what happened and what
// to do next. It is shared by `new` and `add`.
func Apply(ios *iostreams.IOStreams, plan *scaffold.Plan, dryRun bool, done string) error {
	if dryRun {
		fmt.Fprintf(ios.Out, "Would write in %s:\n", plan.Root)
		for _, l := range plan.Describe() {
			fmt.Fprintln(ios.Out, "  "+l)
		}
		return nil
	}
	if err := plan.Apply(); err != nil {
		return fmt.Errorf("%w (the disk was left as it was)", err)
	}
	for _, l := range plan.Describe() {
		fmt.Fprintln(ios.Out, "  "+l)
	}
	fmt.Fprintf(ios.Out, "%s in %s.\n", done, plan.Root)
	if len(plan.Next) > 0 {
		fmt.Fprintln(ios.Out, "Next:")
		for _, n := range plan.Next {
			fmt.Fprintln(ios.Out, "  "+n)
		}
	}
	return nil
}

// Classify turns scaffold errors into CLI errors: invalid input and a name that is
// already taken become usage errors (exit 2), a non-empty folder gets a hint.
func Classify(err error) error {
	switch {
	case errors.Is(err, scaffold.ErrInvalidInput), errors.Is(err, scaffold.ErrExists):
		return &cmdutil.UsageError{Err: err}
	case errors.Is(err, scaffold.ErrNotEmpty):
		return cmdutil.WithHint(err, "Nothing was written.")
	}
	return err
}
