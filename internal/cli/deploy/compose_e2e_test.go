package deploy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/purista-go/purista/internal/testutil/dockertest"
)

// Labels Compose (v1 and v2) puts on what it creates.
const (
	composeProjectLabel = "com.docker.compose.project"
	composeServiceLabel = "com.docker.compose.service"
)

// composeCommand returns the Compose command line of this machine: the docker compose
// plugin, else Debian's docker-compose. Without either the test skips (fails with
// PURISTA_REQUIRE_DOCKER=1).
func composeCommand(t *testing.T) []string {
	t.Helper()
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}
	}
	msg := "neither `docker compose` nor `docker-compose` is installed (scripts/docker.sh up installs Debian's docker-compose)"
	if dockertest.Required() {
		t.Fatal(msg + " (" + dockertest.RequireEnv + "=1)")
	}
	t.Skip(msg)
	return nil
}

// TestComposeUp runs the Compose file of the sign-up example's microservices profile
// for real: `purista build --load` makes the two service images, `purista deploy
// manifests` the file (with the local NATS image of scripts/docker.sh), Compose starts
// NATS and the two services; a sign-up through the published HTTP port crosses both
// containers over NATS; SIGTERM stops the services with exit code 0; `down` leaves no
// container and no network of the Compose project.
func TestComposeUp(t *testing.T) {
	dc, ctx := dockertest.E2E(t, "builds images and starts containers; not with -short", 8*time.Minute, dockertest.ImageNATS)
	compose := composeCommand(t)

	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(b[:])
	project := "purista-e2e-" + id
	repo := "purista-e2e-" + id + "/signup"

	// The images, as a user makes them.
	signup, err := filepath.Abs(filepath.Join("..", "..", "..", "examples", "signup"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, out, errOut := purista(t, "build", signup, "--load", "--services", "each", "--profile", "microservices", "--tag", repo+":e2e",
		"--openapi", "off") // not into the repository's examples/signup/dist, which TestPushCommand watches
	t.Cleanup(func() {
		for _, svc := range []string{"user", "email"} {
			_, _ = dc.ImageRemove(context.Background(), repo+"-"+svc+":e2e", client.ImageRemoveOptions{Force: true, PruneChildren: true})
		}
	})
	if code != 0 {
		t.Fatalf("purista build --load: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("purista build --load --services each: %s", time.Since(start).Round(100*time.Millisecond))

	// The manifests, for the microservices profile serving HTTP on a port Docker picks.
	dir := t.TempDir()
	manifest, err := os.ReadFile(filepath.Join(signup, "purista.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	withHTTP := strings.Replace(string(manifest), "    split: true\n", "    split: true\n    http: 127.0.0.1:0\n", 1)
	if withHTTP == string(manifest) {
		t.Fatal("examples/signup/purista.yaml has no split profile to add http to")
	}
	if err := os.WriteFile(filepath.Join(dir, "purista.yaml"), []byte(withHTTP), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = purista(t, "deploy", "manifests", dir, "--profile", "microservices", "--tag", repo+":e2e",
		"--broker-image", dockertest.ImageNATS, "-o", filepath.Join(dir, "out"))
	if code != 0 {
		t.Fatalf("purista deploy manifests: exit %d\n%s%s", code, out, errOut)
	}
	file := filepath.Join(dir, "out", "compose.yaml")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, compose[0], append(append(compose[1:], "-p", project, "-f", file), args...)...)
		got, err := cmd.CombinedOutput()
		if err != nil {
			logs, _ := exec.Command(compose[0], append(append(compose[1:], "-p", project, "-f", file), "logs", "--no-color")...).CombinedOutput()
			t.Fatalf("%s %s: %v\n%s\nlogs:\n%s", strings.Join(compose, " "), strings.Join(args, " "), err, got, logs)
		}
		return string(got)
	}
	t.Cleanup(func() { // after a failure; a no-op after the test's own down
		_ = exec.Command(compose[0], append(append(compose[1:], "-p", project, "-f", file), "down", "--remove-orphans", "-t", "5")...).Run()
	})

	start = time.Now()
	run("up", "-d")
	t.Logf("%s up -d (NATS healthy, then the services): %s", strings.Join(compose, " "), time.Since(start).Round(100*time.Millisecond))

	containers := map[string]string{} // Compose service → container ID
	list, err := dc.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", composeProjectLabel+"="+project)})
	if err != nil {
		t.Fatal(err)
	}
	var userPort uint16
	for _, c := range list.Items {
		svc := c.Labels[composeServiceLabel]
		containers[svc] = c.ID
		for _, p := range c.Ports {
			if svc == "user" && p.PrivatePort == 8080 && p.PublicPort != 0 {
				userPort = p.PublicPort
				if !p.IP.IsLoopback() {
					t.Errorf("user's HTTP port is published on %s, want 127.0.0.1 (the profile's host)", p.IP)
				}
			}
		}
	}
	if len(containers) != 3 || containers["nats"] == "" || containers["user"] == "" || containers["email"] == "" || userPort == 0 {
		t.Fatalf("containers %v, user HTTP port %d: want nats, user and email, and user's port 8080 published", containers, userPort)
	}

	// Ready: each service's /readyz (bridge connected), at its address on the Compose network.
	start = time.Now()
	for _, svc := range []string{"user", "email"} {
		in, err := dc.ContainerInspect(ctx, containers[svc], client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c := in.Container
		if c.Config.User != "65532:65532" || !c.HostConfig.ReadonlyRootfs {
			t.Errorf("%s runs as %q, read-only root %v: want 65532:65532 and a read-only root file system", svc, c.Config.User, c.HostConfig.ReadonlyRootfs)
		}
		var ip string
		for _, n := range c.NetworkSettings.Networks {
			ip = n.IPAddress.String()
		}
		waitFor(ctx, t, svc+" /readyz", func() (bool, string) {
			status, body := get("http://" + ip + ":8081/readyz")
			return status == http.StatusOK, body
		})
	}
	t.Logf("both services ready after up: %s", time.Since(start).Round(100*time.Millisecond))

	// A command through the published HTTP port: User.signUp calls Email.sendWelcome over
	// NATS, and Email's subscription receives the signedUp event.
	body := `{"email":"alice@example.com","name":"Alice"}`
	resp, err := http.Post("http://127.0.0.1:"+strconv.Itoa(int(userPort))+"/users", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var signedUp struct{ ID, Email string }
	err = json.NewDecoder(resp.Body).Decode(&signedUp)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated || signedUp.ID == "" || signedUp.Email != "alice@example.com" {
		t.Fatalf("POST /users: %d %+v (%v), want 201 with an id", resp.StatusCode, signedUp, err)
	}
	waitFor(ctx, t, "Email's log of the signedUp event", func() (bool, string) {
		logs := run("logs", "--no-color", "email")
		return strings.Contains(logs, "welcome e-mail sent") && strings.Contains(logs, "new user signed up") && strings.Contains(logs, signedUp.ID), logs
	})

	// SIGTERM: both services end their graceful stop with exit code 0.
	start = time.Now()
	run("stop", "-t", "25")
	for _, svc := range []string{"user", "email"} {
		in, err := dc.ContainerInspect(ctx, containers[svc], client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if st := in.Container.State; st.Running || st.ExitCode != 0 {
			t.Errorf("%s after stop: running %v, exit code %d; want exited with 0", svc, st.Running, st.ExitCode)
		}
	}
	t.Logf("stop (SIGTERM): %s", time.Since(start).Round(100*time.Millisecond))

	start = time.Now()
	run("down", "--remove-orphans")
	t.Logf("down: %s", time.Since(start).Round(100*time.Millisecond))
	filter := make(client.Filters).Add("label", composeProjectLabel+"="+project)
	left, err := dc.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filter})
	if err != nil {
		t.Fatal(err)
	}
	nets, err := dc.NetworkList(ctx, client.NetworkListOptions{Filters: filter})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Items) != 0 || len(nets.Items) != 0 {
		t.Errorf("after down: %d containers and %d networks of project %s are left", len(left.Items), len(nets.Items), project)
	}
}

// get returns the status and body of a GET, or 0 and the error.
func get(url string) (int, string) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// waitFor polls cond until it holds, failing t with cond's last word when ctx ends
// first.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, last := cond()
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not reached before the test's deadline; last: %s", what, last)
		case <-tick.C:
		}
	}
}
