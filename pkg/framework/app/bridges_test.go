package app

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework"
)

func TestNewBridgeMemorySettings(t *testing.T) {
	tests := []struct {
		setting string
		wantErr string // empty: a memory bridge
	}{
		{setting: ""},
		{setting: "memory"},
		{setting: "memory://"},
		{setting: "memory://?handlers=goroutines"},
		{setting: "memory://?handlers=inline"},
		{setting: "memory://?handlers=threads", wantErr: `handlers="threads" is unknown`},
		{setting: "memory://?workers=4", wantErr: `setting "workers" is unknown`},
		{setting: "memory://somehost", wantErr: "names a host or path"},
	}
	for _, tt := range tests {
		t.Run(tt.setting, func(t *testing.T) {
			b, err := newBridge(config{Bridge: tt.setting}, slog.New(slog.DiscardHandler))
			if tt.wantErr == "" {
				if err != nil || b.Name() != "memory" {
					t.Fatalf("NewBridge(%q) = %v, %v; want a memory bridge", tt.setting, b, err)
				}
				return
			}
			if err == nil || !errors.Is(err, framework.ErrConfig) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewBridge(%q) error = %v; want ErrConfig saying %q", tt.setting, err, tt.wantErr)
			}
		})
	}
}

// TestMemoryHandlerGoroutines checks that memory://?handlers=goroutines takes effect: a
// caller stops waiting at its timeout while the handler, ignoring its context, still runs.
func TestMemoryHandlerGoroutines(t *testing.T) {
	b, err := newBridge(config{Bridge: "memory://?handlers=goroutines"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	stuck := framework.Command[echoIn, echoOut](framework.NewContract("Stuck", "1"), "wait")
	svc := framework.NewService(framework.NewContract("Stuck", "1"), "ignores its context")
	framework.Handle(svc, stuck, func(c *framework.Context, in echoIn) (echoOut, error) {
		<-release // ignores c on purpose
		return echoOut{Text: in.Text}, nil
	})
	rt, err := framework.Start(context.Background(), b, []*framework.Service{svc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
	t.Cleanup(func() { close(release) })
	_, err = stuck.InvokeWith(rt.Client(context.Background()), echoIn{Text: "x"}, framework.InvokeOptions{Timeout: 50 * time.Millisecond})
	var ue *framework.UnhandledError
	if !errors.As(err, &ue) || ue.Status != 504 {
		t.Fatalf("Invoke = %v; want a 504 while the handler is still blocked", err)
	}
}

// TestHandlerOutOfTimeIs504: a handler that honours its deadline and returns ctx.Err()
// answers an unhandled 504, not a masked 500 — also to a caller still willing to wait.
func TestHandlerOutOfTimeIs504(t *testing.T) {
	for _, setting := range []string{"memory", "memory://?handlers=goroutines"} {
		t.Run(setting, func(t *testing.T) {
			b, err := newBridge(config{Bridge: setting}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			slow := framework.Command[echoIn, echoOut](framework.NewContract("Slow", "1"), "work", framework.WithTimeout(50*time.Millisecond))
			svc := framework.NewService(framework.NewContract("Slow", "1"), "runs out of time")
			framework.Handle(svc, slow, func(c *framework.Context, in echoIn) (echoOut, error) {
				<-c.Done()
				return echoOut{}, c.Err()
			})
			rt, err := framework.Start(context.Background(), b, []*framework.Service{svc})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
			_, err = slow.InvokeWith(rt.Client(context.Background()), echoIn{Text: "x"}, framework.InvokeOptions{Timeout: 5 * time.Second})
			var ue *framework.UnhandledError
			if !errors.As(err, &ue) || ue.Status != 504 {
				t.Fatalf("Invoke = %v; want an unhandled 504", err)
			}
		})
	}
}

// TestBridgeLeftOut builds examples/signup with every broker bridge left out and
// starts it on each broker bridge: it exits with ExitConfig and names the build tag to
// drop, before it connects anywhere.
func TestBridgeLeftOut(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles examples/signup")
	}
	bin := filepath.Join(t.TempDir(), "signup")
	build := exec.CommandContext(t.Context(), "go", "build", "-tags=purista_no_nats,purista_no_amqp,purista_no_mqtt", "-o", bin,
		"github.com/purista-go/purista/examples/signup/cmd/signup")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, tt := range []struct{ setting, tag string }{
		{"nats://127.0.0.1:4222", "purista_no_nats"},
		{"amqp://guest:secret@127.0.0.1:5672/", "purista_no_amqp"},
		{"mqtts://127.0.0.1:8883", "purista_no_mqtt"},
	} {
		t.Run(tt.tag, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), bin, "--health-addr", "off")
			cmd.Env = append(os.Environ(), "PURISTA_BRIDGE="+tt.setting)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != ExitConfig {
				t.Fatalf("exit: %v, want %d\n%s", err, ExitConfig, out)
			}
			for _, want := range []string{"build tag " + tt.tag, "without -tags " + tt.tag, "choose a bridge it has: memory\n"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(string(out), "secret") {
				t.Errorf("output shows the password:\n%s", out)
			}
		})
	}
}
