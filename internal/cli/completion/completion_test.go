package completion_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/purista-go/purista/internal/cli/root"

	"github.com/spf13/cobra"

	"github.com/purista-go/purista/internal/buildinfo"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/completion"
	"github.com/purista-go/purista/internal/cli/iostreams"
)

// newRoot returns a minimal root with the completion verb attached, and the streams.
func newRoot(t *testing.T, tty bool) (root *cobra.Command, stdout, stderr *bytes.Buffer) {
	t.Helper()
	ios, _, stdout, stderr := iostreams.Test()
	ios.SetStdoutTTY(tty)
	f := &cmdutil.Factory{IOStreams: ios, BuildInfo: func() buildinfo.Info { return buildinfo.Info{Version: "dev"} }}
	root = &cobra.Command{Use: "purista", SilenceErrors: true, SilenceUsage: true}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.AddCommand(completion.NewCmdCompletion(f, nil), &cobra.Command{Use: "version", Short: "Print the version", Run: func(*cobra.Command, []string) {}})
	return root, stdout, stderr
}

func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		tty      bool
		want     []string
		notWant  string
		wantHint bool
	}{
		{name: "bash", args: []string{"completion", "bash"}, want: []string{"bash completion V2 for purista", "__start_purista"}},
		{name: "zsh", args: []string{"completion", "zsh"}, want: []string{"#compdef purista", "compdef _purista purista"}},
		{name: "fish", args: []string{"completion", "fish"}, want: []string{"fish completion for purista", "complete -c purista"}},
		{name: "powershell", args: []string{"completion", "powershell"}, want: []string{"powershell completion for purista", "Register-ArgumentCompleter"}},
		{name: "zsh without descriptions", args: []string{"completion", "zsh", "--no-descriptions"}, want: []string{"__completeNoDesc"}},
		{name: "terminal gets a hint on stderr", args: []string{"completion", "fish"}, tty: true, want: []string{"complete -c purista"}, wantHint: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root, stdout, stderr := newRoot(t, tt.tty)
			root.SetArgs(tt.args)
			if err := root.Execute(); err != nil {
				t.Fatalf("Execute() = %v", err)
			}
			out, errOut := stdout.String(), stderr.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("script lacks %q", w)
				}
			}
			if got := strings.Contains(errOut, "purista completion --help"); got != tt.wantHint {
				t.Errorf("hint on stderr = %v, want %v (stderr %q)", got, tt.wantHint, errOut)
			}
		})
	}
}

func TestCompletionArgErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantMsg string
	}{
		{name: "unknown shell", args: []string{"completion", "tcsh"}, wantMsg: `unknown shell "tcsh": choose one of bash, zsh, fish, powershell`},
		{name: "shell name is case sensitive", args: []string{"completion", "Bash"}, wantMsg: `unknown shell "Bash"`},
		{name: "no shell", args: []string{"completion"}, wantMsg: "needs one shell name"},
		{name: "two shells", args: []string{"completion", "bash", "zsh"}, wantMsg: "got 2 argument(s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root, stdout, _ := newRoot(t, false)
			root.SetArgs(tt.args)
			err := root.Execute()
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Execute() = %v, want an error containing %q", err, tt.wantMsg)
			}
			if !cmdutil.IsUsageError(err) {
				t.Errorf("error %v is not a usage error (exit code 2)", err)
			}
			if out := stdout.String(); out != "" {
				t.Errorf("stdout = %q, want empty", out)
			}
		})
	}
}

func TestCompletionParsesWithRunF(t *testing.T) {
	t.Parallel()
	ios, _, _, _ := iostreams.Test()
	f := root.NewFactory(ios)
	var got *completion.Options
	cmd := completion.NewCmdCompletion(f, func(o *completion.Options) error { got = o; return nil })
	cmd.SetArgs([]string{"powershell", "--no-descriptions"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got == nil || got.IO != ios || got.Shell != "powershell" || !got.NoDescriptions || got.Root != cmd {
		t.Errorf("options = %+v", got)
	}
}
