package cmdutil_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/spf13/cobra"

	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/project"
)

func TestErrors(t *testing.T) {
	t.Parallel()
	base := errors.New("base")
	tests := []struct {
		name      string
		err       error
		wantMsg   string
		wantHint  string
		wantUsage bool
	}{
		{name: "plain", err: base, wantMsg: "base"},
		{name: "usage", err: cmdutil.UsageErrorf("bad %s", "flag"), wantMsg: "bad flag", wantUsage: true},
		{name: "hint", err: cmdutil.WithHint(base, "do this"), wantMsg: "base", wantHint: "do this"},
		{name: "hint on usage", err: cmdutil.WithHint(cmdutil.UsageErrorf("x"), "h"), wantMsg: "x", wantHint: "h", wantUsage: true},
		{name: "wrapped twice", err: fmt.Errorf("ctx: %w", cmdutil.WithHint(base, "h")), wantMsg: "ctx: base", wantHint: "h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.err.Error() != tt.wantMsg {
				t.Errorf("Error() = %q, want %q", tt.err.Error(), tt.wantMsg)
			}
			if got := cmdutil.HintOf(tt.err); got != tt.wantHint {
				t.Errorf("HintOf() = %q, want %q", got, tt.wantHint)
			}
			if got := cmdutil.IsUsageError(tt.err); got != tt.wantUsage {
				t.Errorf("IsUsageError() = %v, want %v", got, tt.wantUsage)
			}
		})
	}
	if cmdutil.WithHint(nil, "h") != nil {
		t.Error("WithHint(nil) != nil")
	}
}

func TestArgs(t *testing.T) {
	t.Parallel()
	cmd := &cobra.Command{Use: "x"}
	tests := []struct {
		name    string
		check   cobra.PositionalArgs
		args    []string
		wantErr bool
	}{
		{name: "no args ok", check: cmdutil.NoArgs},
		{name: "no args rejects one", check: cmdutil.NoArgs, args: []string{"a"}, wantErr: true},
		{name: "exact ok", check: cmdutil.ExactArgs(1, "a name"), args: []string{"a"}},
		{name: "exact too few", check: cmdutil.ExactArgs(1, "a name"), wantErr: true},
		{name: "exact too many", check: cmdutil.ExactArgs(1, "a name"), args: []string{"a", "b"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.check(cmd, tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !cmdutil.IsUsageError(err) {
				t.Errorf("%v is not a usage error", err)
			}
		})
	}
}

func TestProjectHint(t *testing.T) {
	t.Parallel()
	notFound := fmt.Errorf("%w (searched /x and its parents)", project.ErrNotFound)
	other := errors.New("purista.yaml: unknown field foo (line 3)")
	tests := []struct {
		name     string
		err      error
		wantHint string
	}{
		{name: "nil", err: nil},
		{name: "no purista.yaml", err: notFound,
			wantHint: "Run 'purista check' inside a project or point it at one (purista check DIR), or create one with 'purista new NAME'."},
		{name: "other errors pass through", err: other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := cmdutil.ProjectHint(tt.err, "check", "purista check DIR")
			if !errors.Is(got, tt.err) {
				t.Errorf("ProjectHint() = %v, want it to wrap %v", got, tt.err)
			}
			if h := cmdutil.HintOf(got); h != tt.wantHint {
				t.Errorf("hint %q, want %q", h, tt.wantHint)
			}
		})
	}
}
