package build_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/purista-go/purista/internal/testutil/dockertest"
)

// TestImagesRunInDocker loads the images of examples/signup into the Docker daemon with
// `purista build --load` — one per service (--services each) and one with every service
// — and runs them on a user-defined network with a NATS container, each with a read-only
// root file system: /readyz is ok and names the services the container runs, a sign-up
// over HTTP crosses to the Email service over NATS (a bounced address comes back as the
// Email service's handled error), the event reaches Email, the process runs as 65532,
// and `docker stop` ends every container with exit code 0 within the grace period.
func TestImagesRunInDocker(t *testing.T) {
	dc, ctx := dockertest.E2E(t, "compiles examples/signup and runs containers", 4*time.Minute, dockertest.ImageNATS)
	name := fmt.Sprintf("purista-e2e-%d", time.Now().UnixNano())

	for _, args := range [][]string{{"--services", "each"}, nil} {
		start := time.Now()
		code, stdout, stderr := run(t, append([]string{signupDir(t), "--load", "--tag", name + ":t", "--platform", "linux/amd64", "--openapi", "off"}, args...)...)
		if code != 0 {
			t.Fatalf("purista build --load %v: exit %d\n%s", args, code, stderr)
		}
		t.Logf("purista build --load %v took %s", args, time.Since(start).Round(time.Millisecond))
		for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
			ref := strings.Fields(line)[0]
			t.Cleanup(func() { _, _ = dc.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true}) })
		}
	}

	labels := dockertest.Labels(t)
	nw, err := dc.NetworkCreate(ctx, name, client.NetworkCreateOptions{Driver: "bridge", Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = dc.NetworkRemove(context.Background(), nw.ID, client.NetworkRemoveOptions{}) })
	startContainer(ctx, t, dc, name, labels, &container.Config{Image: dockertest.ImageNATS, Cmd: []string{"-js"}}, "nats", nil)

	tests := []struct {
		name   string
		images map[string][]string // image → the services it runs
	}{
		{"one image per service", map[string][]string{name + "-user:t": {"User"}, name + "-email:t": {"Email"}}},
		{"one image", map[string][]string{name + ":t": {"User", "Email"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var userURL, emailID string
			ids := map[string]string{}
			for img, services := range tt.images {
				cfg := &container.Config{Image: img, Labels: labels,
					Env:          []string{"PURISTA_BRIDGE=nats://nats:4222", "PURISTA_HTTP_ADDR=0.0.0.0:8080", "PURISTA_SHUTDOWN_TIMEOUT=10s"},
					ExposedPorts: network.PortSet{network.MustParsePort("8080/tcp"): {}, network.MustParsePort("8081/tcp"): {}}}
				id, ports := startContainer(ctx, t, dc, name, labels, cfg, "", []string{"8080/tcp", "8081/tcp"})
				ids[img] = id
				ready := waitReady(ctx, t, dc, id, "http://"+ports["8081/tcp"]+"/readyz")
				if ready.Bridge != "nats" || !slices.Equal(ready.Services, versioned(services)) {
					t.Errorf("%s: /readyz says bridge %s, services %v; want nats, %v", img, ready.Bridge, ready.Services, services)
				}
				if slices.Contains(services, "User") {
					userURL = "http://" + ports["8080/tcp"]
				}
				if slices.Contains(services, "Email") {
					emailID = id
				}
				checkUser(ctx, t, dc, id, img)
			}

			email := fmt.Sprintf("docker-%d@example.com", time.Now().UnixNano())
			status, body := postJSON(ctx, t, userURL+"/users", `{"email":"`+email+`","name":"Docker"}`)
			if status != http.StatusCreated || !strings.Contains(body, email) {
				t.Errorf("POST /users = %d %s, want 201 with the user", status, body)
			}
			status, body = postJSON(ctx, t, userURL+"/users", `{"email":"nobody@example.invalid","name":"Bounce"}`)
			if status != http.StatusUnprocessableEntity || !strings.Contains(body, "mailbox does not exist") {
				t.Errorf("POST /users with a bouncing address = %d %s, want 422 from Email.sendWelcome", status, body)
			}
			waitLog(ctx, t, dc, emailID, "welcome e-mail sent", email)
			waitLog(ctx, t, dc, emailID, "new user signed up", email)

			for img, id := range ids {
				grace := 20
				if _, err := dc.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &grace}); err != nil {
					t.Fatal(err)
				}
				st, err := dc.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if s := st.Container.State; s.Running || s.ExitCode != 0 {
					t.Errorf("%s after docker stop: running %v, exit code %d, want 0 (137 means it was killed after the grace period)\n%s",
						img, s.Running, s.ExitCode, logs(ctx, t, dc, id))
				}
			}
		})
	}
}

