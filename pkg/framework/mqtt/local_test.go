package mqtt_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/wire"
)

// TestLocalShortCircuit proves that a call to a handler on the same bridge sends nothing
// to the broker (a sniffer sees nothing), and that switching local delivery off sends it
// over the broker.
func TestLocalShortCircuit(t *testing.T) {
	addr := brokerAddr(t)
	b := start(t, addr)
	callee := uniqAddr("Local", "doIt")
	caller := uniqAddr("Caller", "run")
	register(t, b, callee, echo)
	sniff := dialRaw(t, addr)
	sniff.sub(t, wire.MQTTPattern(wire.Tokens{ReceiverServiceName: callee.ServiceName}))
	sniff.sub(t, wire.MQTTResponseFilter(b.InstanceID()))
	sniff.sub(t, wire.MQTTPattern(wire.Tokens{SenderServiceName: caller.ServiceName}))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 10 {
		resp, err := b.Invoke(ctx, command(t, caller, callee, i), 5*time.Second)
		if err != nil || resp.MessageType != wire.TypeCommandSuccessResponse {
			t.Fatalf("local Invoke: %v %v", resp, err)
		}
	}
	// Prove the sniffer works before trusting its silence: a control message must arrive.
	ctrl := event(caller, "control"+wire.NewID()[:6], 1)
	if err := b.Emit(ctx, ctrl); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the control event at the sniffer", func() bool { return len(sniff.received()) > 0 })
	for _, p := range sniff.received() {
		if p.Properties.User.Get(wire.HeaderMessageType) != string(wire.TypeCustomMessage) {
			t.Errorf("a local call reached the broker: %s", p.Topic)
		}
	}
	before := len(sniff.received())

	b.SetLocalDelivery(false)
	resp, err := b.Invoke(ctx, command(t, caller, callee, "remote"), 5*time.Second)
	if err != nil || resp.MessageType != wire.TypeCommandSuccessResponse {
		t.Fatalf("remote Invoke: %v %v", resp, err)
	}
	waitFor(t, 5*time.Second, "command and response on the broker", func() bool {
		kinds := map[string]bool{}
		for _, p := range sniff.received()[before:] {
			kinds[topicType(p.Topic)] = true // responses carry no messageType property
		}
		return kinds["command"] && kinds["command_success_response"]
	})
}

// lockedBuffer is a log sink safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
