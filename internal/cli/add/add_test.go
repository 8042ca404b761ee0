package add_test

import (
	"testing"

	"github.com/purista-go/purista/internal/cli/add"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
)

func TestAddArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		args      []string
		want      add.Options
		wantUsage bool
	}{
		{name: "service", args: []string{"service", "Billing", "--version", "2"}, want: add.Options{What: "service", Service: "Billing", Version: "2", Dir: "."}},
		{name: "command with event", args: []string{"command", "Billing", "sendInvoice", "--event", "invoiceSent", "--dry-run"},
			want: add.Options{What: "command", Service: "Billing", Name: "sendInvoice", Event: "invoiceSent", Dir: ".", DryRun: true}},
		{name: "subscription from", args: []string{"subscription", "Audit", "onAny", "--from", "Billing", "--dir", "x"},
			want: add.Options{What: "subscription", Service: "Audit", Name: "onAny", From: "Billing", Dir: "x"}},
		{name: "command needs two args", args: []string{"command", "Billing"}, wantUsage: true},
		{name: "unknown kind", args: []string{"widget"}, wantUsage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, _, _ := iostreams.Test()
			var got *add.Options
			cmd := add.NewCmdAdd(&cmdutil.Factory{IOStreams: ios}, func(o *add.Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if tt.wantUsage {
				if !cmdutil.IsUsageError(err) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.IO != ios {
				t.Errorf("IO is not the Factory's")
			}
			got.IO = nil
			if *got != tt.want {
				t.Fatalf("options %+v, want %+v", *got, tt.want)
			}
		})
	}
}
