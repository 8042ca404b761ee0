package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/purista-go/purista/internal/check"
	"github.com/purista-go/purista/internal/cli/clitest"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
)

// fakeCheck is a Check engine that records the options it was given and returns a
// canned report and error.
type fakeCheck struct {
	calls []check.Options
	rep   check.Report
	err   error
}

func (f *fakeCheck) run(_ context.Context, o check.Options) (check.Report, error) {
	f.calls = append(f.calls, o)
	return f.rep, f.err
}

// report returns a report of one passing and, when failed, one failing check.
func report(failed bool) check.Report {
	r := check.Report{SchemaVersion: 1, Project: "shop", Broker: "nats (embedded)", Passed: !failed,
		Summary: check.Summary{Passed: 1}, Checks: []check.Result{{Name: "stateless", Title: "Stateless", Status: check.Pass}}}
	if failed {
		r.Summary.Failed = 1
		r.Checks = append(r.Checks, check.Result{Name: "two-models", Title: "Two models", Status: check.Fail, Reason: "boom"})
	}
	return r
}

// TestRunHandsTheEngineItsOptions: for each combination of flags, the options check
// gives its engine.
func TestRunHandsTheEngineItsOptions(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want check.Options
	}{
		{name: "defaults", want: check.Options{Broker: "nats"}},
		{name: "a folder", args: []string{"proj"}, want: check.Options{Dir: "proj", Broker: "nats"}},
		{name: "only and skip", args: []string{"--only", "stateless,two-models", "--skip", "x"},
			want: check.Options{Only: []string{"stateless", "two-models"}, Skip: []string{"x"}, Broker: "nats"}},
		{name: "the URL's scheme gives the kind", args: []string{"--broker-url", "amqp://guest:guest@127.0.0.1:5672/"},
			want: check.Options{Broker: "amqp", BrokerURL: "amqp://guest:guest@127.0.0.1:5672/"}},
		{name: "explicit kind", args: []string{"--broker", "mqtt"}, want: check.Options{Broker: "mqtt"}},
		{name: "a profile leaves the kind to the engine", args: []string{"--profile", "prod"}, want: check.Options{Profile: "prod"}},
		{name: "a profile with a kind", args: []string{"--profile", "prod", "--broker", "amqp"},
			want: check.Options{Profile: "prod", Broker: "amqp"}},
		{name: "format, junit and timeout are the verb's", args: []string{"--format", "json", "--timeout", "1m"},
			want: check.Options{Broker: "nats"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			eng := &fakeCheck{rep: report(false)}
			cmd := NewCmdCheck(&cmdutil.Factory{IOStreams: ios, Check: eng.run}, nil)
			cmd.SetArgs(tt.args)
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			if len(eng.calls) != 1 {
				t.Fatalf("engine called %d times", len(eng.calls))
			}
			got := eng.calls[0]
			if got.Progress == nil {
				t.Error("no progress callback")
			}
			got.Progress = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("engine options\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestRunEngineOutcomes: exit code, standard output and error for each outcome of the
// engine.
func TestRunEngineOutcomes(t *testing.T) {
	junit := filepath.Join(t.TempDir(), "r.xml")
	brokerErr := &check.BrokerError{Source: "--broker-url", Kind: "amqp",
		Err: fmt.Errorf("%w: amqp://xxxxx@127.0.0.1:1/ does not answer", check.ErrBrokerUnavailable)}
	tests := []struct {
		name     string
		args     []string
		rep      check.Report
		err      error
		wantCode int
		wantOut  []string
		wantErr  []string
	}{
		{name: "all passed, text", rep: report(false), wantCode: cmdutil.ExitOK, wantOut: []string{"stateless"}},
		{name: "all passed, json", args: []string{"--format", "json"}, rep: report(false), wantCode: cmdutil.ExitOK,
			wantOut: []string{`"project":"shop"`, `"passed":true`}},
		{name: "a check failed", rep: report(true), wantCode: ExitFailed, wantOut: []string{"two-models"},
			wantErr: []string{"Error: 1 of 2 checks failed"}},
		{name: "junit written", args: []string{"--junit", junit}, rep: report(true), wantCode: ExitFailed,
			wantErr: []string{"1 of 2 checks failed"}},
		{name: "usage error of the engine", err: fmt.Errorf("%w: --only nope: no such check", check.ErrUsage),
			wantCode: cmdutil.ExitUsage, wantErr: []string{"--only nope: no such check"}},
		{name: "broker unavailable", err: brokerErr, wantCode: cmdutil.ExitUsage,
			wantErr: []string{"does not answer (--broker-url)", "Nothing was checked", "Start RabbitMQ"}},
		{name: "does not build", err: &check.BuildError{Err: errors.New("main.go:1: syntax error")}, wantCode: ExitNotBuilt,
			wantErr: []string{"project could not be built: main.go:1: syntax error", "go build ./..."}},
		{name: "another error", err: errors.New("disk full"), wantCode: cmdutil.ExitError, wantErr: []string{"Error: disk full"}},
		{name: "interrupted", err: context.Canceled, wantCode: cmdutil.ExitInterrupted, wantErr: []string{"Interrupted."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, out, errOut := iostreams.Test()
			eng := &fakeCheck{rep: tt.rep, err: tt.err}
			code := clitest.Execute(context.Background(), NewCmdCheck(&cmdutil.Factory{IOStreams: ios, Check: eng.run}, nil), tt.args, ios)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, errOut)
			}
			clitest.Contains(t, "stdout", out.String(), tt.wantOut...)
			if tt.err != nil && out.Len() != 0 {
				t.Errorf("a report was printed after an engine error: %q", out.String())
			}
			clitest.Contains(t, "stderr", errOut.String(), tt.wantErr...)
		})
	}
	b, err := os.ReadFile(junit)
	if err != nil || !strings.Contains(string(b), "two-models") {
		t.Errorf("JUnit report %q, %v", b, err)
	}
}
