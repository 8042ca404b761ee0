package scaffold_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/scaffold/scaffoldtest"
)

// offlineEnv is the environment of every go command the e2e test runs: module cache
// only, go.mod may be completed from it, never a network fetch or toolchain switch.
func offlineEnv() []string {
	return append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOWORK=off")
}

// run runs name args in dir and returns stdout, stderr and the exit code.
func run(t *testing.T, dir string, env []string, name string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		code = ee.ExitCode()
	}
	return out.String(), errOut.String(), code
}

// must runs a command that has to succeed.
func must(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	out, errOut, code := run(t, dir, offlineEnv(), name, args...)
	if code != 0 {
		t.Fatalf("%s %s (in %s): exit %d\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), dir, code, out, errOut)
	}
	return out
}

// TestEndToEnd builds purista, generates a project and grows it with every `add` verb,
// then builds, vets and tests the project offline, runs its binary on the in-memory
// bridge (health answers, SIGTERM exits 0), and checks that bad input fails clearly
// without touching the disk.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds purista and a generated project: skipped with -short")
	}
	tmp := t.TempDir()
	purista := filepath.Join(tmp, "purista")
	// The purista module itself is built read-only: the test never edits its go.mod.
	if out, errOut, code := run(t, filepath.Join("..", ".."), append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly"),
		"go", "build", "-o", purista, "./cmd/purista"); code != 0 {
		t.Fatalf("build purista: exit %d\n%s%s", code, out, errOut)
	}

	ws := filepath.Join(tmp, "ws")
	if err := os.Mkdir(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	must(t, ws, purista, "new", "shop", "--module", "example.com/shop", "--bridge", "nats", "--http")
	t.Logf("purista new: %v", time.Since(start))
	root := filepath.Join(ws, "shop")
	services := filepath.Join(root, "services") // `add` works from any folder inside
	must(t, services, purista, "add", "service", "Billing")
	must(t, services, purista, "add", "command", "Billing", "sendInvoice", "--event", "invoiceSent")
	must(t, root, purista, "add", "subscription", "Greeter", "onInvoiceSent", "--event", "invoiceSent")
	must(t, root, purista, "add", "subscription", "Billing", "onPayment", "--event", "paymentReceived")
	must(t, root, purista, "add", "command", "Greeter", "resendInvoice", "--event", "invoiceSent", "--allow-shared-event")

	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range [][]string{{"build", "./..."}, {"vet", "./..."}, {"test", "./..."}} {
		must(t, root, "go", step...)
	}
	// The generated go.mod already carried every requirement: -mod=mod changed nothing.
	if after, _ := os.ReadFile(filepath.Join(root, "go.mod")); !bytes.Equal(after, gomod) {
		t.Errorf("go build had to complete go.mod:\nbefore:\n%s\nafter:\n%s", gomod, after)
	}
	bin := filepath.Join(tmp, "shop-bin")
	must(t, root, "go", "build", "-o", bin, "./cmd/shop")
	t.Run("binary runs on the memory bridge and stops on SIGTERM", func(t *testing.T) { runBinary(t, bin) })

	t.Run("bad input", func(t *testing.T) {
		empty := filepath.Join(tmp, "empty")
		if err := os.Mkdir(empty, 0o755); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name    string
			dir     string
			args    []string
			wantErr string // on stderr, with an accepted example
		}{
			{name: "invalid name", dir: ws, args: []string{"new", "my-shop"}, wantErr: `e.g. "shop"`},
			{name: "existing directory", dir: ws, args: []string{"new", "shop"}, wantErr: "--force"},
			{name: "unknown bridge", dir: ws, args: []string{"new", "other", "--bridge", "kafka"}, wantErr: "e.g. --bridge nats"},
			{name: "add outside a project", dir: empty, args: []string{"add", "service", "Billing"}, wantErr: "purista new shop"},
			{name: "duplicate command", dir: root, args: []string{"add", "command", "Billing", "sendInvoice"}, wantErr: "already exists"},
			{name: "duplicate service", dir: root, args: []string{"add", "service", "billing"}, wantErr: "already exists"},
			{name: "duplicate subscription", dir: root, args: []string{"add", "subscription", "Greeter", "onInvoiceSent", "--event", "x"}, wantErr: "already exists"},
			{name: "invalid command name", dir: root, args: []string{"add", "command", "Billing", "send-invoice"}, wantErr: `e.g. "sendInvoice"`},
			{name: "unknown service", dir: root, args: []string{"add", "command", "Nope", "x"}, wantErr: "services: Greeter, Billing"},
			{name: "event already emitted", dir: root, args: []string{"add", "command", "Greeter", "refund", "--event", "invoiceSent"}, wantErr: "--allow-shared-event"},
			{name: "unknown --from service", dir: root, args: []string{"add", "subscription", "Billing", "onX", "--from", "Nope"}, wantErr: "not a service of this project"},
			{name: "reserved command name", dir: root, args: []string{"add", "command", "Billing", "init"}, wantErr: "Go reserves"},
			{name: "predeclared command name", dir: root, args: []string{"add", "command", "Billing", "error"}, wantErr: "predeclared"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := scaffoldtest.Snapshot(t, ws) + scaffoldtest.Snapshot(t, empty)
				out, errOut, code := run(t, tt.dir, offlineEnv(), purista, tt.args...)
				if code == 0 {
					t.Fatalf("exit 0, want failure; stdout:\n%s", out)
				}
				if !strings.Contains(errOut, "Error: ") || !strings.Contains(errOut, tt.wantErr) {
					t.Errorf("stderr %q does not contain %q", errOut, tt.wantErr)
				}
				if out != "" {
					t.Errorf("stdout %q, want nothing", out)
				}
				if after := scaffoldtest.Snapshot(t, ws) + scaffoldtest.Snapshot(t, empty); after != before {
					t.Error("the disk changed")
				}
			})
		}
	})

	t.Run("help has examples", func(t *testing.T) {
		for _, verb := range [][]string{{"new"}, {"add"}, {"add", "service"}, {"add", "command"}, {"add", "subscription"}} {
			out := must(t, ws, purista, append(verb, "--help")...)
			if !strings.Contains(out, "Examples:") {
				t.Errorf("purista %s --help has no examples:\n%s", strings.Join(verb, " "), out)
			}
		}
	})
}

// runBinary starts a generated binary with a free health port, waits for /healthz and
// /readyz, sends SIGTERM and expects exit 0.
func runBinary(t *testing.T, bin string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PURISTA_BRIDGE=memory", "PURISTA_HEALTH_ADDR="+addr)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // no-op once it exited
	for _, path := range []string{"/healthz", "/readyz"} {
		deadline := time.Now().Add(15 * time.Second)
		for {
			resp, err := http.Get("http://" + addr + path)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never answered 200 (last error %v); logs:\n%s", path, err, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v; logs:\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit 20 s after SIGTERM; logs:\n%s", logs.String())
	}
}
