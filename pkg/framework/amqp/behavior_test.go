package amqp_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

func cmdTo(from, to wire.Address, input string) *wire.Message {
	return &wire.Message{ID: wire.NewID(), Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON,
		ContentEncoding: wire.EncodingUTF8, MessageType: wire.TypeCommand, Sender: from, Receiver: &to,
		CorrelationID: wire.NewID(), Payload: json.RawMessage(`{"payload":` + input + `,"parameter":{}}`)}
}

func echoHandler(_ context.Context, cmd *wire.Message) *wire.Message {
	var p wire.CommandPayload
	_ = json.Unmarshal(cmd.Payload, &p)
	return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: p.Payload}
}

// TestLocalShortCircuit proves that a same-instance call sends no command to the broker
// (its response is copied to the exchange for subscriptions, see WithResponseCopies), and
// that with local delivery off the same call goes over the broker (its command through
// the exchange).
func TestLocalShortCircuit(t *testing.T) {
	u := brokerURL(t)
	id := wire.NewID()[:10]
	svc := wire.Address{ServiceName: "Local" + id, ServiceVersion: "1", ServiceTarget: "echo"}
	from := wire.Address{ServiceName: "Caller" + id, ServiceVersion: "1", ServiceTarget: "run"}
	sniff := sniffer(t, amqp091.Table{}) // everything published to the exchange
	b := startBridge(t, u)
	if _, err := b.RegisterCommand(context.Background(), svc, echoHandler, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}
	ours := func(d amqp091.Delivery) bool {
		return strings.Contains(string(d.Body), id) && d.Type == string(wire.TypeCommand)
	}
	for i := range 5 {
		if r, err := b.Invoke(context.Background(), cmdTo(from, svc, fmt.Sprint(i)), 5*time.Second); err != nil || string(r.Payload) != fmt.Sprint(i) {
			t.Fatalf("local invoke: %v %v", r, err)
		}
	}
	// A marker event published by the same bridge after the calls: anything the calls had
	// sent to the exchange would reach the sniffer's queue before it.
	marker := markerEvent(from, "localMarker"+id)
	if err := b.Emit(context.Background(), marker); err != nil {
		t.Fatal(err)
	}
	for _, d := range beforeMarker(t, sniff, "the marker event", func(d amqp091.Delivery) bool { return d.MessageId == marker.ID }) {
		if ours(d) {
			t.Fatalf("a local call's command reached the broker: %s", d.Body)
		}
	}

	b.SetLocalDelivery(false)
	if r, err := b.Invoke(context.Background(), cmdTo(from, svc, `"remote"`), 5*time.Second); err != nil || string(r.Payload) != `"remote"` {
		t.Fatalf("broker invoke: %v %v", r, err)
	}
	// The command passes the exchange; its reply goes straight to the reply queue.
	timeout := time.After(30 * time.Second)
	for seen := false; !seen; {
		select {
		case d := <-sniff:
			seen = ours(d) && d.Type == string(wire.TypeCommand)
		case <-timeout:
			t.Fatal("with local delivery off the command never passed the exchange")
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const helperEnv = "PURISTA_AMQP_HELPER_ID"

// TestTwoProcesses runs one service per OS process: this process serves Parent.hello and
// calls Child.ping in a re-executed test binary, whose ping handler calls Parent.hello back
// across the broker.
func TestTwoProcesses(t *testing.T) {
	u := brokerURL(t)
	id := wire.NewID()[:10]
	parent := wire.Address{ServiceName: "Parent" + id, ServiceVersion: "1", ServiceTarget: "hello"}
	child := wire.Address{ServiceName: "Child" + id, ServiceVersion: "1", ServiceTarget: "ping"}
	b := startBridge(t, u)
	if _, err := b.RegisterCommand(context.Background(), parent, func(_ context.Context, cmd *wire.Message) *wire.Message {
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: json.RawMessage(fmt.Sprintf(`"hello from %d"`, os.Getpid()))}
	}, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+id, "PURISTA_TEST_AMQP_URL="+u)
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
	exited := make(chan error, 1)
	go func() {
		_, _ = io.Copy(io.Discard, stdout) // keep reading after READY
	}()
	t.Cleanup(func() {
		_ = stdin.Close() // the helper exits when its stdin closes
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	// Readiness: poll the child's command until it answers (no fixed sleep).
	go func() { exited <- cmd.Wait() }()
	from := wire.Address{ServiceName: "Parent" + id, ServiceVersion: "1", ServiceTarget: "run"}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := b.Invoke(context.Background(), cmdTo(from, child, `"ping"`), 10*time.Second)
		if err == nil {
			var s string
			_ = json.Unmarshal(r.Payload, &s)
			if r.MessageType != wire.TypeCommandSuccessResponse || !strings.HasPrefix(s, fmt.Sprintf("child %d got: hello from %d", cmd.Process.Pid, os.Getpid())) {
				t.Fatalf("cross-process answer %s %s", r.MessageType, r.Payload)
			}
			if r.Sender.InstanceID == b.InstanceID() {
				t.Fatal("answered by this process's bridge")
			}
			return
		}
		if !errors.Is(err, bridge.ErrNoHandler) || time.Now().After(deadline) {
			t.Fatalf("invoke the child process: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHelperProcess is the child of TestTwoProcesses; it does nothing in a normal run.
func TestHelperProcess(t *testing.T) {
	id := os.Getenv(helperEnv)
	if id == "" {
		t.Skip("helper process for TestTwoProcesses")
	}
	b := startBridge(t, brokerURL(t))
	parent := wire.Address{ServiceName: "Parent" + id, ServiceVersion: "1", ServiceTarget: "hello"}
	child := wire.Address{ServiceName: "Child" + id, ServiceVersion: "1", ServiceTarget: "ping"}
	if _, err := b.RegisterCommand(context.Background(), child, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		r, err := b.Invoke(ctx, cmdTo(child, parent, `"hi"`), 10*time.Second)
		if err != nil {
			return nil
		}
		var s string
		_ = json.Unmarshal(r.Payload, &s)
		out, _ := json.Marshal(fmt.Sprintf("child %d got: %s", os.Getpid(), s))
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: out}
	}, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}
	fmt.Println("READY")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
}
