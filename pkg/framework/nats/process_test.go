package nats_test

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

	"github.com/purista-go/purista/pkg/framework/bridge"
	pnats "github.com/purista-go/purista/pkg/framework/nats"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// Environment of the helper process of TestTwoProcesses.
const (
	envRole  = "PURISTA_NATS_TEST_ROLE"
	envUser  = "PURISTA_NATS_TEST_USER"
	envEmail = "PURISTA_NATS_TEST_EMAIL"
)

// TestTwoProcesses runs the User service here and the Email service in a second OS
// process (this test binary re-executed); each calls the other across the broker:
// User → Email.sendWelcome, whose handler calls back User.getName.
func TestTwoProcesses(t *testing.T) {
	if os.Getenv(envRole) == "email" {
		runEmailProcess(t)
		return
	}
	u := needBroker(t)
	user, email := uniq("User"), uniq("Email")
	b := startBridge(t, u)
	if _, err := b.RegisterCommand(context.Background(), addr(user, "getName"), func(_ context.Context, cmd *wire.Message) *wire.Message {
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: json.RawMessage(`"Alice"`)}
	}, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestTwoProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), envRole+"=email", envUser+"="+user, envEmail+"="+email, "PURISTA_TEST_NATS_URL="+u)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close() // the helper exits when its stdin closes
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("helper process: %v", err)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("helper process did not exit")
		}
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "READY" {
				close(ready)
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("helper process not ready")
	}
	resp, err := b.Invoke(context.Background(), command(addr(user, "signUp"), addr(email, "sendWelcome"), "alice@example.com"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if resp.MessageType != wire.TypeCommandSuccessResponse || string(resp.Payload) != `"welcome Alice (alice@example.com)"` {
		t.Fatalf("response %s %s", resp.MessageType, resp.Payload)
	}
	if resp.Sender.InstanceID == b.InstanceID() {
		t.Fatal("answered by this process")
	}
}

// runEmailProcess is the helper role: the Email service, calling back User.getName.
func runEmailProcess(t *testing.T) {
	user, email := os.Getenv(envUser), os.Getenv(envEmail)
	b, err := pnats.New(brokerURL())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close(context.Background()) }()
	_, err = b.RegisterCommand(ctx, addr(email, "sendWelcome"), func(hctx context.Context, cmd *wire.Message) *wire.Message {
		var in wire.CommandPayload
		_ = json.Unmarshal(cmd.Payload, &in)
		var to string
		_ = json.Unmarshal(in.Payload, &to)
		r, err := b.Invoke(hctx, command(addr(email, "sendWelcome"), addr(user, "getName"), nil), 5*time.Second)
		if err != nil {
			return nil
		}
		var name string
		_ = json.Unmarshal(r.Payload, &name)
		out, _ := json.Marshal(fmt.Sprintf("welcome %s (%s)", name, to))
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: out}
	}, bridge.CommandOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("READY")
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
}
