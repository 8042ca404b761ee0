// Package root builds the `purista` root command and attaches every verb to it.
//
// To add a verb, write it as its own package under internal/cli (see package cmdutil for
// the pattern) and add its constructor to the AddCommand call in NewCmdRoot.
package root

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/purista-go/purista/internal/cli/add"
	buildcmd "github.com/purista-go/purista/internal/cli/build"
	checkcmd "github.com/purista-go/purista/internal/cli/check"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/completion"
	deploycmd "github.com/purista-go/purista/internal/cli/deploy"
	"github.com/purista-go/purista/internal/cli/dev"
	docscmd "github.com/purista-go/purista/internal/cli/docs"
	"github.com/purista-go/purista/internal/cli/newcmd"
	"github.com/purista-go/purista/internal/cli/version"
)

// NewCmdRoot returns the root command with all verbs attached. It prints nothing on
// error by itself: cli.Execute prints the error, a hint, and picks the exit code.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	info := f.BuildInfo()
	cmd := &cobra.Command{
		Use:   "purista <command> [flags]",
		Short: "Build message-based services once, deploy them as a monolith or as microservices",
		Long: `purista builds and runs message-based Go services whose distribution is decided at
start-up: all services in one process on the in-memory bridge, or one service per
process over NATS, RabbitMQ (AMQP) or MQTT, from the same code. 'purista docs' prints
the documentation.`,
		Example: `  purista new shop && cd shop && purista dev
  purista docs                     # the documentation, built in
  source <(purista completion bash)`,
		Version:                    info.Version,
		SuggestionsMinimumDistance: 2,
		SilenceUsage:               true,
		SilenceErrors:              true,
		// Bare `purista` prints help and succeeds; an unknown verb is a usage error.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			err := cmdutil.UsageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				return cmdutil.WithHint(err, fmt.Sprintf("Did you mean '%s %s'? Run '%s --help' for usage.", cmd.CommandPath(), s[0], cmd.CommandPath()))
			}
			return err
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.SetIn(f.IOStreams.In)
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	cmd.SetVersionTemplate("purista {{.Version}}\n")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &cmdutil.UsageError{Err: err}
	})
	// Our own `completion` verb replaces cobra's default one; the hidden __complete
	// command that the scripts call is still added by cobra.
	cmd.CompletionOptions.DisableDefaultCmd = true

	cmd.AddCommand(
		version.NewCmdVersion(f, nil),
		completion.NewCmdCompletion(f, nil),
		newcmd.NewCmdNew(f, nil), add.NewCmdAdd(f, nil), dev.NewCmdDev(f, nil),
		checkcmd.NewCmdCheck(f, nil), buildcmd.NewCmdBuild(f, nil),
		docscmd.NewCmdDocs(f, nil), deploycmd.NewCmdDeploy(f, nil),
	)
	return cmd
}
