package mqtt_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/purista-go/purista/internal/testutil/tcpproxy"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/mqtt"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// Callers are told, not left waiting (issue 10, "What must hold" 5): undecodable
// commands, broker cuts, drains and forced stops; and undecodable events are
// dead-lettered.

// errorStatus returns the status of an error response, 0 for anything else.
func errorStatus(t *testing.T, m *wire.Message) int {
	t.Helper()
	if m == nil || m.MessageType != wire.TypeCommandErrorResponse {
		return 0
	}
	var ep wire.ErrorPayload
	if err := json.Unmarshal(m.Payload, &ep); err != nil {
		t.Fatalf("error payload %s: %v", m.Payload, err)
	}
	return ep.Status
}

// TestUndecodableCommandRejected: a command the bridge cannot decode is answered at once
// with a handled 400 on the caller's response topic, with the correlationId from the body
// or else from the correlation data.
func TestUndecodableCommandRejected(t *testing.T) {
	addr := brokerAddr(t)
	b := start(t, addr)
	callee := uniqAddr("RejectCallee", "doIt")
	called := make(chan struct{}, 16)
	register(t, b, callee, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		called <- struct{}{}
		return echo(ctx, cmd)
	})
	caller := wire.Address{ServiceName: "RejectCaller", ServiceVersion: "1", ServiceTarget: "run", InstanceID: wire.NewID()}
	raw := dialRaw(t, addr)
	raw.sub(t, wire.MQTTResponseFilter(caller.InstanceID))
	topic := wire.MQTTTopic(wire.Tokens{MessageType: string(wire.TypeCommand), SenderInstanceID: caller.InstanceID,
		SenderServiceName: caller.ServiceName, SenderServiceVersion: "1", SenderServiceTarget: "run",
		ReceiverServiceName: callee.ServiceName, ReceiverServiceVersion: "1", ReceiverServiceTarget: "doIt"})
	for _, c := range []struct {
		name     string
		body     string
		corrBody bool // the body carries the correlationId
	}{
		{name: "not JSON", body: "\xff\xfe not json"},
		{name: "truncated JSON", body: `{"messageType":"command","id":"x"`},
		{name: "nested too deep", body: strings.Repeat("[", 20000)},
		{name: "unknown messageType", body: `{"messageType":"noSuchType","id":"i1","correlationId":"CORR","sender":{"serviceName":"RejectCaller","serviceVersion":"1","serviceTarget":"run","instanceId":"` + caller.InstanceID + `"}}`, corrBody: true},
		{name: "an event on a command topic", body: `{"messageType":"customMessage","id":"i2","eventName":"x","sender":{"serviceName":"X"}}`},
		{name: "a field of the wrong type", body: `{"messageType":"command","id":7,"correlationId":"CORR","sender":"nobody"}`, corrBody: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			corr := "corr-" + wire.NewID()
			body := strings.ReplaceAll(c.body, "CORR", corr)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			propsCorr := []byte(corr)
			if c.corrBody {
				propsCorr = []byte("not-" + corr) // the body's correlationId wins
			}
			if _, err := raw.Publish(ctx, &paho.Publish{QoS: 1, Topic: topic, Payload: []byte(body),
				Properties: &paho.PublishProperties{CorrelationData: propsCorr}}); err != nil {
				t.Fatal(err)
			}
			var got *paho.Publish
			waitFor(t, 10*time.Second, "the 400 answer", func() bool {
				for _, p := range raw.received() {
					if m, err := wire.Decode(p.Payload); err == nil && m.CorrelationID == corr {
						got = p
						return true
					}
				}
				return false
			})
			m, _ := wire.Decode(got.Payload)
			if errorStatus(t, m) != http.StatusBadRequest || m.IsHandledError == nil || !*m.IsHandledError {
				t.Errorf("answer %s, want a handled 400", got.Payload)
			}
			if string(got.Properties.CorrelationData) != corr || len(got.Properties.User) != 0 {
				t.Errorf("answer properties %+v, want correlation data %s and no user properties", got.Properties, corr)
			}
		})
	}
	select {
	case <-called:
		t.Error("the handler was called with an undecodable command")
	default:
	}
}

