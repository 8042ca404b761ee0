package brokers

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/purista-go/purista/internal/testutil/dockertest"
)

// localImages are the test images of scripts/docker.sh, per broker kind.
var localImages = map[string]string{"nats": dockertest.ImageNATS, "amqp": dockertest.ImageRabbitMQ, "mqtt": dockertest.ImageMosquitto}

// lines collects Progress lines.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, s)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n")
}

// gone reports whether the container id no longer exists.
func gone(ctx context.Context, t *testing.T, dc *client.Client, id string) bool {
	t.Helper()
	_, err := dc.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "no such container")
}

// ours lists the containers this process started (LabelPID).
func ours(ctx context.Context, t *testing.T, dc *client.Client) []string {
	t.Helper()
	list, err := dc.ContainerList(ctx, client.ContainerListOptions{All: true,
		Filters: make(client.Filters).Add("label", LabelPID+"="+strconv.Itoa(os.Getpid()))})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list.Items {
		ids = append(ids, c.ID[:12]+" "+c.Image)
	}
	return ids
}

// TestProvisionTestcontainers starts each broker in a container of the local test image
// through testcontainers, with progress lines and testcontainers' log in Log; Close
// removes the container. Skipped without Docker or the image (a failure under
// PURISTA_REQUIRE_DOCKER=1).
func TestProvisionTestcontainers(t *testing.T) {
	dc, ctx := dockertest.E2E(t, "starts containers", 5*time.Minute)
	for _, kind := range []string{"nats", "amqp", "mqtt"} {
		t.Run(kind, func(t *testing.T) {
			dockertest.RequireImage(t, dc, localImages[kind])
			var progress lines
			var log strings.Builder
			b, err := Provision(ctx, ProvisionOptions{Kind: kind, Getenv: func(string) string { return "" }, Images: localImages,
				Progress: progress.add, Log: &log})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = b.Close(context.Background()) })
			if b.Source != SourceTestcontainers || b.Note != localImages[kind] || b.ContainerID == "" {
				t.Fatalf("source %s (%s, container %q), want testcontainers (%s)", b.Source, b.Note, b.ContainerID, localImages[kind])
			}
			for _, w := range []string{"starting " + localImages[kind], localImages[kind] + " is ready in"} {
				if !strings.Contains(progress.String(), w) {
					t.Errorf("progress %q does not say %q", progress.String(), w)
				}
			}
			if !strings.Contains(log.String(), "testcontainers: ") {
				t.Errorf("testcontainers' log did not go to Log: %q", log.String())
			}
			st, err := dc.ContainerInspect(ctx, b.ContainerID, client.ContainerInspectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if l := st.Container.Config.Labels; l[LabelDev] != "true" || l[LabelPID] != strconv.Itoa(os.Getpid()) {
				t.Errorf("labels %v", l)
			}
			if err := b.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if !gone(ctx, t, dc, b.ContainerID) {
				t.Errorf("container %s is still there after Close", b.ContainerID)
			}
		})
	}
}

// TestProvisionFallsBack: an image that cannot be pulled, or a container that is not
// ready in time, is removed and the embedded broker runs instead, with a note saying why
// and how to choose; for AMQP Provision says what to do.
func TestProvisionFallsBack(t *testing.T) {
	dc, ctx := dockertest.E2E(t, "starts containers", 3*time.Minute, dockertest.ImageNATS)
	const absent = "purista-test/absent:none"
	tests := []struct {
		name     string
		kind     string
		images   map[string]string
		wantNote []string
		wantErr  []string
	}{
		{"nats image not pullable", "nats", map[string]string{"nats": absent},
			[]string{"testcontainers " + absent, "using the embedded broker instead", "--no-containers", "--broker-url"}, nil},
		// The NATS image never listens on MQTT's port 1883: not ready in time.
		{"mqtt container not ready", "mqtt", map[string]string{"mqtt": dockertest.ImageNATS},
			[]string{"not ready within 5s", "using the embedded broker instead"}, nil},
		{"amqp image not pullable", "amqp", map[string]string{"amqp": absent}, nil,
			[]string{"no broker available", "--broker-url amqp://", "docker pull " + absent, "--broker-image"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Provision(ctx, ProvisionOptions{Kind: tt.kind, Getenv: func(string) string { return "" }, Images: tt.images,
				StartTimeout: 5 * time.Second, Dir: t.TempDir()})
			if tt.wantErr != nil {
				if err == nil || !errors.Is(err, ErrNoBroker) {
					t.Fatalf("err = %v, want ErrNoBroker", err)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = b.Close(context.Background()) })
				if b.Source != SourceEmbedded || b.Kind != tt.kind {
					t.Errorf("got %s from %s, want the embedded %s", b.Kind, b.Source, tt.kind)
				}
				for _, w := range tt.wantNote {
					if !strings.Contains(b.Note, w) {
						t.Errorf("note %q does not say %q", b.Note, w)
					}
				}
				if strings.Contains(b.Note, "\n") {
					t.Errorf("note %q is more than one line", b.Note)
				}
			}
			if left := ours(ctx, t, dc); len(left) > 0 {
				t.Errorf("containers left behind: %v", left)
			}
		})
	}
}

// TestRemoveLeftovers: a broker container whose purista is gone (killed with SIGKILL,
// so it never ran its teardown) is removed by the next Provision's RemoveLeftovers; one
// whose purista runs is kept.
func TestRemoveLeftovers(t *testing.T) {
	dc, ctx := dockertest.E2E(t, "creates containers", time.Minute, dockertest.ImageNATS)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	create := func(pid int) string {
		labels := dockertest.Labels(t)
		labels[LabelDev], labels[LabelHost], labels[LabelPID] = "true", host, strconv.Itoa(pid)
		c, err := dc.ContainerCreate(ctx, client.ContainerCreateOptions{Config: &container.Config{Image: dockertest.ImageNATS, Labels: labels}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_, _ = dc.ContainerRemove(context.Background(), c.ID, client.ContainerRemoveOptions{Force: true})
		})
		return c.ID
	}
	orphan, live := create(dead.Process.Pid), create(os.Getpid())
	removed, err := RemoveLeftovers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !gone(ctx, t, dc, orphan) || len(removed) != 1 || !strings.Contains(removed[0], orphan[:12]) {
		t.Errorf("removed %v; the container of the dead purista %s is there: %v", removed, orphan[:12], !gone(ctx, t, dc, orphan))
	}
	if gone(ctx, t, dc, live) {
		t.Error("the container of a running purista was removed")
	}
}
