package telemetry_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/internal/echotest"
)

// child is a process running this test binary as an application (see TestMain).
type child struct {
	name string // its OTEL_SERVICE_NAME
	cmd  *exec.Cmd
	out  *echotest.LogBuffer // its stdout and stderr
	done chan struct{}       // closed when it has exited
}

// startChild starts this test binary as an application with args (purista's flags),
// exporting its spans to the collector at endpoint as service name, and the suffix sfx
// of the run's names. Health listens on a port of the system's choosing. The process
// is stopped when the test ends, and its output is logged when the test failed.
func startChild(t *testing.T, sfx, endpoint, name string, args ...string) *child {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() { // the machine's settings must not change the outcome
		if !strings.HasPrefix(kv, "OTEL_") && !strings.HasPrefix(kv, "PURISTA_") {
			env = append(env, kv)
		}
	}
	env = append(env, chainEnv+"="+sfx, "OTEL_EXPORTER_OTLP_ENDPOINT="+endpoint, "OTEL_SERVICE_NAME="+name,
		"OTEL_BSP_SCHEDULE_DELAY=50") // ms: spans reach the collector while the process runs
	c := &child{name: name, out: &echotest.LogBuffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], append([]string{"--health-addr=127.0.0.1:0", "--log-format=json"}, args...)...)
	c.cmd.Env, c.cmd.Stdout, c.cmd.Stderr = env, c.out, c.out
	must(t, c.cmd.Start())
	go func() { // ends when the process exits, which the cleanup below ensures
		_ = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = c.cmd.Process.Signal(syscall.SIGTERM) // a graceful stop lets the bridge clean up
		select {
		case <-c.done:
		case <-time.After(20 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
		if t.Failed() {
			t.Logf("output of %s (pid %d):\n%s", name, c.cmd.Process.Pid, c.out.String())
		}
	})
	return c
}

// addr returns the address the child's endpoint what ("health", "http") listens on, as
// its log says, or "" before it says so.
func (c *child) addr(what string) string {
	sc := bufio.NewScanner(strings.NewReader(c.out.String()))
	for sc.Scan() {
		var line struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == what+" endpoint listening" {
			return line.Addr
		}
	}
	return ""
}

// waitReady waits until the child's /readyz answers 200.
func (c *child) waitReady(t *testing.T) {
	t.Helper()
	waitFor(t, time.Minute, c.name+" to be ready", func() (string, bool) {
		addr := c.addr("health")
		if addr == "" {
			return "no health endpoint yet", false
		}
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return err.Error(), false
		}
		_ = resp.Body.Close()
		return "/readyz " + resp.Status, resp.StatusCode == http.StatusOK
	}, c)
}

// waitFor polls cond until it holds, failing the test when timeout passes first (with
// cond's last word on what is missing) or when one of children exits.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (string, bool), children ...*child) {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		state, ok := cond()
		if ok {
			return
		}
		for _, c := range children {
			select {
			case <-c.done:
				t.Fatalf("waiting for %s: %s exited: %v", what, c.name, c.cmd.ProcessState)
			default:
			}
		}
		select {
		case <-deadline:
			t.Fatalf("waiting for %s: gave up after %v: %s", what, timeout, state)
		case <-tick.C:
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func keysOf[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
