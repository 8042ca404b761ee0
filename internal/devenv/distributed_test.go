package devenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/purista-go/purista/internal/project"
)

// TestDistributed runs examples/signup as one process per service over each broker: a
// cross-process call works and teardown leaves no process behind.
func TestDistributed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example and starts processes")
	}
	tests := []struct {
		name string
		kind string
		url  string // "" provisions the embedded broker (Docker is never asked)
	}{
		{"embedded nats", "nats", ""},
		{"rabbitmq url", "", "amqp://guest:guest@127.0.0.1:5672/"},
		{"mosquitto url", "", "mqtt://127.0.0.1:1883"},
	}
	root := filepath.Join(repoRoot(t), "examples", "signup")
	m, err := project.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	binPath := filepath.Join(t.TempDir(), "signup")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.url != "" {
				u, _ := url.Parse(tt.url)
				c, err := net.DialTimeout("tcp", u.Host, time.Second)
				if err != nil {
					t.Skipf("broker at %s is not reachable: %v", u.Host, err)
				}
				_ = c.Close()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			t.Cleanup(cancel)
			b, err := Provision(ctx, ProvisionOptions{Kind: tt.kind, URL: tt.url, Dir: t.TempDir(),
				DockerAvailable: func(context.Context) error { return errors.New("no Docker daemon (test)") }})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = b.Close(context.Background()) })
			if tt.url == "" && b.Source == SourceEmbedded && !strings.Contains(b.Note, "testcontainers skipped") {
				t.Errorf("note %q does not say why testcontainers was skipped", b.Note)
			}
			var mu sync.Mutex
			pids := map[string]int{}
			var crossed bool
			ready := make(chan struct{}, 1)
			r := NewRunner(Options{Root: root, Manifest: m, Bridge: b.URL, Distributed: true, BinaryPath: binPath,
				Grace: 5 * time.Second, Sink: func(msg any) {
					mu.Lock()
					defer mu.Unlock()
					switch v := msg.(type) {
					case UnitStateMsg:
						if v.PID > 0 {
							pids[v.Unit] = v.PID
						}
					case ReadyMsg:
						ready <- struct{}{}
					case UnitEventMsg:
						if rec := v.Event.Record; rec != nil && v.Unit == "Email" && rec.From.ServiceName == "User" && rec.To.ServiceTarget == "sendWelcome" && rec.Status == 200 {
							crossed = true
						}
					}
				}})
			runErr := make(chan error, 1)
			runCtx, stop := context.WithCancel(ctx)
			defer stop()
			go func() { runErr <- r.Run(runCtx) }()
			select {
			case <-ready:
			case err := <-runErr:
				t.Fatalf("Run ended early: %v", err)
			case <-ctx.Done():
				t.Fatal("not ready in time")
			}
			// On a shared broker other Email instances compete for the call (RabbitMQ queues):
			// call until ours has handled one (its record reaches us through the event
			// stream a little later), within ctx's deadline.
			hasCrossed := func() bool {
				mu.Lock()
				defer mu.Unlock()
				return crossed
			}
			for !hasCrossed() && ctx.Err() == nil {
				out, err := r.Invoke(ctx, "User", "1", "signUp", json.RawMessage(`{"email":"dist@example.com","name":"D"}`))
				if err != nil || !strings.Contains(string(out), "dist@example.com") {
					t.Fatalf("cross-process signUp = %s, %v", out, err)
				}
				for i := 0; i < 20 && !hasCrossed(); i++ {
					time.Sleep(10 * time.Millisecond)
				}
			}
			mu.Lock()
			got := map[string]int{}
			for k, v := range pids {
				got[k] = v
			}
			c := crossed
			mu.Unlock()
			if !c {
				t.Error("the Email process handled no User → Email.sendWelcome call")
			}
			if len(got) != 2 || got["User"] == got["Email"] {
				t.Errorf("pids %v, want one process per service", got)
			}
			stop()
			if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("Run = %v", err)
			}
			for unit, pid := range got {
				if pidAlive(pid) {
					t.Errorf("process %d of %s still alive after teardown", pid, unit)
				}
			}
		})
	}
}

