package amqp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/pkg/framework/amqp"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// outcome is what one Invoke returned.
type outcome struct {
	resp *wire.Message
	err  error
}

// blockedCalls registers a command on server whose handler blocks until release is
// closed (odd inputs) or its ctx ends (even inputs, then it reports context.Cause on
// causes), invokes it from caller once per input with a long timeout, waits until every
// handler runs, and returns the command's address and the outcomes (one per call).
func blockedCalls(t *testing.T, caller, server *amqp.Bridge, inputs []int, release <-chan struct{}, causes chan<- error) (wire.Address, <-chan outcome) {
	t.Helper()
	id := wire.NewID()[:10]
	svc := wire.Address{ServiceName: "Stop" + id, ServiceVersion: "1", ServiceTarget: "block"}
	from := wire.Address{ServiceName: "StopCaller" + id, ServiceVersion: "1", ServiceTarget: "run"}
	started := make(chan struct{}, len(inputs))
	if _, err := server.RegisterCommand(context.Background(), svc, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		started <- struct{}{}
		var in struct{ Payload int }
		_ = json.Unmarshal(cmd.Payload, &in)
		if in.Payload%2 == 1 {
			<-release // ignores ctx
		} else {
			<-ctx.Done()
			causes <- context.Cause(ctx)
		}
		return echoHandler(ctx, cmd)
	}, bridge.CommandOptions{Timeout: 5 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	out := make(chan outcome, len(inputs))
	for _, in := range inputs {
		go func() {
			resp, err := caller.Invoke(context.Background(), cmdTo(from, svc, fmt.Sprint(in)), time.Minute)
			out <- outcome{resp, err}
		}()
	}
	deadline := time.After(30 * time.Second)
	for range inputs {
		select {
		case <-started:
		case <-deadline:
			t.Fatal("the handlers never all started")
		}
	}
	return svc, out
}

// TestForcedStopAnswers503 closes a bridge whose handlers outlive Close's ctx: every
// caller gets an unhandled 503 (not a timeout, not a 500), sent before the connection
// closed, and the handlers that wait on their ctx see a cause wrapping bridge.ErrClosed.
func TestForcedStopAnswers503(t *testing.T) {
	u := brokerURL(t)
	caller := startBridge(t, u)
	server := startBridge(t, u)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the bridges' clean-up Close
	const n = 50
	inputs := make([]int, n)
	for i := range inputs {
		inputs[i] = i
	}
	causes := make(chan error, n)
	_, out := blockedCalls(t, caller, server, inputs, release, causes)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := server.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close past its deadline = %v, want context.DeadlineExceeded", err)
	}
	for range n {
		o := <-out // each Invoke ends by its minute-long timeout at the latest
		if o.err != nil || errorStatus(o.resp) != http.StatusServiceUnavailable || *o.resp.IsHandledError {
			t.Errorf("caller got %+v, %v; want an unhandled 503", o.resp, o.err)
		}
	}
	for range n / 2 {
		if cause := <-causes; !errors.Is(cause, bridge.ErrClosed) {
			t.Errorf("handler context cause %v, want one wrapping bridge.ErrClosed", cause)
		}
	}
}

// TestDrainRefusesCommands: a command delivered while the bridge drains (Close waits
// for a handler) is answered at once with an unhandled 503; the handler in flight still
// finishes, its caller gets its answer, and then Close returns.
func TestDrainRefusesCommands(t *testing.T) {
	u := brokerURL(t)
	caller := startBridge(t, u)
	server := startBridge(t, u)
	release := make(chan struct{})
	svc, out := blockedCalls(t, caller, server, []int{1}, release, nil)

	closed := make(chan error, 1)
	go func() { closed <- server.Close(context.Background()) }()
	waitFor(t, 10*time.Second, "the bridge to drain", func() bool {
		return errors.Is(server.Healthy(context.Background()), bridge.ErrClosed)
	})
	ch, err := rawConn(t).Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, replies := tsReplyQueue(t, ch)
	late := cmdTo(wire.Address{ServiceName: "Late", ServiceVersion: "1", ServiceTarget: "run"}, svc, `2`)
	body, _ := wire.Encode(late)
	if !server.DeliverCommand(svc, amqp091.Delivery{Body: body, ReplyTo: q, CorrelationId: late.CorrelationID}) {
		t.Fatal("no command registration")
	}
	resp := tsAccepts(t, await(t, replies, "the refusal"), late.CorrelationID, "")
	if errorStatus(resp) != http.StatusServiceUnavailable || *resp.IsHandledError {
		t.Errorf("late command answered %s %s, want an unhandled 503", resp.MessageType, resp.Payload)
	}
	close(release)
	if o := <-out; o.err != nil || o.resp.MessageType != wire.TypeCommandSuccessResponse || string(o.resp.Payload) != "1" {
		t.Errorf("the call in flight ended with %+v, %v; want its answer", o.resp, o.err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close = %v", err)
	}
}

// TestBrokerCutFailsPendingInvokes cuts the caller's connection while its invocations
// wait for their answers: each fails with an error wrapping bridge.ErrUnavailable (which
// the framework answers 503), not with its minute-long timeout.
func TestBrokerCutFailsPendingInvokes(t *testing.T) {
	u := brokerURL(t)
	proxy, pu := proxied(t)
	caller := startBridge(t, pu, amqp.WithReconnectBackoff(20*time.Millisecond, 200*time.Millisecond))
	server := startBridge(t, u)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	const n = 20
	inputs := make([]int, n)
	for i := range inputs {
		inputs[i] = 2*i + 1 // the handlers ignore their ctx
	}
	_, out := blockedCalls(t, caller, server, inputs, release, nil)
	proxy.Cut()
	for range n {
		if o := <-out; !errors.Is(o.err, bridge.ErrUnavailable) {
			t.Errorf("pending invoke after the cut ended with %+v, %v; want an error wrapping ErrUnavailable", o.resp, o.err)
		}
	}
	proxy.Restore()
}
