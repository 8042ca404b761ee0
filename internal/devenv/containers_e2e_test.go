package devenv

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/purista-go/purista/internal/devenv/brokers"
	"github.com/purista-go/purista/internal/runtime"
	"github.com/purista-go/purista/internal/testutil/dockertest"
)

// TestDevBrokerContainerE2E runs the real `purista dev --distributed --no-tui` on
// examples/signup with the broker in a container of the local NATS image: progress lines
// show and testcontainers' banner does not, a sign-up crosses processes; after kill -9
// the container is left, the next run removes it (and says so), and SIGTERM of that run
// removes its own container.
func TestDevBrokerContainerE2E(t *testing.T) {
	dc, ctx := dockertest.E2E(t, "builds purista and examples/signup, runs containers", 5*time.Minute, dockertest.ImageNATS)
	bin := buildPurista(t)
	root := filepath.Join(repoRoot(t), "examples", "signup")
	containerOf := func(pid int) []string {
		list, err := dc.ContainerList(ctx, client.ContainerListOptions{All: true,
			Filters: make(client.Filters).Add("label", brokers.LabelPID+"="+strconv.Itoa(pid))})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range list.Items {
			ids = append(ids, c.ID)
			t.Cleanup(func() {
				_, _ = dc.ContainerRemove(context.Background(), c.ID, client.ContainerRemoveOptions{Force: true})
			})
		}
		return ids
	}
	signUp := func(d *devRun) {
		t.Helper()
		for ctx.Err() == nil {
			if addr := d.httpAddr("User"); addr != "" && d.httpAddr("Email") != "" {
				out, err := runtime.InvokeHTTP(ctx, addr, "User", "1", "signUp", json.RawMessage(`{"email":"kill@example.com","name":"K"}`))
				if err == nil && strings.Contains(string(out), "kill@example.com") {
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("signUp never answered; output:\n%s", d.out.String())
	}

	first := startDev(t, bin, root, "--distributed", "--broker-image", dockertest.ImageNATS)
	first.out.wait(t, 0, "purista dev: starting "+dockertest.ImageNATS+" in a container", 2*time.Minute)
	first.out.wait(t, 0, dockertest.ImageNATS+" is ready in", 2*time.Minute)
	signUp(first)
	if strings.Contains(first.out.String(), "Connected to docker") {
		t.Errorf("testcontainers' banner reached the terminal:\n%s", first.out.String())
	}
	left := containerOf(first.cmd.Process.Pid)
	if len(left) != 1 {
		t.Fatalf("containers of the first run: %v, want one", left)
	}
	if err := syscall.Kill(first.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.done
	if _, err := dc.ContainerInspect(ctx, left[0], client.ContainerInspectOptions{}); err != nil {
		t.Fatalf("after kill -9 the container is gone already (%v): then the next run has nothing to clean", err)
	}

	second := startDev(t, bin, root, "--distributed", "--broker-image", dockertest.ImageNATS)
	second.out.wait(t, 0, "removed 1 broker container(s) left by a purista that was killed: "+dockertest.ImageNATS+" "+left[0][:12], 2*time.Minute)
	if _, err := dc.ContainerInspect(ctx, left[0], client.ContainerInspectOptions{}); err == nil {
		t.Errorf("the container %s of the killed run is still there", left[0][:12])
	}
	signUp(second)
	own := containerOf(second.cmd.Process.Pid)
	if len(own) != 1 {
		t.Fatalf("containers of the second run: %v, want one", own)
	}
	second.stop(t)
	if _, err := dc.ContainerInspect(ctx, own[0], client.ContainerInspectOptions{}); err == nil {
		t.Errorf("the container %s is still there after purista dev stopped", own[0][:12])
	}
}
