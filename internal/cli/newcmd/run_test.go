package newcmd_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/purista-go/purista/internal/buildinfo"
	"github.com/purista-go/purista/internal/cli/clitest"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/cli/newcmd"
	"github.com/purista-go/purista/internal/scaffold"
)

// TestNewRunOnFakes: the options `purista new` gives the scaffolder for each
// combination of flags, and what it prints and exits with for each outcome of the plan.
func TestNewRunOnFakes(t *testing.T) {
	t.Parallel()
	info := func() buildinfo.Info { return buildinfo.Info{Version: "v1.2.3"} }
	tests := []struct {
		name     string
		args     []string
		err      error
		want     *scaffold.ProjectOptions // nil: the scaffolder is not called
		wantCode int
		wantOut  []string
		wantErr  []string
		written  bool
	}{
		{name: "defaults", args: []string{"shop"},
			want:     &scaffold.ProjectOptions{Name: "shop", Bridge: "memory", BinaryVersion: "v1.2.3", Service: "Greeter"},
			wantCode: cmdutil.ExitOK, wantOut: []string{"create go.mod", "Created project shop in ", "Next:", "cd shop"}, written: true},
		{name: "every flag", args: []string{"shop", "--module", "m.io/x", "--bridge", "nats", "--http", "--dir", "d", "--force",
			"--framework", "fw", "--service", "Billing"},
			want: &scaffold.ProjectOptions{Name: "shop", Module: "m.io/x", Bridge: "nats", HTTP: true, Dir: "d", Force: true,
				Framework: "fw", BinaryVersion: "v1.2.3", Service: "Billing"},
			wantCode: cmdutil.ExitOK, written: true},
		{name: "dry run writes nothing", args: []string{"shop", "--dry-run"},
			want:     &scaffold.ProjectOptions{Name: "shop", Bridge: "memory", BinaryVersion: "v1.2.3", Service: "Greeter"},
			wantCode: cmdutil.ExitOK, wantOut: []string{"Would write in ", "create go.mod"}},
		{name: "no name without a terminal", wantCode: cmdutil.ExitUsage, wantErr: []string{"a project name is needed"}},
		{name: "invalid name", args: []string{"1shop"}, err: fmt.Errorf("%w: project name %q is not a Go identifier", scaffold.ErrInvalidInput, "1shop"),
			want:     &scaffold.ProjectOptions{Name: "1shop", Bridge: "memory", BinaryVersion: "v1.2.3", Service: "Greeter"},
			wantCode: cmdutil.ExitUsage, wantErr: []string{"not a Go identifier"}},
		{name: "folder not empty", args: []string{"shop"}, err: fmt.Errorf("%w: shop", scaffold.ErrNotEmpty),
			want:     &scaffold.ProjectOptions{Name: "shop", Bridge: "memory", BinaryVersion: "v1.2.3", Service: "Greeter"},
			wantCode: cmdutil.ExitError, wantErr: []string{"folder is not empty", "Nothing was written."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			fake := &clitest.Scaffolder{Err: tt.err}
			if tt.err == nil {
				fake.Plan = clitest.Plan(root, map[string]string{"go.mod": "module shop\n"}, "cd shop")
			}
			ios, _, out, errOut := iostreams.Test()
			f := &cmdutil.Factory{IOStreams: ios, BuildInfo: info, Scaffold: fake}
			code := clitest.Execute(context.Background(), newcmd.NewCmdNew(f, nil), tt.args, ios)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.wantCode, errOut)
			}
			calls := fake.Calls()
			switch {
			case tt.want == nil && len(calls) != 0:
				t.Errorf("scaffolder called: %+v", calls)
			case tt.want != nil && (len(calls) != 1 || calls[0].Method != "NewProject" || !reflect.DeepEqual(calls[0].Project, *tt.want)):
				t.Errorf("scaffolder calls %+v, want NewProject(%+v)", calls, *tt.want)
			}
			clitest.Contains(t, "stdout", out.String(), tt.wantOut...)
			clitest.Contains(t, "stderr", errOut.String(), tt.wantErr...)
			_, err := os.Stat(filepath.Join(root, "go.mod"))
			if written := err == nil; written != tt.written {
				t.Errorf("go.mod written: %v, want %v", written, tt.written)
			}
		})
	}
}