func TestProvision(t *testing.T) {
	noDocker := func(context.Context) error { return errors.New("no Docker daemon (test)") }
	tests := []struct {
		name       string
		opts       ProvisionOptions
		wantKind   string
		wantSource string
		wantErr    string
	}{
		{"explicit url", ProvisionOptions{URL: "nats://127.0.0.1:4222"}, "nats", SourceURL, ""},
		{"env url", ProvisionOptions{Getenv: func(k string) string {
			if k == "PURISTA_BROKER_URL" {
				return "mqtt://127.0.0.1:1883"
			}
			return ""
		}}, "mqtt", SourceURL, ""},
		{"kind mismatch", ProvisionOptions{Kind: "amqp", URL: "nats://x:4222"}, "", "", "does not match"},
		{"memory url", ProvisionOptions{URL: "memory"}, "", "", "needs nats://"},
		{"unknown scheme names the flag", ProvisionOptions{URL: "kafka://x"}, "", "", `--broker-url kafka://x: bridge scheme "kafka" is unknown`},
		{"unknown scheme names the variable", ProvisionOptions{Getenv: func(k string) string {
			if k == "PURISTA_BROKER_URL" {
				return "kafka://u:secret@x"
			}
			return ""
		}}, "", "", "PURISTA_BROKER_URL kafka://xxxxx@x: "},
		{"embedded nats", ProvisionOptions{Kind: "nats", DockerAvailable: noDocker}, "nats", SourceEmbedded, ""},
		{"embedded mqtt", ProvisionOptions{Kind: "mqtt", DockerAvailable: noDocker}, "mqtt", SourceEmbedded, ""},
		{"amqp without docker", ProvisionOptions{Kind: "amqp", DockerAvailable: noDocker}, "", "", "--broker-url amqp://"},
		{"unknown kind", ProvisionOptions{Kind: "kafka"}, "", "", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Getenv == nil {
				tt.opts.Getenv = func(string) string { return "" }
			}
			tt.opts.Dir = t.TempDir()
			b, err := Provision(context.Background(), tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = b.Close(context.Background()) })
			if b.Kind != tt.wantKind || b.Source != tt.wantSource {
				t.Errorf("got %s from %s, want %s from %s", b.Kind, b.Source, tt.wantKind, tt.wantSource)
			}
		})
	}
}

// TestProvisionTestcontainers starts real broker containers where a Docker daemon
// answers and has the broker's image; otherwise it is skipped with the reason. No
// registry is asked (Ryuk is off, containers are terminated by the test).
func TestProvisionTestcontainers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts containers")
	}
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" {
		t.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	if err := DockerAvailable(ctx); err != nil {
		t.Skipf("testcontainers provisioning not tested: %v", err)
	}
	for kind, img := range map[string]string{"nats": ImageNATS, "amqp": ImageRabbitMQ, "mqtt": ImageMosquitto} {
		t.Run(kind, func(t *testing.T) {
			if err := imagePresent(ctx, img); err != nil {
				t.Skipf("testcontainers %s not tested: %v", kind, err)
			}
			b, err := Provision(ctx, ProvisionOptions{Kind: kind, Getenv: func(string) string { return "" }})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = b.Close(context.Background()) })
			if b.Source != SourceTestcontainers {
				t.Errorf("source %s, want testcontainers", b.Source)
			}
		})
	}
}

// imagePresent reports whether the Docker daemon has img without pulling it.
func imagePresent(ctx context.Context, img string) error {
	c, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.ImageInspect(ctx, img); err != nil {
		return fmt.Errorf("image %s is not in the Docker daemon (no registry is asked): %w", img, err)
	}
	return nil
}
