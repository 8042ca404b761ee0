package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/internal/echotest"
)

// The services of the runner's tests (package echotest): Echo answers as its input's
// mode says, Relay calls Echo.
type (
	echoIn    = echotest.In
	echoOut   = echotest.Out
	logBuffer = echotest.LogBuffer
)

var (
	relay        = echotest.Relay
	echoService  = echotest.EchoService
	relayService = echotest.RelayService
)

// runMain runs services as a main function would, returning the exit code.
func runMain(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, services ...*framework.Service) int {
	return New(services...).Run(ctx, args, getenv, stderr)
}

// waitReady polls probe until it returns nil. It fails the test with what, probe's last
// error and logs when 30 seconds pass first, or with the exit code when the application
// running in the background exits first (its code arrives on done and is put back).
func waitReady(t *testing.T, what string, done chan int, logs *logBuffer, probe func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := probe()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v\n%s", what, err, logs.String())
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case code := <-done:
			done <- code
			t.Fatalf("exited with %d:\n%s", code, logs.String())
		}
	}
}

// readyz returns a waitReady probe that succeeds once GET /readyz on addr answers 200.
func readyz(addr string) func() error {
	return func() error {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz answered %s", resp.Status)
		}
		return nil
	}
}
