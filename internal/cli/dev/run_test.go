package dev

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/cli/clitest"
	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/devenv"
	"github.com/purista-go/purista/internal/devenv/brokers"
	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/runtime"
)

// fakeDev is a Dev engine that records the options it was given and returns err.
type fakeDev struct {
	calls []devenv.Options
	err   error
}

func (f *fakeDev) run(_ context.Context, o devenv.Options) error {
	f.calls = append(f.calls, o)
	return f.err
}

// fakeEngines returns a Factory whose engines are fakes that fail the test when the
// verb calls them itself (dev only hands them to its Dev engine).
func fakeEngines(t *testing.T, ios *iostreams.IOStreams, dev *fakeDev) *cmdutil.Factory {
	return &cmdutil.Factory{IOStreams: ios, Dev: dev.run,
		BuildProject: func(context.Context, runtime.BuildOptions) (*runtime.Binary, error) {
			t.Error("dev built the project itself")
			return nil, errors.New("fake")
		},
		Launch: func(context.Context, runtime.StartOptions) (*runtime.Process, error) {
			t.Error("dev started a process itself")
			return nil, errors.New("fake")
		},
		Provision: func(context.Context, brokers.ProvisionOptions) (*brokers.Broker, error) {
			t.Error("dev provisioned a broker itself")
			return nil, errors.New("fake")
		},
	}
}

// devProject writes a purista.yaml with two services and a serverless profile.
func devProject(t *testing.T) (string, *project.Manifest) {
	t.Helper()
	root := t.TempDir()
	m := &project.Manifest{Name: "shop", Module: "shop", Main: "./cmd/shop",
		Services: []project.Service{{Name: "User", Version: "1", Path: "services/user/v1"}, {Name: "Email", Version: "1", Path: "services/email/v1"}},
		Profiles: map[string]project.Profile{"serverless": {Bridge: "memory", HTTP: "127.0.0.1:8080"}, "split": {Bridge: "memory", Split: true}}}
	if err := project.Save(root, m); err != nil {
		t.Fatal(err)
	}
	loaded, err := project.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	return root, loaded
}

