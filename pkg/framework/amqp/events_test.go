package amqp_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/pkg/framework/amqp"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// TestSuccessEventReachesSubscriptions: a success response with an eventName reaches the
// caller once (straight to its reply queue) and, as an event on the exchange, every
// subscription that selects it by eventName, by messageType or by both, and a
// subscription bound the way TypeScript PURISTA binds (headers messageType and eventName),
// whether the command was answered over the broker or in process.
func TestSuccessEventReachesSubscriptions(t *testing.T) {
	u := brokerURL(t)
	id := wire.NewID()[:10]
	name := "made" + id
	svc := wire.Address{ServiceName: "Maker" + id, ServiceVersion: "1", ServiceTarget: "make"}
	from := wire.Address{ServiceName: "MakerCaller" + id, ServiceVersion: "1", ServiceTarget: "run"}
	caller, server, subs := startBridge(t, u), startBridge(t, u), startBridge(t, u)
	ctx := context.Background()
	if _, err := server.RegisterCommand(ctx, svc, func(_ context.Context, cmd *wire.Message) *wire.Message {
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, EventName: name, Payload: json.RawMessage(`{"made":true}`)}
	}, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}
	filters := map[string]bridge.Filter{
		"eventName":   {EventName: name},
		"messageType": {MessageType: wire.TypeCommandSuccessResponse, Sender: bridge.AddressFilter{ServiceName: svc.ServiceName}},
		"both":        {MessageType: wire.TypeCommandSuccessResponse, EventName: name},
	}
	var mu sync.Mutex
	seen := map[string][]string{} // filter → correlationIds
	for label, f := range filters {
		sub := bridge.Subscription{Subscriber: wire.Address{ServiceName: "MakerSub" + id, ServiceVersion: "1", ServiceTarget: label}, Filter: f}
		if _, err := subs.RegisterSubscription(ctx, sub, func(_ context.Context, m *wire.Message) error {
			mu.Lock()
			seen[label] = append(seen[label], m.CorrelationID)
			mu.Unlock()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	ts := sniffer(t, amqp091.Table{"x-match": "all", wire.HeaderMessageType: string(wire.TypeCommandSuccessResponse), wire.HeaderEventName: name})

	var want []string
	for _, b := range []*amqp.Bridge{caller, server} { // over the broker, then in process
		cmd := cmdTo(from, svc, "1")
		want = append(want, cmd.CorrelationID)
		resp, err := b.Invoke(ctx, cmd, 10*time.Second)
		if err != nil || resp.EventName != name || resp.CorrelationID != cmd.CorrelationID {
			t.Fatalf("invoke: %+v %v", resp, err)
		}
		d := await(t, ts, "the success event at the TypeScript-style subscription")
		if d.Headers[wire.HeaderEventName] != name || d.Headers[wire.HeaderSenderServiceName] != svc.ServiceName || d.Headers[wire.HeaderReplyTo] != nil {
			t.Errorf("success event headers %v, want eventName, sender and no replyTo", d.Headers)
		}
		if d.CorrelationId != cmd.CorrelationID {
			t.Errorf("success event correlationId property %q, want %q", d.CorrelationId, cmd.CorrelationID)
		}
	}
	waitFor(t, 10*time.Second, "both success events at every subscription", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for label := range filters {
			if len(seen[label]) < len(want) {
				return false
			}
		}
		return true
	})
	// A marker: a third call over the broker, whose success event the server publishes
	// after the two above on the same channel. Once it has reached every subscription, a
	// duplicate of the two would have arrived before it on the subscription's queue.
	marker := cmdTo(from, svc, "2")
	if _, err := caller.Invoke(ctx, marker, 10*time.Second); err != nil {
		t.Fatalf("marker invoke: %v", err)
	}
	waitFor(t, 10*time.Second, "the marker's success event at every subscription", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for label := range filters {
			if !slices.Contains(seen[label], marker.CorrelationID) {
				return false
			}
		}
		return true
	})
	mu.Lock()
	defer mu.Unlock()
	for label := range filters {
		got := seen[label][:slices.Index(seen[label], marker.CorrelationID)]
		if len(got) != len(want) || !slices.Contains(got, want[0]) || !slices.Contains(got, want[1]) {
			t.Errorf("subscription by %s received %v before the marker, want %v once each", label, got, want)
		}
	}
}

// TestDurabilitySwitch rolls a shared subscription through durable, non-durable and
// durable again, each new instance starting while the previous one still runs: every
// start and registration (before and after Start, alternately) succeeds (no 406
// PRECONDITION_FAILED), each instance consumes the queue of its
// durability, receives the events emitted while it runs, and a non-durable instance warns
// that the durable queue still exists.
func TestDurabilitySwitch(t *testing.T) {
	u := brokerURL(t)
	id := wire.NewID()[:10]
	name := "switched" + id
	subscriber := wire.Address{ServiceName: "Switch" + id, ServiceVersion: "1", ServiceTarget: "onEvent"}
	from := wire.Address{ServiceName: "SwitchSender" + id, ServiceVersion: "1", ServiceTarget: "emit"}
	emitter := startBridge(t, u)
	ctx := context.Background()
	var prev *amqp.Bridge
	for i, durable := range []bool{true, false, true, false} {
		var logs syncBuffer
		b := newBridge(t, u, amqp.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		got := make(chan string, 8)
		sub := bridge.Subscription{Subscriber: subscriber, Filter: bridge.Filter{EventName: name}, Durable: durable}
		handle := func(_ context.Context, m *wire.Message) error { got <- m.ID; return nil }
		register := func() {
			if _, err := b.RegisterSubscription(ctx, sub, handle); err != nil {
				t.Fatalf("step %d (durable %v): RegisterSubscription: %v", i, durable, err)
			}
		}
		if i%2 == 0 { // registered before Start: declared by Start
			register()
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := b.Start(sctx)
		cancel()
		if err != nil {
			t.Fatalf("step %d (durable %v): Start: %v", i, durable, err)
		}
		t.Cleanup(func() { _ = b.Close(context.Background()) })
		if i%2 == 1 {
			register()
		}
		wantQueue := amqp.TransientSubscriptionQueue(subscriber)
		if durable {
			wantQueue = wire.AMQPSubscriptionQueue(subscriber)
		}
		if qs := b.SubscriptionQueues(); len(qs) != 1 || qs[0] != wantQueue {
			t.Errorf("step %d (durable %v) consumes %v, want %s", i, durable, qs, wantQueue)
		}
		if warned := strings.Contains(logs.String(), "no longer durable"); warned == durable {
			t.Errorf("step %d (durable %v): stale durable queue warning logged %v:\n%s", i, durable, warned, logs.String())
		}
		if prev != nil {
			if err := prev.Close(ctx); err != nil && !errors.Is(err, bridge.ErrClosed) {
				t.Fatalf("step %d: Close the previous instance: %v", i, err)
			}
		}
		prev = b
		ev := &wire.Message{ID: wire.NewID(), Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON,
			ContentEncoding: wire.EncodingUTF8, MessageType: wire.TypeCustomMessage, Sender: from, EventName: name,
			Payload: json.RawMessage(`{}`)}
		if err := emitter.Emit(ctx, ev); err != nil {
			t.Fatal(err)
		}
		for received := false; !received; {
			select {
			case evID := <-got:
				received = evID == ev.ID
			case <-time.After(10 * time.Second):
				t.Fatalf("step %d (durable %v): the event never arrived", i, durable)
			}
		}
	}
}
