package mqtt_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/wire"
)

const helperRoleEnv = "PURISTA_MQTT_HELPER_ROLE"

// TestTwoProcesses runs two OS processes (this test binary re-executed), one service
// each; each calls the other's command across the broker.
func TestTwoProcesses(t *testing.T) {
	addr := brokerAddr(t)
	sfx := wire.NewID()[:8]
	type child struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
		lines chan string
	}
	spawn := func(role string) *child {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperRoleEnv+"="+role, "PURISTA_MQTT_HELPER_ADDR="+addr, "PURISTA_MQTT_HELPER_SFX="+sfx)
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		c := &child{cmd: cmd, stdin: stdin, lines: make(chan string, 16)}
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				c.lines <- sc.Text()
			}
			close(c.lines)
		}()
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return c
	}
	a, b := spawn("A"), spawn("B")
	for _, c := range []*child{a, b} {
		deadline := time.After(30 * time.Second)
	wait:
		for {
			select {
			case l, ok := <-c.lines:
				if !ok {
					t.Fatalf("helper %v exited before answering", c.cmd.Args)
				}
				if strings.HasPrefix(l, "CALLED ") {
					t.Logf("helper: %s", l)
					break wait
				}
			case <-deadline:
				t.Fatal("a helper process did not reach the other one within 30s")
			}
		}
	}
	for _, c := range []*child{a, b} {
		_ = c.stdin.Close() // tells the helper to shut down
	}
	for _, c := range []*child{a, b} {
		if err := c.cmd.Wait(); err != nil {
			t.Errorf("helper exit: %v", err)
		}
	}
}

// TestHelperProcess is the body of a helper process of TestTwoProcesses; it does nothing
// in a normal test run.
func TestHelperProcess(t *testing.T) {
	role := os.Getenv(helperRoleEnv)
	if role == "" {
		t.Skip("helper process for TestTwoProcesses")
	}
	addr, sfx := os.Getenv("PURISTA_MQTT_HELPER_ADDR"), os.Getenv("PURISTA_MQTT_HELPER_SFX")
	other := map[string]string{"A": "B", "B": "A"}[role]
	b := start(t, addr)
	mine := wire.Address{ServiceName: "Proc" + role + sfx, ServiceVersion: "1", ServiceTarget: "hello"}
	theirs := wire.Address{ServiceName: "Proc" + other + sfx, ServiceVersion: "1", ServiceTarget: "hello"}
	register(t, b, mine, func(_ context.Context, cmd *wire.Message) *wire.Message {
		out, _ := json.Marshal(fmt.Sprintf("hello from %s (pid %d)", role, os.Getpid()))
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: out}
	})
	deadline := time.Now().Add(25 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		resp, err := b.Invoke(ctx, command(t, mine, theirs, role), 2*time.Second)
		cancel()
		if err == nil {
			fmt.Printf("CALLED %s -> %s: %s\n", role, other, resp.Payload)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("calling %s: %v", theirs, err)
		}
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // serve until the parent closes stdin
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
