package devenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/purista-go/purista/internal/devenv/brokers"
	"github.com/purista-go/purista/internal/devenv/devmsg"
	"github.com/purista-go/purista/internal/devenv/internal/devtest"
	"github.com/purista-go/purista/internal/devenv/supervise"
	"github.com/purista-go/purista/internal/project"
	"github.com/purista-go/purista/internal/testutil/dockertest"
)

// TestDistributed runs examples/signup as one process per service over each broker: a
// cross-process call and event work and teardown leaves no process behind. The
// testcontainers cases start the broker in a container of the local test image (skipped
// without Docker, a failure under PURISTA_REQUIRE_DOCKER=1); closing the broker removes it.
func TestDistributed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example and starts processes")
	}
	tests := []struct {
		name  string
		kind  string
		url   string // "" provisions: the embedded broker, or a container when image is set
		image string
	}{
		{"embedded nats", "nats", "", ""},
		{"rabbitmq url", "", "amqp://guest:guest@127.0.0.1:5672/", ""},
		{"mosquitto url", "", "mqtt://127.0.0.1:1883", ""},
		{"testcontainers nats", "nats", "", dockertest.ImageNATS},
		{"testcontainers mqtt", "mqtt", "", dockertest.ImageMosquitto},
		{"testcontainers amqp", "amqp", "", dockertest.ImageRabbitMQ},
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
			po := brokers.ProvisionOptions{Kind: tt.kind, URL: tt.url, Dir: t.TempDir(),
				DockerAvailable: func(context.Context) error { return errors.New("no Docker daemon (test)") }}
			var dc *client.Client
			if tt.image != "" {
				dc = dockertest.RequireDocker(t)
				dockertest.RequireImage(t, dc, tt.image)
				po.DockerAvailable, po.Images = nil, map[string]string{tt.kind: tt.image}
			}
			b, err := brokers.Provision(ctx, po)
			if err != nil {
				t.Fatal(err)
			}
			if tt.image != "" && b.Source != brokers.SourceTestcontainers {
				t.Fatalf("broker from %s (%s), want a container of %s", b.Source, b.Note, tt.image)
			}
			t.Cleanup(func() { _ = b.Close(context.Background()) })
			if tt.url == "" && b.Source == brokers.SourceEmbedded && !strings.Contains(b.Note, "testcontainers skipped") {
				t.Errorf("note %q does not say why testcontainers was skipped", b.Note)
			}
			var mu sync.Mutex
			pids := map[string]int{}
			var crossed, evented bool
			var trace []string // what the runner said, shown when a call fails
			ready := make(chan struct{}, 1)
			r := supervise.NewRunner(supervise.Options{Root: root, Manifest: m, Bridge: b.URL, Distributed: true, BinaryPath: binPath,
				Grace: 5 * time.Second, Sink: func(msg any) {
					mu.Lock()
					defer mu.Unlock()
					trace = append(trace, fmt.Sprintf("%T %+v", msg, msg))
					switch v := msg.(type) {
					case devmsg.UnitStateMsg:
						if v.PID > 0 {
							pids[v.Unit] = v.PID
						}
					case devmsg.ReadyMsg:
						ready <- struct{}{}
					case devmsg.UnitEventMsg:
						if rec := v.Event.Record; rec != nil && v.Unit == "Email" && rec.From.ServiceName == "User" && rec.To.ServiceTarget == "sendWelcome" && rec.Status == 200 {
							crossed = true
						}
						if rec := v.Event.Record; rec != nil && v.Unit == "Email" && rec.To.ServiceTarget == "onUserSignedUp" && rec.Status == 200 {
							evented = true
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
				return crossed && evented
			}
			for !hasCrossed() && ctx.Err() == nil {
				out, err := r.Invoke(ctx, "User", "1", "signUp", json.RawMessage(`{"email":"dist@example.com","name":"D"}`))
				if err != nil || !strings.Contains(string(out), "dist@example.com") {
					mu.Lock()
					said := strings.Join(trace, "\n")
					mu.Unlock()
					t.Fatalf("cross-process signUp = %s, %v; the runner said:\n%s", out, err, said)
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
			c, e := crossed, evented
			mu.Unlock()
			if !c {
				t.Error("the Email process handled no User → Email.sendWelcome call")
			}
			if !e {
				t.Error("the Email process handled no userSignedUp event (onUserSignedUp)")
			}
			if len(got) != 2 || got["User"] == got["Email"] {
				t.Errorf("pids %v, want one process per service", got)
			}
			stop()
			if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("Run = %v", err)
			}
			for unit, pid := range got {
				if devtest.PIDAlive(pid) {
					t.Errorf("process %d of %s still alive after teardown", pid, unit)
				}
			}
			if err := b.Close(ctx); err != nil {
				t.Errorf("closing the broker: %v", err)
			}
			if dc != nil {
				if _, err := dc.ContainerInspect(ctx, b.ContainerID, client.ContainerInspectOptions{}); err == nil {
					t.Errorf("the broker container %s is still there after teardown", b.ContainerID)
				}
			}
		})
	}
}