// TestUndecodableEventDeadLettered: an event a subscription cannot decode is dead-lettered
// with the reason, and the subscription goes on.
func TestUndecodableEventDeadLettered(t *testing.T) {
	addr := brokerAddr(t)
	b := start(t, addr)
	name := "garbageEvent" + wire.NewID()[:8]
	subscriber := uniqAddr("GarbageSub", "onEvent")
	observed := observeDeadLetters(t, b, subscriber)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got seqs
	subscribeTo(t, b, subscriber, name, got.handle)
	raw := dialRaw(t, addr)
	topic := wire.MQTTTopic(wire.Tokens{MessageType: string(wire.TypeCustomMessage), SenderServiceName: "garbage", EventName: name})
	garbage := []string{
		`{"messageType":"customMessage","id":"x","sender":{"serviceName":"x"},"eventName":"` + name + `","payload":{`,
		`{"messageType":"customMessage","id":1,"sender":"x","eventName":"` + name + `"}`,
		`{"messageType":"noSuchType","id":"x","sender":{"serviceName":"x"},"eventName":"` + name + `"}`,
		"\xff\xfe",
	}
	for _, g := range garbage {
		if _, err := raw.Publish(ctx, &paho.Publish{QoS: 1, Topic: topic, Payload: []byte(g)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, dl := range observed.await(t, len(garbage), "a dead letter for each undecodable event") {
		if !strings.Contains(dl.Reason, "undecodable") || dl.Subscriber.ServiceName != subscriber.ServiceName || dl.Message != nil {
			t.Errorf("dead letter %+v, want the reason and the subscriber", dl)
		}
	}
	emitSeq(t, b, name, 0, 1)
	waitFor(t, 10*time.Second, "a valid event after the garbage", func() bool { return got.has(1) })
}

// TestBrokerCutFailsPendingInvokes: when the caller's connection drops, a pending Invoke
// fails at once with bridge.ErrUnavailable instead of waiting for its timeout, and so does
// one made while the connection is down.
func TestBrokerCutFailsPendingInvokes(t *testing.T) {
	addr := brokerAddr(t)
	p, err := tcpproxy.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	caller := start(t, p.Addr(), mqtt.WithLocalDelivery(false))
	callee := start(t, addr)
	to := uniqAddr("CutCallee", "slow")
	started := make(chan struct{}, 4)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	register(t, callee, to, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		started <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return echo(ctx, cmd)
	})
	from := uniqAddr("CutCaller", "run")
	const timeout = time.Minute // far beyond the test's own waits
	errc := make(chan error, 1)
	go func() {
		_, err := caller.Invoke(context.Background(), command(t, from, to, 1), timeout)
		errc <- err
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the command never reached the handler")
	}
	p.Cut()
	select {
	case err := <-errc:
		if !errors.Is(err, bridge.ErrUnavailable) {
			t.Errorf("pending Invoke = %v, want ErrUnavailable", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the pending Invoke did not fail when the connection dropped")
	}
	waitFor(t, 10*time.Second, "health to report the cut", func() bool {
		return errors.Is(caller.Healthy(context.Background()), bridge.ErrUnavailable)
	})
	if _, err := caller.Invoke(context.Background(), command(t, from, to, 2), timeout); !errors.Is(err, bridge.ErrUnavailable) {
		t.Errorf("Invoke while down = %v, want ErrUnavailable", err)
	}
}

// TestDrainRefusesNewCommands: while the callee drains (Close waits for a handler), a new
// command gets an unhandled 503 at once; the one in flight is answered normally.
func TestDrainRefusesNewCommands(t *testing.T) {
	addr := brokerAddr(t)
	caller := start(t, addr, mqtt.WithLocalDelivery(false))
	callee := start(t, addr)
	to := uniqAddr("DrainCallee", "slow")
	started := make(chan struct{}, 4)
	release := make(chan struct{})
	register(t, callee, to, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		started <- struct{}{}
		<-release
		return echo(ctx, cmd)
	})
	from := uniqAddr("DrainCaller", "run")
	first := make(chan *wire.Message, 1)
	go func() {
		resp, err := caller.Invoke(context.Background(), command(t, from, to, 1), time.Minute)
		if err != nil {
			t.Errorf("in-flight Invoke: %v", err)
		}
		first <- resp
	}()
	<-started
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		closed <- callee.Close(ctx)
	}()
	waitFor(t, 10*time.Second, "the callee to drain", func() bool {
		return errors.Is(callee.Healthy(context.Background()), bridge.ErrClosed)
	})
	resp, err := caller.Invoke(context.Background(), command(t, from, to, 2), time.Minute)
	if err != nil || errorStatus(t, resp) != http.StatusServiceUnavailable {
		t.Errorf("Invoke during the drain = %+v, %v; want an unhandled 503", resp, err)
	}
	close(release)
	if resp := <-first; resp == nil || resp.MessageType != wire.TypeCommandSuccessResponse {
		t.Errorf("the in-flight command got %+v", resp)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestForcedStopAnswers503: when Close's ctx ends with handlers still running, their
// contexts end with a cause wrapping bridge.ErrClosed, every unanswered command is
// answered 503 before the bridge disconnects (also for a handler that ignores its ctx),
// and the bridge's own pending Invoke fails with ErrClosed.
func TestForcedStopAnswers503(t *testing.T) {
	addr := brokerAddr(t)
	caller := start(t, addr, mqtt.WithLocalDelivery(false))
	callee := start(t, addr, mqtt.WithLocalDelivery(false))
	polite, stubborn := uniqAddr("ForcedCallee", "polite"), uniqAddr("ForcedCallee", "stubborn")
	started := make(chan struct{}, 4)
	causes := make(chan error, 1)
	register(t, callee, polite, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		started <- struct{}{}
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return nil // the bridge answers for it
	})
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	register(t, callee, stubborn, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		started <- struct{}{}
		<-stuck // ignores its ctx
		return echo(ctx, cmd)
	})
	from := uniqAddr("ForcedCaller", "run")
	type result struct {
		resp *wire.Message
		err  error
	}
	results := make(chan result, 2)
	for _, to := range []wire.Address{polite, stubborn} {
		go func() {
			resp, err := caller.Invoke(context.Background(), command(t, from, to, 1), time.Minute)
			results <- result{resp, err}
		}()
	}
	<-started
	<-started
	own := make(chan error, 1)
	go func() { // the callee's own call to a command nobody serves
		_, err := callee.Invoke(context.Background(), command(t, from, uniqAddr("Nobody", "there"), 1), time.Minute)
		own <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := callee.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want DeadlineExceeded", err)
	}
	for range 2 {
		r := <-results
		if r.err != nil || errorStatus(t, r.resp) != http.StatusServiceUnavailable {
			t.Errorf("caller got %+v, %v; want an unhandled 503", r.resp, r.err)
		}
	}
	if cause := <-causes; !errors.Is(cause, bridge.ErrClosed) {
		t.Errorf("handler ctx cause = %v, want ErrClosed", cause)
	}
	if err := <-own; !errors.Is(err, bridge.ErrClosed) {
		t.Errorf("the callee's own pending Invoke = %v, want ErrClosed", err)
	}
}
