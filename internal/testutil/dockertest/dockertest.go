// Package dockertest gives tests a Docker daemon and the local test images that
// scripts/docker.sh builds, or skips them with the reason.
//
// PURISTA_REQUIRE_DOCKER=1 (set by .ci/run) turns every such skip into a failure. No
// registry is ever asked: a missing image is a skip (or a failure), never a pull.
package dockertest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// The local test images of scripts/docker.sh (`scripts/docker.sh images` builds them).
const (
	ImageNATS      = "purista-test/nats:local"      // nats-server; ENTRYPOINT /nats-server, CMD -js
	ImageMosquitto = "purista-test/mosquitto:local" // mosquitto 2 listening on 1883, anonymous
	ImageRabbitMQ  = "purista-test/rabbitmq:local"  // rabbitmq-server of Debian, guest/guest
)

// Labels put on what tests create, so that `scripts/docker.sh clean ID` (and .ci/run)
// removes what a killed test left.
const (
	LabelTest    = "dev.purista.test"         // the test's name
	LabelSession = "dev.purista.test.session" // TESTCONTAINERS_SESSION_ID, when set
)

// RequireEnv is the environment variable that turns a skip for lack of Docker or of an
// image into a failure.
const RequireEnv = "PURISTA_REQUIRE_DOCKER"

// RequireDocker returns a client of the Docker daemon at DOCKER_HOST (or the default
// socket), closed when t ends. Without a daemon that answers within 10 s it skips t, or
// fails it when PURISTA_REQUIRE_DOCKER=1. For t it sets TESTCONTAINERS_RYUK_DISABLED=true
// (the reaper's image cannot be pulled; tests terminate what they start) and, unless set,
// TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 so that testcontainers dials mapped ports on
// loopback even where /.dockerenv exists. It uses t.Setenv: not for parallel tests.
func RequireDocker(t testing.TB) *client.Client {
	t.Helper()
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" {
		t.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	}
	c, err := client.New(client.FromEnv)
	if err != nil {
		skipOrFail(t, "no Docker client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		skipOrFail(t, "no Docker daemon answers at %s (start one: scripts/docker.sh up): %v", c.DaemonHost(), err)
	}
	return c
}

// RequireImage skips t, or fails it when PURISTA_REQUIRE_DOCKER=1, when the daemon does
// not have image; it never pulls.
func RequireImage(t testing.TB, c *client.Client, image string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.ImageInspect(ctx, image); err != nil {
		skipOrFail(t, "image %s is not in the Docker daemon (build it: scripts/docker.sh images): %v", image, err)
	}
}

// E2E opens an end-to-end test that runs containers: it skips t under -short with why
// (what the test does that the fast tier leaves out), then requires the daemon
// (RequireDocker) and each of images (RequireImage), and returns the daemon's client and
// a context that ends after timeout or when t ends.
func E2E(t testing.TB, why string, timeout time.Duration, images ...string) (*client.Client, context.Context) {
	t.Helper()
	if testing.Short() {
		t.Skip(why)
	}
	c := RequireDocker(t)
	for _, img := range images {
		RequireImage(t, c, img)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return c, ctx
}

// Labels returns the labels for a container, network or image that t creates:
// LabelTest with t's name and, when TESTCONTAINERS_SESSION_ID is set, LabelSession.
func Labels(t testing.TB) map[string]string {
	l := map[string]string{LabelTest: t.Name()}
	if s := os.Getenv("TESTCONTAINERS_SESSION_ID"); s != "" {
		l[LabelSession] = s
	}
	return l
}

// Required reports whether PURISTA_REQUIRE_DOCKER=1 is set.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf(format+" ("+RequireEnv+"=1)", args...)
	}
	t.Skipf(format, args...)
}
