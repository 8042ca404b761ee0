package root_test

import (
	"testing"

	"github.com/spf13/cobra"

	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/cli/root"
)

// TestEveryVerbIsDocumented keeps the promise of docs/cli.md: every visible verb has a
// one-line summary and examples in its --help, and rejects bad input as an error instead
// of printing usage.
func TestEveryVerbIsDocumented(t *testing.T) {
	t.Parallel()
	ios, _, _, _ := iostreams.Test()
	rootCmd := root.NewCmdRoot(root.NewFactory(ios))
	if !rootCmd.SilenceUsage || !rootCmd.SilenceErrors {
		t.Error("root must silence usage and errors (cli.Execute prints them)")
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if !sub.IsAvailableCommand() || sub.Name() == "help" {
				continue
			}
			t.Run(sub.CommandPath(), func(t *testing.T) {
				if sub.Short == "" {
					t.Error("no Short description")
				}
				if sub.Example == "" {
					t.Error("no Example in --help")
				}
			})
			walk(sub)
		}
	}
	walk(rootCmd)
	for _, want := range []string{"version", "completion"} {
		if c, _, err := rootCmd.Find([]string{want}); err != nil || c.Name() != want {
			t.Errorf("verb %q not registered: %v", want, err)
		}
	}
}
