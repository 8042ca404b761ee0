package dockertest

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// outcomeTB records how a helper ended a test: Skip, Skipf or Fatalf (both stop the goroutine).
type outcomeTB struct {
	testing.TB
	skipped, failed string
}

func (o *outcomeTB) Skipf(format string, args ...any) {
	o.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (o *outcomeTB) Skip(args ...any) {
	o.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}

func (o *outcomeTB) Fatalf(format string, args ...any) {
	o.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (o *outcomeTB) Helper() {}

// run calls f with o on its own goroutine and waits for it to return or stop.
func (o *outcomeTB) run(f func(testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(o)
	}()
	<-done
}

// TestRequireDockerWithoutDaemon: a daemon that does not answer skips the test with how to
// start one, and fails it under PURISTA_REQUIRE_DOCKER=1; the testcontainers settings are
// set for the test.
func TestRequireDockerWithoutDaemon(t *testing.T) {
	tests := []struct {
		name    string
		require string
		want    func(o *outcomeTB) bool
	}{
		{"skips", "", func(o *outcomeTB) bool { return o.skipped != "" && o.failed == "" }},
		{"fails when required", "1", func(o *outcomeTB) bool { return o.failed != "" && o.skipped == "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
			t.Setenv(RequireEnv, tt.require)
			t.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "")
			o := &outcomeTB{TB: t}
			o.run(func(tb testing.TB) { RequireDocker(tb) })
			if !tt.want(o) {
				t.Fatalf("skipped %q, failed %q", o.skipped, o.failed)
			}
			msg := o.skipped + o.failed
			if !strings.Contains(msg, "scripts/docker.sh up") || !strings.Contains(msg, "no-docker.sock") {
				t.Errorf("message %q does not say which daemon and how to start one", msg)
			}
		})
	}
}

// TestE2EWithoutDaemon: E2E skips under -short with the test's reason, and otherwise
// requires the daemon as RequireDocker does.
func TestE2EWithoutDaemon(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	t.Setenv(RequireEnv, "")
	o := &outcomeTB{TB: t}
	o.run(func(tb testing.TB) {
		E2E(tb, "runs containers", time.Minute, ImageNATS)
		t.Error("E2E returned without a daemon")
	})
	want := "no-docker.sock"
	if testing.Short() {
		want = "runs containers"
	}
	if !strings.Contains(o.skipped, want) || o.failed != "" {
		t.Errorf("skipped %q, failed %q; want a skip saying %q", o.skipped, o.failed, want)
	}
}

func TestLabels(t *testing.T) {
	t.Setenv("TESTCONTAINERS_SESSION_ID", "s-1")
	l := Labels(t)
	if l[LabelTest] != t.Name() || l[LabelSession] != "s-1" {
		t.Errorf("labels %v", l)
	}
	t.Setenv("TESTCONTAINERS_SESSION_ID", "")
	if _, ok := Labels(t)[LabelSession]; ok {
		t.Error("a session label without TESTCONTAINERS_SESSION_ID")
	}
}
