package clitest

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/purista-go/purista/internal/cli"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
)

// Execute runs cmd (a verb's command) with args as the purista binary runs its root
// command: cobra prints neither errors nor usage, cli.Execute prints the error and its
// hint to ios and returns the exit code.
func Execute(ctx context.Context, cmd *cobra.Command, args []string, ios *iostreams.IOStreams) int {
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	return cli.Execute(ctx, cmd, args, ios)
}

// Parse runs cmd with args for a flag-parsing test and returns its error: output goes to
// ios, and a flag error of cmd or of its subcommands is a *cmdutil.UsageError, as the
// root command makes it.
func Parse(cmd *cobra.Command, args []string, ios *iostreams.IOStreams) error {
	usage := func(_ *cobra.Command, err error) error { return &cmdutil.UsageError{Err: err} }
	cmd.SetArgs(args)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	cmd.SetFlagErrorFunc(usage)
	for _, c := range cmd.Commands() {
		c.SetFlagErrorFunc(usage)
	}
	return cmd.Execute()
}
