package add_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/purista-go/purista/internal/cli/add"
	"github.com/purista-go/purista/internal/cli/clitest"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/scaffold"
)

// TestAddRunOnFakes: the call each `purista add` verb makes to the scaffolder for its
// flags, and what it prints and exits with for each outcome of the plan.
func TestAddRunOnFakes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		err      error
		want     clitest.ScaffoldCall
		wantCode int
		wantOut  []string
		wantErr  []string
		written  bool
	}{
		{name: "service", args: []string{"service", "Billing", "--version", "2"},
			want:     clitest.ScaffoldCall{Method: "AddService", Dir: ".", Args: []string{"Billing", "2"}},
			wantCode: cmdutil.ExitOK, wantOut: []string{"create services/billing/v2/x.go", "Added service Billing in "}, written: true},
		{name: "command with every flag", args: []string{"command", "Billing", "getInvoice", "--event", "invoiceRead",
			"--allow-shared-event", "--http", "GET:/invoices/{id}", "--public", "--dir", "p"},
			want: clitest.ScaffoldCall{Method: "AddCommand", Dir: "p", Command: scaffold.CommandOptions{Service: "Billing", Name: "getInvoice",
				Event: "invoiceRead", AllowSharedEvent: true, HTTP: "GET:/invoices/{id}", Public: true}},
			wantCode: cmdutil.ExitOK, wantOut: []string{"Added command getInvoice to Billing"}, written: true},
		{name: "subscription to an event", args: []string{"subscription", "Audit", "onPaid", "--event", "paid"},
			want:     clitest.ScaffoldCall{Method: "AddSubscription", Dir: ".", Args: []string{"Audit", "onPaid", "paid", ""}},
			wantCode: cmdutil.ExitOK, wantOut: []string{"Added subscription onPaid to Audit"}, written: true},
		{name: "subscription from a service, dry run", args: []string{"subscription", "Audit", "onAny", "--from", "Billing", "--dry-run"},
			want:     clitest.ScaffoldCall{Method: "AddSubscription", Dir: ".", Args: []string{"Audit", "onAny", "", "Billing"}},
			wantCode: cmdutil.ExitOK, wantOut: []string{"Would write in "}},
		{name: "name taken", args: []string{"service", "Billing"}, err: fmt.Errorf("service Billing v1: %w", scaffold.ErrExists),
			want:     clitest.ScaffoldCall{Method: "AddService", Dir: ".", Args: []string{"Billing", "1"}},
			wantCode: cmdutil.ExitUsage, wantErr: []string{"service Billing v1: already exists"}},
		{name: "not a project", args: []string{"service", "Billing"}, err: fmt.Errorf("no purista.yaml found"),
			want:     clitest.ScaffoldCall{Method: "AddService", Dir: ".", Args: []string{"Billing", "1"}},
			wantCode: cmdutil.ExitError, wantErr: []string{"Error: no purista.yaml found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			fake := &clitest.Scaffolder{Err: tt.err}
			if tt.err == nil {
				fake.Plan = clitest.Plan(root, map[string]string{"services/billing/v2/x.go": "package v2\n"})
			}
			ios, _, out, errOut := iostreams.Test()
			code := clitest.Execute(context.Background(), add.NewCmdAdd(&cmdutil.Factory{IOStreams: ios, Scaffold: fake}, nil), tt.args, ios)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.wantCode, errOut)
			}
			if calls := fake.Calls(); len(calls) != 1 || !reflect.DeepEqual(calls[0], tt.want) {
				t.Errorf("scaffolder calls %+v, want %+v", calls, tt.want)
			}
			clitest.Contains(t, "stdout", out.String(), tt.wantOut...)
			clitest.Contains(t, "stderr", errOut.String(), tt.wantErr...)
			_, err := os.Stat(filepath.Join(root, "services", "billing", "v2", "x.go"))
			if written := err == nil; written != tt.written {
				t.Errorf("file written: %v, want %v", written, tt.written)
			}
		})
	}
}
