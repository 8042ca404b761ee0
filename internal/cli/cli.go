// Package cli runs the purista command line: it executes a root command, prints any error
// as "Error: …" with a hint on standard error, and maps the outcome to an exit code.
//
// The verbs themselves live in sub-packages, one per verb (version, completion, …),
// wired together by package root. Only internal/cli and its sub-packages know cobra.
package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
)

// Execute runs root with args (without the program name) and returns the process exit
// code: cmdutil.ExitOK, ExitError, ExitUsage or ExitInterrupted. Errors are written to
// ios.ErrOut as "Error: <message>" followed by a hint line.
func Execute(ctx context.Context, root *cobra.Command, args []string, ios *iostreams.IOStreams) int {
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return cmdutil.ExitOK
	}
	if cmd == nil {
		cmd = root
	}
	if errors.Is(err, context.Canceled) || (ctx.Err() != nil && errors.Is(err, ctx.Err())) {
		fmt.Fprintln(ios.ErrOut, "Interrupted.")
		return cmdutil.ExitInterrupted
	}

	usage := cmdutil.IsUsageError(err) || isCobraUsageError(err)
	fmt.Fprintf(ios.ErrOut, "Error: %s\n", strings.TrimRight(err.Error(), "\n"))
	hint := cmdutil.HintOf(err)
	if hint == "" && usage {
		hint = fmt.Sprintf("Run '%s --help' for usage.", cmd.CommandPath())
	}
	if hint != "" {
		fmt.Fprintln(ios.ErrOut, hint)
	}
	if usage {
		return cmdutil.ExitUsage
	}
	var ec *cmdutil.ExitCodeError
	if errors.As(err, &ec) && ec.Code > 0 {
		return ec.Code
	}
	return cmdutil.ExitError
}

// isCobraUsageError recognises the few argument errors cobra creates itself before any
// of our code runs (e.g. an unknown verb below a command group).
func isCobraUsageError(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command ") ||
		strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag") ||
		strings.HasPrefix(msg, "invalid argument ") ||
		strings.Contains(msg, "arg(s), received")
}