// startContainer creates and starts a container from cfg on the network name, with
// alias as its network alias (when set), and publishes ports on 127.0.0.1; a container
// with ports (an app) gets a read-only root file system. It returns the container's ID and the host address of each port; the
// container is removed when t ends.
func startContainer(ctx context.Context, t *testing.T, dc *client.Client, name string, labels map[string]string,
	cfg *container.Config, alias string, ports []string) (string, map[string]string) {
	t.Helper()
	cfg.Labels = labels
	host := &container.HostConfig{ReadonlyRootfs: len(ports) > 0, PortBindings: network.PortMap{}, NetworkMode: container.NetworkMode(name)}
	for _, p := range ports {
		host.PortBindings[network.MustParsePort(p)] = []network.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1")}}
	}
	ep := &network.EndpointSettings{}
	if alias != "" {
		ep.Aliases = []string{alias}
	}
	c, err := dc.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: host,
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{name: ep}}})
	if err != nil {
		t.Fatalf("create a container of %s: %v", cfg.Image, err)
	}
	t.Cleanup(func() {
		_, _ = dc.ContainerRemove(context.Background(), c.ID, client.ContainerRemoveOptions{Force: true})
	})
	if _, err := dc.ContainerStart(ctx, c.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("start %s: %v", cfg.Image, err)
	}
	st, err := dc.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	addrs := map[string]string{}
	for _, p := range ports {
		b := st.Container.NetworkSettings.Ports[network.MustParsePort(p)]
		if len(b) == 0 {
			t.Fatalf("%s: port %s is not published", cfg.Image, p)
		}
		addrs[p] = "127.0.0.1:" + b[0].HostPort
	}
	return c.ID, addrs
}

type readiness struct {
	Status   string   `json:"status"`
	Bridge   string   `json:"bridge"`
	Services []string `json:"services"`
}

// versioned returns the services as /readyz names them: Name/v1.
func versioned(services []string) []string {
	out := make([]string, len(services))
	for i, s := range services {
		out[i] = s + "/v1"
	}
	return out
}

// waitReady polls url until it answers 200, the container id stops, or ctx ends.
func waitReady(ctx context.Context, t *testing.T, dc *client.Client, id, url string) readiness {
	t.Helper()
	var last string
	for ctx.Err() == nil {
		if st, err := dc.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err != nil || !st.Container.State.Running {
			t.Fatalf("the container stopped before %s answered (%v):\n%s", url, err, logs(context.Background(), t, dc, id))
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
			var r readiness
			if resp.StatusCode == http.StatusOK && json.Unmarshal(b, &r) == nil && r.Status == "ok" {
				return r
			}
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never answered ok (last: %s):\n%s", url, last, logs(context.Background(), t, dc, id))
	return readiness{}
}

func postJSON(ctx context.Context, t *testing.T, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// checkUser checks that the image's user and the container's process are 65532.
func checkUser(ctx context.Context, t *testing.T, dc *client.Client, id, img string) {
	t.Helper()
	st, err := dc.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := st.Container.Config.User; u != "65532:65532" {
		t.Errorf("%s: user %q, want 65532:65532", img, u)
	}
	top, err := dc.ContainerTop(ctx, id, client.ContainerTopOptions{Arguments: []string{"-o", "pid,uid"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(top.Processes) != 1 || len(top.Processes[0]) != 2 || top.Processes[0][1] != "65532" {
		t.Errorf("%s: processes %v (%v), want one of uid 65532", img, top.Processes, top.Titles)
	}
}

// waitLog waits until a line of the container's log holds every one of want.
func waitLog(ctx context.Context, t *testing.T, dc *client.Client, id string, want ...string) {
	t.Helper()
	for ctx.Err() == nil {
		for _, line := range strings.Split(logs(ctx, t, dc, id), "\n") {
			if !slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(line, w) }) {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no log line with %q:\n%s", want, logs(context.Background(), t, dc, id))
}

func logs(ctx context.Context, t *testing.T, dc *client.Client, id string) string {
	t.Helper()
	rc, err := dc.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return "(logs: " + err.Error() + ")"
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		return out.String() + "(logs: " + err.Error() + ")"
	}
	return out.String()
}

// TestBuildRefusesServiceNotInBinary: purista.yaml lists a service Ghost that main.go
// does not run; purista build fails naming it and what to do, and writes no image.
func TestBuildRefusesServiceNotInBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a copy of examples/signup")
	}
	repo, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	for _, p := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(repo, p))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, p), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"pkg", filepath.Join("examples", "signup")} {
		if err := os.CopyFS(filepath.Join(dst, p), os.DirFS(filepath.Join(repo, p))); err != nil {
			t.Fatal(err)
		}
	}
	project := filepath.Join(dst, "examples", "signup")
	manifest := filepath.Join(project, "purista.yaml")
	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	ghost := strings.Replace(string(b), "profiles:", "  - name: Ghost\n    version: \"1\"\n    path: services/ghost/v1\nprofiles:", 1)
	if err := os.WriteFile(manifest, []byte(ghost), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"every service", nil, []string{"purista.yaml is missing from the binary: Ghost is listed", "./cmd/signup does not run it", `unknown service "Ghost"`, "app.New"}},
		{"one per service", []string{"--services", "each"}, []string{"Ghost is listed"}},
		{"the missing one", []string{"--services", "Ghost,User"}, []string{"Ghost is listed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "image")
			code, stdout, stderr := run(t, append([]string{project, "--output", out, "--platform", "linux/amd64"}, tt.args...)...)
			if code != 1 || stdout != "" {
				t.Errorf("exit %d, stdout %q; want exit 1 and nothing", code, stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("an image was written to %s: %v", out, err)
			}
		})
	}
	// Without Ghost in the selection, the image is built.
	code, _, stderr := run(t, project, "--output", filepath.Join(t.TempDir(), "image"), "--platform", "linux/amd64", "--services", "User")
	if code != 0 {
		t.Errorf("--services User: exit %d\n%s", code, stderr)
	}
}
