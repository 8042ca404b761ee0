package cmdutil

import (
	"strings"

	"github.com/spf13/cobra"
)

// NoArgs is a cobra.PositionalArgs that rejects any argument with a UsageError.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return UsageErrorf("%s takes no arguments, got %q", cmd.CommandPath(), strings.Join(args, " "))
	}
	return nil
}

// ExactArgs returns a cobra.PositionalArgs that requires exactly n arguments, described
// by what (e.g. "one shell name"), and fails with a UsageError otherwise.
func ExactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return UsageErrorf("%s needs %s, got %d argument(s)", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}

// OptionalDir is a cobra.PositionalArgs for verbs that take at most one argument, a
// project folder; more is a UsageError.
func OptionalDir(cmd *cobra.Command, args []string) error {
	if len(args) > 1 {
		return UsageErrorf("%s takes at most one project folder, got %q", cmd.CommandPath(), strings.Join(args, " "))
	}
	return nil
}
