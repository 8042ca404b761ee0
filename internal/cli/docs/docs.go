// Package docs implements `purista docs [TOPIC]`: it lists the documentation pages
// embedded in the binary, or prints one, so that a user of the binary reads the same
// pages as the repository's docs folder without having it.
package docs

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/purista-go/purista/docs"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
)

// Options are the parsed arguments of `purista docs`.
type Options struct {
	// IO are the streams to write to.
	IO *iostreams.IOStreams
	// Topic is the page to print ("" lists the topics).
	Topic string
}

// NewCmdDocs returns the `docs` command. When runF is non-nil it is called with the
// parsed options instead of Run (for tests of argument parsing).
func NewCmdDocs(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "docs [TOPIC]",
		Short: "Print the documentation built into purista (list topics without TOPIC)",
		Long: `Print a page of purista's documentation, as Markdown, to standard output. The pages
are built into the binary: the same text as the docs folder of the purista repository.
Without TOPIC, list the topics with their titles.`,
		Example: `  purista docs
  purista docs check
  purista docs deployment | less`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return cmdutil.UsageErrorf("%s takes at most one topic, got %q", cmd.CommandPath(), strings.Join(args, " "))
			}
			return nil
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, t := range docs.Topics() {
				out = append(out, cobra.CompletionWithDesc(t, docs.Title(t)))
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Topic = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return Run(opts)
		},
	}
	return cmd
}

// Run prints the page of opts.Topic, or the list of topics when it is empty. An
// unknown topic is a usage error that lists the topics.
func Run(opts *Options) error {
	topics := docs.Topics()
	if opts.Topic == "" {
		width := 0
		for _, t := range topics {
			width = max(width, len(t))
		}
		for _, t := range topics {
			fmt.Fprintf(opts.IO.Out, "%-*s  %s\n", width, t, docs.Title(t))
		}
		fmt.Fprintln(opts.IO.ErrOut, "Run 'purista docs TOPIC' to read one.")
		return nil
	}
	text, ok := docs.Page(opts.Topic)
	if !ok {
		err := cmdutil.UsageErrorf("no documentation topic %q: the topics are %s", opts.Topic, strings.Join(topics, ", "))
		if i := slices.IndexFunc(topics, func(t string) bool { return strings.HasPrefix(t, strings.ToLower(opts.Topic)) }); i >= 0 && opts.Topic != "" {
			return cmdutil.WithHint(err, fmt.Sprintf("Did you mean 'purista docs %s'?", topics[i]))
		}
		return err
	}
	_, err := fmt.Fprint(opts.IO.Out, text)
	return err
}
