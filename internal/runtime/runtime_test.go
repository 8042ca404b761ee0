package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/runtime"
)

// repoRoot is the module root, two folders up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func TestBuildError(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":  "module broken\n\ngo 1.22\n",
		"main.go": "package main\n\nfunc main() { undefinedThing() }\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := runtime.Build(context.Background(), runtime.BuildOptions{Dir: dir, Main: ".", Output: filepath.Join(dir, "bin", "app")})
	var be *runtime.BuildError
	if !errors.As(err, &be) {
		t.Fatalf("Build = %v, want *BuildError", err)
	}
	if !strings.Contains(be.Output, "undefinedThing") {
		t.Errorf("compiler output %q does not name the error", be.Output)
	}
}

func TestProfileEnviron(t *testing.T) {
	tests := []struct {
		name string
		p    runtime.Profile
		want []string
	}{
		{"empty", runtime.Profile{}, []string{"PURISTA_HTTP_DEV_INSECURE=1"}},
		{"split", runtime.Profile{Bridge: "nats://127.0.0.1:4222", Services: []string{"User"}, ShutdownTimeout: 2 * time.Second},
			[]string{"PURISTA_BRIDGE=nats://127.0.0.1:4222", "PURISTA_SERVICES=User", "PURISTA_HTTP_DEV_INSECURE=1", "PURISTA_SHUTDOWN_TIMEOUT=2s"}},
		{"secure http", runtime.Profile{HTTPAddr: "127.0.0.1:8080", SecureHTTP: true},
			[]string{"PURISTA_HTTP_ADDR=127.0.0.1:8080"}},
		{"http off", runtime.Profile{HTTPAddr: "off", Env: []string{"X=1"}}, []string{"X=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Environ(); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("Environ() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestStartInvokeStop builds the signup example, runs it, calls a command and stops it,
// checking the event stream and that no process is left.
func TestStartInvokeStop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example binary")
	}
	root := repoRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	bin, err := runtime.Build(ctx, runtime.BuildOptions{Dir: filepath.Join(root, "examples/signup"), Main: "./cmd/signup",
		Output: filepath.Join(t.TempDir(), "signup")})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var events []runtime.Event
	p, err := runtime.Start(ctx, runtime.StartOptions{Binary: bin, Profile: runtime.Profile{Bridge: "memory"},
		OnEvent: func(e runtime.Event) { mu.Lock(); events = append(events, e); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(time.Second) })
	if err := p.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := p.Invoke(ctx, "User", "1", "signUp", json.RawMessage(`{"email":"a@example.com","name":"A"}`))
	if err != nil || !strings.Contains(string(out), `"email":"a@example.com"`) {
		t.Fatalf("Invoke = %s, %v", out, err)
	}
	_, err = p.Invoke(ctx, "User", "1", "signUp", json.RawMessage(`{"email":"a@example.invalid","name":"A"}`))
	var ie *runtime.InvokeError
	if !errors.As(err, &ie) || ie.Status < 400 {
		t.Fatalf("Invoke of a bouncing address = %v, want an InvokeError", err)
	}
	if err := p.Stop(5 * time.Second); err != nil {
		t.Fatalf("Stop = %v", err)
	}
	if p.ExitCode() != 0 {
		t.Errorf("exit code %d, want 0", p.ExitCode())
	}
	if _, err := os.Stat("/proc/" + itoa(p.PID())); err == nil {
		t.Errorf("process %d still exists after Stop", p.PID())
	}
	mu.Lock()
	defer mu.Unlock()
	var sawRecord, sawReady, sawStopped bool
	for _, e := range events {
		switch {
		case e.Type == "record" && e.Record.From.ServiceName == "User" && e.Record.To.ServiceName == "Email":
			sawRecord = true
		case e.Type == "state" && e.State == "ready" && len(e.Commands) > 0:
			sawReady = true
		case e.Type == "state" && e.State == "stopped":
			sawStopped = true
		}
	}
	if !sawRecord || !sawReady || !sawStopped {
		t.Errorf("event stream: record User→Email %v, ready with commands %v, stopped %v (%d events)", sawRecord, sawReady, sawStopped, len(events))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
