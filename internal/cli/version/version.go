// Package version implements `purista version`: the version, commit, build date, Go
// toolchain and platform of the running binary, for humans or (--json) for scripts.
package version

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/purista-go/purista/internal/buildinfo"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
)

// Options are the parsed flags of `purista version`.
type Options struct {
	// IO are the streams to write to.
	IO *iostreams.IOStreams
	// BuildInfo returns what to report.
	BuildInfo func() buildinfo.Info
	// JSON selects machine-readable output.
	JSON bool
}

// NewCmdVersion returns the `version` command. When runF is non-nil it is called with the
// parsed options instead of the real implementation (for tests of flag parsing).
func NewCmdVersion(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, BuildInfo: f.BuildInfo}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version of purista",
		Long: `Print the version, commit, build date, Go version and platform of this purista binary.

With --json the same facts are printed as one JSON object with the keys
version, commit, date, goVersion and platform.`,
		Example: `  # human-readable
  purista version

  # for scripts
  purista version --json | jq -r .version`,
		Args: cmdutil.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return Run(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as a JSON object")
	return cmd
}

// Run prints the build information according to opts.
func Run(opts *Options) error {
	info := opts.BuildInfo()
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		if opts.IO.IsStdoutTTY() {
			enc.SetIndent("", "  ")
		}
		return enc.Encode(info)
	}
	_, err := fmt.Fprintf(opts.IO.Out, "purista %s\ncommit:   %s\nbuilt:    %s\ngo:       %s\nplatform: %s\n",
		info.Version, info.Commit, info.Date, info.GoVersion, info.Platform)
	return err
}
