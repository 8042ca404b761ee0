// Package completion implements `purista completion SHELL`: it prints a script that makes
// the shell complete purista's verbs, flags and arguments.
package completion

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
)

// Shells are the shells `purista completion` can write a script for.
func Shells() []string { return []string{"bash", "zsh", "fish", "powershell"} }

// Options are the parsed arguments and flags of `purista completion`.
type Options struct {
	// IO are the streams to write to.
	IO *iostreams.IOStreams
	// Shell is one of Shells().
	Shell string
	// NoDescriptions leaves the descriptions of verbs and flags out of the completions.
	NoDescriptions bool
	// Root is the command tree to complete (the root command).
	Root *cobra.Command
}

// NewCmdCompletion returns the `completion` command. When runF is non-nil it is called with
// the parsed options instead of the real implementation (for tests of argument parsing).
func NewCmdCompletion(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "completion {bash|zsh|fish|powershell}",
		Short: "Print a shell completion script",
		Long: `Print a script that makes your shell complete purista's verbs, flags and arguments.

Load it in the current shell, or write it where your shell loads completions from
(see the examples). The script is printed to standard output; nothing is installed.`,
		Example: `  # bash, this shell only
  source <(purista completion bash)

  # bash, every new shell (Linux)
  purista completion bash > /etc/bash_completion.d/purista

  # zsh (with compinit enabled)
  purista completion zsh > "${fpath[1]}/_purista"

  # fish
  purista completion fish > ~/.config/fish/completions/purista.fish

  # PowerShell
  purista completion powershell | Out-String | Invoke-Expression`,
		ValidArgs:             Shells(),
		DisableFlagsInUseLine: true,
		Args:                  cmdutil.ExactArgs(1, "one shell name ("+strings.Join(Shells(), ", ")+")"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Shell = args[0]
			opts.Root = cmd.Root()
			if !slices.Contains(Shells(), opts.Shell) {
				return cmdutil.UsageErrorf("unknown shell %q: choose one of %s", opts.Shell, strings.Join(Shells(), ", "))
			}
			if runF != nil {
				return runF(opts)
			}
			return Run(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.NoDescriptions, "no-descriptions", false, "leave descriptions out of the completions")
	return cmd
}

// Run writes the completion script for opts.Shell to standard output. When standard
// output is a terminal it also tells the user, on standard error, how to load the script.
func Run(opts *Options) error {
	if opts.IO.IsStdoutTTY() {
		fmt.Fprintf(opts.IO.ErrOut, "# Printing the %s completion script; see 'purista completion --help' to load it.\n", opts.Shell)
	}
	return write(opts.Root, opts.IO.Out, opts.Shell, !opts.NoDescriptions)
}

func write(root *cobra.Command, w io.Writer, shell string, desc bool) error {
	switch shell {
	case "bash":
		return root.GenBashCompletionV2(w, desc)
	case "zsh":
		if desc {
			return root.GenZshCompletion(w)
		}
		return root.GenZshCompletionNoDesc(w)
	case "fish":
		return root.GenFishCompletion(w, desc)
	case "powershell":
		if desc {
			return root.GenPowerShellCompletionWithDesc(w)
		}
		return root.GenPowerShellCompletion(w)
	default:
		return cmdutil.UsageErrorf("unknown shell %q: choose one of %s", shell, strings.Join(Shells(), ", "))
	}
}
