package add_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/purista-go/purista/internal/cli"
	"github.com/purista-go/purista/internal/cli/add"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/cli/root"
	"github.com/purista-go/purista/internal/scaffold"
	"github.com/purista-go/purista/internal/scaffold/scaffoldtest"
)

// purista runs `purista add …` (the add command under a bare root, executed and
// classified as cmd/purista does) with args and returns the exit code and both streams.
func purista(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	bare := &cobra.Command{Use: "purista", SilenceErrors: true, SilenceUsage: true}
	bare.AddCommand(add.NewCmdAdd(root.NewFactory(ios), nil))
	code = cli.Execute(context.Background(), bare, args, ios)
	return code, out.String(), errOut.String()
}

// goCmd runs the go tool in dir offline (module cache only) and fails the test on a
// non-zero exit.
func goCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOWORK=off")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("go %s in the project: %v\n%s", strings.Join(args, " "), err, out.String())
	}
}

// newProject scaffolds project shop (module example.com/shop, this repository as the
// framework) in a temporary folder and returns its root.
func newProject(t *testing.T) string {
	t.Helper()
	repo, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "shop")
	plan, err := scaffold.NewProject(scaffold.ProjectOptions{Name: "shop", Module: "example.com/shop", Dir: dir, Framework: repo})
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Apply(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// refuse runs purista args (plus --dir dir) and wants exit 2, wantErr in stderr and the
// project unchanged.
func refuse(t *testing.T, dir string, args []string, wantErr string) {
	t.Helper()
	before := scaffoldtest.Snapshot(t, dir)
	code, out, errOut := purista(t, append(args, "--dir", dir)...)
	if code != cmdutil.ExitUsage {
		t.Errorf("exit %d, want %d (usage error); stdout %q stderr %q", code, cmdutil.ExitUsage, out, errOut)
	}
	if !strings.Contains(errOut, wantErr) {
		t.Errorf("stderr %q does not contain %q", errOut, wantErr)
	}
	if scaffoldtest.Snapshot(t, dir) != before {
		t.Error("the project changed")
	}
}

// TestAddNames runs every accepted name through `purista add` into one freshly
// scaffolded project, which must then pass go build, go vet and go test; and every
// refused name, which must exit 2 with a suggestion and leave the project byte for byte
// as it was.
func TestAddNames(t *testing.T) {
	if testing.Short() {
		t.Skip("builds, vets and tests a generated project: skipped with -short")
	}
	dir := newProject(t)

	accepted := [][]string{
		// Services: keywords and main are fine once versioned into a package name.
		{"service", "Billing"},
		{"service", "Func"},
		{"service", "Main"},
		{"service", "Type", "--version", "3"},
		{"service", "Framework"},
		{"service", "Test"},
		{"service", "Greeter", "--version", "2"},
		{"service", "Billing2"},
		// Commands.
		{"command", "Billing", "charge", "--event", "charged"},
		{"command", "Billing", "refundOrder"},
		{"command", "Billing", "getV2"},
		{"command", "Billing", "Refund"},
		{"command", "Billing", "typeCheck"},
		{"command", "Billing", "initialize"},
		{"command", "Billing", "mainly"},
		{"command", "Billing", "newOrder"},
		{"command", "Billing", "serviceInfo"},
		{"command", "Billing", "contractTerms"},
		{"command", "Billing", "loadTests"},
		{"command", "Billing", "linuxSync"},
		{"command", "Billing", "testLoad"},
		{"command", "Billing", "c"},
		{"command", "Billing", "in"},
		{"command", "Billing", "out"},
		{"command", "Billing", "err"},
		{"command", "Billing", "tests"},
		{"command", "Billing", "context"},
		{"command", "Billing", "billing"},
		{"command", "Billing", "x1"},
		{"command", "Func", "run"},
		{"command", "Main", "start"},
		// Subscriptions: typed events of the project, an event from outside, messages
		// of a service.
		{"subscription", "Billing", "onGreeted", "--event", "greeted"},
		{"subscription", "Greeter", "onCharged", "--event", "charged"},
		{"subscription", "Billing", "onExternal", "--event", "externalThing"},
		{"subscription", "Billing", "onAny", "--from", "Greeter"},
		{"subscription", "Billing", "ev", "--event", "greeted"},
		{"subscription", "Billing", "msg", "--from", "Func"},
		{"subscription", "Main", "Audit", "--event", "charged"},
	}
	refused := []struct {
		args    []string
		wantErr string // a part of the message, with the suggestion
	}{
		{args: []string{"command", "Billing", "init"}, wantErr: `e.g. "initService"`},
		{args: []string{"command", "Billing", "main"}, wantErr: `e.g. "mainService"`},
		{args: []string{"command", "Billing", "error"}, wantErr: `e.g. "errorValue"`},
		{args: []string{"command", "Billing", "nil"}, wantErr: `e.g. "nilValue"`},
		{args: []string{"command", "Billing", "bool"}, wantErr: `e.g. "boolValue"`},
		{args: []string{"command", "Billing", "new"}, wantErr: `e.g. "newValue"`},
		{args: []string{"command", "Billing", "New"}, wantErr: `e.g. "newValue"`},
		{args: []string{"command", "Billing", "len"}, wantErr: `e.g. "lenValue"`},
		{args: []string{"command", "Billing", "string"}, wantErr: `e.g. "stringValue"`},
		{args: []string{"command", "Billing", "any"}, wantErr: `e.g. "anyValue"`},
		{args: []string{"command", "Billing", "iota"}, wantErr: `e.g. "iotaValue"`},
		{args: []string{"command", "Billing", "func"}, wantErr: `e.g. "funcItem"`},
		{args: []string{"command", "Billing", "Type"}, wantErr: `e.g. "typeItem"`},
		{args: []string{"command", "Billing", "go"}, wantErr: `e.g. "goItem"`},
		{args: []string{"command", "Billing", "service"}, wantErr: `e.g. "serviceInfo"`},
		{args: []string{"command", "Billing", "contract"}, wantErr: `e.g. "createContract"`},
		{args: []string{"command", "Billing", "serviceName"}, wantErr: `e.g. "createServiceName"`},
		{args: []string{"command", "Billing", "version"}, wantErr: `e.g. "createVersion"`},
		{args: []string{"command", "Billing", "framework"}, wantErr: `e.g. "createFramework"`},
		{args: []string{"command", "Billing", "CHARGE"}, wantErr: `e.g. "charge"`},
		{args: []string{"command", "Billing", "HTTPCall"}, wantErr: `e.g. "httpCall"`},
		{args: []string{"command", "Billing", "loadTest"}, wantErr: `e.g. "loadCheck"`},
		{args: []string{"command", "Billing", "syncLinux"}, wantErr: `e.g. "syncCheck"`},
		{args: []string{"command", "Billing", "buildArm64"}, wantErr: `e.g. "buildCheck"`},
		{args: []string{"command", "Billing", "runWindows"}, wantErr: `e.g. "runCheck"`},
		{args: []string{"command", "Billing", "send-invoice"}, wantErr: `e.g. "sendInvoice"`},
		{args: []string{"command", "Billing", "testing"}, wantErr: `e.g. "testingHandler"`},
		{args: []string{"command", "Billing", "frameworktest"}, wantErr: `e.g. "frameworktestHandler"`},
		{args: []string{"command", "Billing", "billingv1"}, wantErr: `e.g. "billingv1Handler"`},
		{args: []string{"command", "Greeter", "billingv1"}, wantErr: `e.g. "billingv1Handler"`},
		{args: []string{"command", "Billing", "greeterv1"}, wantErr: `e.g. "greeterv1Handler"`},
		{args: []string{"command", "Func", "greeterv2"}, wantErr: `e.g. "greeterv2Handler"`},
		{args: []string{"command", "Billing", "svc"}, wantErr: `e.g. "svcHandler"`},
		{args: []string{"command", "Billing", "charge"}, wantErr: "pick another name"},
		{args: []string{"command", "Billing", "Charge"}, wantErr: "pick another name"},
		{args: []string{"command", "Billing", "refund", "--event", "greeted"}, wantErr: `e.g. "refundDone"`},
		{args: []string{"command", "Nope", "refund"}, wantErr: "add one with `purista add service Nope`"},
		{args: []string{"subscription", "Billing", "New", "--event", "greeted"}, wantErr: `e.g. "newValue"`},
		{args: []string{"subscription", "Billing", "init", "--event", "greeted"}, wantErr: `e.g. "initService"`},
		{args: []string{"subscription", "Billing", "onGreeted", "--event", "greeted"}, wantErr: "pick another name"},
		{args: []string{"subscription", "Billing", "wire", "--from", "Greeter"}, wantErr: `e.g. "wireHandler"`},
		{args: []string{"subscription", "Billing", "json", "--event", "other"}, wantErr: `e.g. "jsonHandler"`},
		{args: []string{"subscription", "Billing", "t", "--event", "greeted"}, wantErr: `e.g. "tHandler"`},
		{args: []string{"subscription", "Billing", "tt", "--event", "greeted"}, wantErr: `e.g. "ttHandler"`},
		{args: []string{"subscription", "Billing", "c", "--event", "greeted"}, wantErr: `e.g. "cHandler"`},
		{args: []string{"subscription", "Billing", "tests", "--event", "greeted"}, wantErr: `e.g. "testsHandler"`},
		{args: []string{"subscription", "Billing", "onX", "--from", "Nope"}, wantErr: "--event NAME"},
		{args: []string{"subscription", "Billing", "onX"}, wantErr: "e.g. --event invoiceSent"},
		{args: []string{"service", "Billing"}, wantErr: "pick another name"},
		{args: []string{"service", "billing"}, wantErr: "pick another name"},
		{args: []string{"service", "Testdata"}, wantErr: `e.g. "TestdataService"`},
		{args: []string{"service", "Internal"}, wantErr: `e.g. "InternalService"`},
		{args: []string{"service", "Vendor"}, wantErr: `e.g. "VendorService"`},
		{args: []string{"service", "bill_ing"}, wantErr: `e.g. "Billing"`},
		{args: []string{"service", "Billing", "--version", "0"}, wantErr: "e.g. 1"},
	}

	for _, args := range accepted {
		full := append([]string{"add"}, append(args, "--dir", dir)...)
		if code, out, errOut := purista(t, full...); code != cmdutil.ExitOK {
			t.Fatalf("purista %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
	}
	for _, tt := range refused {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			refuse(t, dir, append([]string{"add"}, tt.args...), tt.wantErr)
		})
	}
	for _, step := range [][]string{{"build", "./..."}, {"vet", "./..."}, {"test", "./..."}} {
		goCmd(t, dir, step...)
	}
}