// TestRunHandsTheSessionItsOptions: for each combination of flags, terminal and
// environment, the options dev gives its Dev engine, and the engines it hands on.
func TestRunHandsTheSessionItsOptions(t *testing.T) {
	root, m := devProject(t)
	tests := []struct {
		name string
		args []string
		tty  bool
		env  map[string]string
		want func(*devenv.Options)
	}{
		{name: "defaults without a terminal are headless", want: func(o *devenv.Options) {}},
		{name: "a terminal gets the TUI", tty: true, want: func(o *devenv.Options) { o.Headless = false }},
		{name: "--no-tui on a terminal", args: []string{"--no-tui"}, tty: true, want: func(o *devenv.Options) {}},
		{name: "--json on a terminal", args: []string{"--json"}, tty: true, want: func(o *devenv.Options) { o.JSON = true }},
		{name: "NO_COLOR", tty: true, env: map[string]string{"NO_COLOR": "1"},
			want: func(o *devenv.Options) { o.Headless, o.NoColor = false, true }},
		{name: "--no-watch and --grace", args: []string{"--no-watch", "--grace", "3s"},
			want: func(o *devenv.Options) { o.Watch, o.Grace = false, 3*time.Second }},
		{name: "distributed with a kind, no containers", args: []string{"--distributed", "--broker", "mqtt", "--no-containers"},
			want: func(o *devenv.Options) { o.Distributed, o.Broker, o.NoContainers = true, "mqtt", true }},
		{name: "--no-traces", args: []string{"--no-traces"}, want: func(o *devenv.Options) { o.NoTraces = true }},
		{name: "--secure-http", args: []string{"--secure-http"}, want: func(o *devenv.Options) { o.SecureHTTP = true }},
		{name: "profile http", args: []string{"--profile", "serverless"}, want: func(o *devenv.Options) { o.HTTPAddr = "127.0.0.1:8080" }},
		{name: "profile split", args: []string{"--profile", "split"}, want: func(o *devenv.Options) { o.Distributed = true }},
		{name: "--distributed=false wins over the profile", args: []string{"--profile", "split", "--distributed=false"},
			want: func(o *devenv.Options) {}},
		{name: "-C from a sub-folder", args: []string{"-C", filepath.Join(root, "services")}, want: func(o *devenv.Options) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, in, out, errOut := iostreams.Test()
			ios.SetStdinTTY(tt.tty)
			ios.SetStdoutTTY(tt.tty)
			dev := &fakeDev{}
			f := fakeEngines(t, ios, dev)
			cmd := NewCmdDev(f, func(o *Options) error {
				o.Getenv = func(k string) string { return tt.env[k] }
				return Run(context.Background(), o)
			})
			args := tt.args
			if !strings.Contains(strings.Join(args, " "), "-C") {
				args = append(args, "-C", root)
			}
			cmd.SetArgs(args)
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			if len(dev.calls) != 1 {
				t.Fatalf("Dev called %d times, want once", len(dev.calls))
			}
			got := dev.calls[0]
			for name, pair := range map[string][2]any{"Build": {got.Build, f.BuildProject}, "Start": {got.Start, f.Launch},
				"Provision": {got.Provision, f.Provision}} {
				if reflect.ValueOf(pair[0]).Pointer() != reflect.ValueOf(pair[1]).Pointer() {
					t.Errorf("%s is not the Factory's engine", name)
				}
			}
			if got.In != in || got.Out != out || got.ErrOut != errOut {
				t.Errorf("streams not the command's: %+v", got)
			}
			got.Build, got.Start, got.Provision, got.In, got.Out, got.ErrOut = nil, nil, nil, nil, nil, nil
			want := devenv.Options{Root: root, Manifest: m, Watch: true, Headless: true, Grace: 10 * time.Second}
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Dev options\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestRunEngineErrors: what the user sees, and the exit code, when the Dev engine fails
// or is interrupted, and that a project that cannot be found never reaches it.
func TestRunEngineErrors(t *testing.T) {
	root, _ := devProject(t)
	tests := []struct {
		name     string
		dir      string
		err      error
		wantCode int
		wantErr  string
		calls    int
	}{
		{name: "clean stop", dir: root, wantCode: cmdutil.ExitOK, calls: 1},
		{name: "teardown failed", dir: root, err: errors.New("teardown: app: killed after the grace period"),
			wantCode: cmdutil.ExitError, wantErr: "Error: teardown: app: killed after the grace period", calls: 1},
		{name: "the app exited", dir: root, err: errors.New("app exited with code 2: boom"),
			wantCode: cmdutil.ExitError, wantErr: "Error: app exited with code 2: boom", calls: 1},
		{name: "interrupted", dir: root, err: context.Canceled, wantCode: cmdutil.ExitInterrupted, wantErr: "Interrupted.", calls: 1},
		{name: "not a project", dir: t.TempDir(), wantCode: cmdutil.ExitError, wantErr: "purista new", calls: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, errOut := iostreams.Test()
			dev := &fakeDev{err: tt.err}
			code := clitest.Execute(context.Background(), NewCmdDev(fakeEngines(t, ios, dev), nil), []string{"-C", tt.dir}, ios)
			if code != tt.wantCode || len(dev.calls) != tt.calls {
				t.Errorf("exit %d after %d Dev calls, want exit %d after %d", code, len(dev.calls), tt.wantCode, tt.calls)
			}
			if !strings.Contains(errOut.String(), tt.wantErr) || (tt.wantErr == "" && errOut.Len() > 0) {
				t.Errorf("stderr %q, want %q", errOut.String(), tt.wantErr)
			}
		})
	}
}
