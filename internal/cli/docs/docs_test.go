package docs_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/purista-go/purista/docs"
	"github.com/purista-go/purista/internal/cli"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	docscmd "github.com/purista-go/purista/internal/cli/docs"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/cli/root"
)

// purista runs `purista docs …` under a bare root and returns the exit code and streams.
func purista(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	bare := &cobra.Command{Use: "purista", SilenceErrors: true, SilenceUsage: true}
	bare.SetOut(ios.Out)
	bare.SetErr(ios.ErrOut)
	bare.AddCommand(docscmd.NewCmdDocs(root.NewFactory(ios), nil))
	code = cli.Execute(context.Background(), bare, args, ios)
	return code, out.String(), errOut.String()
}

// TestDocsArgs: every field of the parsed options.
func TestDocsArgs(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{{nil, ""}, {[]string{"check"}, "check"}} {
		ios, _, _, _ := iostreams.Test()
		var got *docscmd.Options
		cmd := docscmd.NewCmdDocs(&cmdutil.Factory{IOStreams: ios}, func(o *docscmd.Options) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if want := (docscmd.Options{IO: ios, Topic: tt.want}); got == nil || *got != want {
			t.Errorf("args %q: options %+v, want %+v", tt.args, got, want)
		}
	}
}

// TestTopicsAreTheDocsFolder checks that every page of the repository's docs folder is
// built in, under its file name.
func TestTopicsAreTheDocsFolder(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "docs", "*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs/*.md found: %v", err)
	}
	var want []string
	for _, f := range files {
		want = append(want, strings.TrimSuffix(filepath.Base(f), ".md"))
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := docs.Page(filepath.Base(f)); !ok || got != string(data) {
			t.Errorf("Page(%q) differs from %s", filepath.Base(f), f)
		}
	}
	if got := docs.Topics(); !slices.Equal(got, want) {
		t.Errorf("Topics() = %v, want %v", got, want)
	}
}

func TestDocs(t *testing.T) {
	t.Parallel()
	check, _ := docs.Page("check")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string // the whole of stdout, when set
		wantIn     []string
		wantErrOut string
	}{
		{name: "lists the topics with titles", args: []string{"docs"}, wantIn: []string{"check ", "purista check: the distribution checklist, executable", "deployment ", "cli "}, wantErrOut: "purista docs TOPIC"},
		{name: "prints a page", args: []string{"docs", "check"}, wantOut: check},
		{name: "accepts the file name", args: []string{"docs", "docs/check.md"}, wantOut: check},
		{name: "unknown topic", args: []string{"docs", "nope"}, wantCode: cmdutil.ExitUsage, wantErrOut: "the topics are architecture, check, cli"},
		{name: "a prefix gets a suggestion", args: []string{"docs", "deploy"}, wantCode: cmdutil.ExitUsage, wantErrOut: "Did you mean 'purista docs deployment'?"},
		{name: "two topics", args: []string{"docs", "check", "cli"}, wantCode: cmdutil.ExitUsage, wantErrOut: "at most one topic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := purista(t, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", code, tt.wantCode, errOut)
			}
			if tt.wantOut != "" && out != tt.wantOut {
				t.Errorf("stdout is not the page (%d bytes, want %d)", len(out), len(tt.wantOut))
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(out, w) {
					t.Errorf("stdout %q does not contain %q", out, w)
				}
			}
			if !strings.Contains(errOut, tt.wantErrOut) {
				t.Errorf("stderr %q does not contain %q", errOut, tt.wantErrOut)
			}
		})
	}
}

// TestDocsCompletion completes the topic argument through cobra's __complete.
func TestDocsCompletion(t *testing.T) {
	t.Parallel()
	code, out, errOut := purista(t, "__complete", "docs", "")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"check\tpurista check: the distribution checklist, executable", "deployment\t", ":4"} {
		if !strings.Contains(out, want) {
			t.Errorf("completions %q lack %q", out, want)
		}
	}
}
