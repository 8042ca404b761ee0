package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/purista-go/purista/internal/buildinfo"
	"github.com/purista-go/purista/internal/cli"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/cli/root"
)

// fixedInfo is the build info the tests' binary reports.
func fixedInfo() buildinfo.Info {
	return buildinfo.Info{
		Version: "v1.2.3", Commit: "abc1234", Date: "2026-11-25T12:00:00Z",
		GoVersion: "go1.26.8", Platform: "linux/amd64",
	}
}

// run executes the purista command line with args against buffers.
func run(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, BuildInfo: fixedInfo}
	code = cli.Execute(ctx, root.NewCmdRoot(f), args, ios)
	return code, out.String(), errOut.String()
}

func TestExecute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    []string // substrings of stdout
		wantErr    []string // substrings of stderr
		wantNoErr  bool     // stderr must be empty
		wantNoOut  bool     // stdout must be empty
		wantJSONOK bool     // stdout must be valid JSON
	}{
		{name: "no args prints help", args: nil, wantCode: 0, wantOut: []string{"Usage:", "version", "completion"}, wantNoErr: true},
		{name: "help flag", args: []string{"--help"}, wantCode: 0, wantOut: []string{"Available Commands:"}, wantNoErr: true},
		{name: "version flag", args: []string{"--version"}, wantCode: 0, wantOut: []string{"purista v1.2.3"}, wantNoErr: true},
		{name: "version verb", args: []string{"version"}, wantCode: 0, wantOut: []string{"purista v1.2.3", "abc1234", "go1.26.8", "linux/amd64"}, wantNoErr: true},
		{name: "version json", args: []string{"version", "--json"}, wantCode: 0, wantJSONOK: true, wantNoErr: true},
		{name: "version help has example", args: []string{"version", "--help"}, wantCode: 0, wantOut: []string{"Examples:", "--json"}},
		{name: "version rejects args", args: []string{"version", "extra"}, wantCode: 2, wantErr: []string{"Error: purista version takes no arguments", "Run 'purista version --help' for usage."}, wantNoOut: true},
		{name: "unknown flag", args: []string{"version", "--bogus"}, wantCode: 2, wantErr: []string{"Error: unknown flag: --bogus", "purista version --help"}, wantNoOut: true},
		{name: "unknown verb", args: []string{"frobnicate"}, wantCode: 2, wantErr: []string{`Error: unknown command "frobnicate" for "purista"`, "Run 'purista --help' for usage."}, wantNoOut: true},
		{name: "misspelt verb gets a suggestion", args: []string{"versoin"}, wantCode: 2, wantErr: []string{`unknown command "versoin"`, "Did you mean 'purista version'?"}, wantNoOut: true},
		{name: "completion bash", args: []string{"completion", "bash"}, wantCode: 0, wantOut: []string{"bash completion V2 for purista"}, wantNoErr: true},
		{name: "completion unknown shell", args: []string{"completion", "tcsh"}, wantCode: 2, wantErr: []string{`Error: unknown shell "tcsh"`, "bash, zsh, fish, powershell", "purista completion --help"}, wantNoOut: true},
		{name: "completion without shell", args: []string{"completion"}, wantCode: 2, wantErr: []string{"needs one shell name", "got 0 argument(s)"}, wantNoOut: true},
		{name: "completion of completion", args: []string{"__complete", "completion", ""}, wantCode: 0, wantOut: []string{"bash\n", "zsh\n", "fish\n", "powershell\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := run(t, context.Background(), tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if tt.wantNoErr && errOut != "" {
				t.Errorf("stderr = %q, want empty", errOut)
			}
			if tt.wantNoOut && out != "" {
				t.Errorf("stdout = %q, want empty", out)
			}
			if tt.wantJSONOK {
				var got buildinfo.Info
				if err := json.Unmarshal([]byte(out), &got); err != nil {
					t.Fatalf("stdout is not JSON: %v\n%s", err, out)
				}
				if got != fixedInfo() {
					t.Errorf("JSON = %+v, want %+v", got, fixedInfo())
				}
			}
		})
	}
}

// TestExecuteCommandErrors covers errors raised by a verb's own code (not by parsing),
// using throw-away verbs attached to the real root.
func TestExecuteCommandErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		run      func(ctx context.Context) error
		cancel   bool
		wantCode int
		wantErr  string
	}{
		{name: "plain error", run: func(context.Context) error { return errors.New("boom") }, wantCode: 1, wantErr: "Error: boom\n"},
		{name: "error with hint", run: func(context.Context) error {
			return cmdutil.WithHint(errors.New("no project here"), "Run it inside a purista project.")
		}, wantCode: 1, wantErr: "Error: no project here\nRun it inside a purista project.\n"},
		{name: "usage error from a verb", run: func(context.Context) error { return cmdutil.UsageErrorf("bad name %q", "1x") },
			wantCode: 2, wantErr: "Error: bad name \"1x\"\nRun 'purista probe --help' for usage.\n"},
		{name: "interrupted", cancel: true, run: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
			wantCode: cmdutil.ExitInterrupted, wantErr: "Interrupted.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			if tt.cancel {
				cancel()
			}
			ios, _, out, errOut := iostreams.Test()
			f := &cmdutil.Factory{IOStreams: ios, BuildInfo: fixedInfo}
			rootCmd := root.NewCmdRoot(f)
			rootCmd.AddCommand(&cobra.Command{
				Use:  "probe",
				RunE: func(cmd *cobra.Command, _ []string) error { return tt.run(cmd.Context()) },
			})
			code := cli.Execute(ctx, rootCmd, []string{"probe"}, ios)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d", code, tt.wantCode)
			}
			if errOut.String() != tt.wantErr {
				t.Errorf("stderr = %q, want %q", errOut.String(), tt.wantErr)
			}
			if out.Len() != 0 {
				t.Errorf("stdout = %q, want empty", out.String())
			}
		})
	}
}
