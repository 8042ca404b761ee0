package amqp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/pkg/framework/amqp"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// TestUndecodableCommandRejected publishes commands the bridge cannot decode to a
// registered command the way a TypeScript caller does (exchange, command headers,
// correlationId and replyTo properties): each is answered at once with a handled 400 to
// the caller's reply queue, with the body's correlationId or, when the body has none that
// can be read, the property's; the handler never runs.
func TestUndecodableCommandRejected(t *testing.T) {
	u := brokerURL(t)
	id := wire.NewID()[:10]
	svc := wire.Address{ServiceName: "Reject" + id, ServiceVersion: "1", ServiceTarget: "take"}
	from := wire.Address{ServiceName: "RejectCaller" + id, ServiceVersion: "1", ServiceTarget: "run"}
	b := startBridge(t, u)
	var calls atomic.Int64
	if _, err := b.RegisterCommand(context.Background(), svc, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		calls.Add(1)
		return echoHandler(ctx, cmd)
	}, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}
	ch, err := rawConn(t).Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, replies := tsReplyQueue(t, ch)
	headers := tableOf(amqp.Headers(cmdTo(from, svc, "1"), ""))
	envelope := func(messageType, correlationID, payload string) string {
		m := cmdTo(from, svc, "1")
		raw, _ := json.Marshal(m)
		var obj map[string]any
		_ = json.Unmarshal(raw, &obj)
		obj["messageType"] = messageType
		if correlationID == "" {
			delete(obj, "correlationId")
		} else {
			obj["correlationId"] = correlationID
		}
		out, _ := json.Marshal(obj)
		if payload != "" {
			out = []byte(strings.Replace(string(out), `"payload":{"parameter":{},"payload":1}`, `"payload":`+payload, 1))
		}
		return string(out)
	}
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	tests := []struct {
		name, body, property, want string
	}{
		{"not JSON", "not json at all", "prop-1", "prop-1"},
		{"unknown messageType", envelope("bogus", "body-2", ""), "prop-2", "body-2"},
		{"event on a command queue", envelope("customMessage", "body-3", ""), "prop-3", "body-3"},
		{"command without correlationId", envelope("command", "", ""), "prop-4", "prop-4"},
		{"nested too deep", envelope("command", "body-5", deep), "prop-5", "prop-5"},
		{"envelope cut short", envelope("command", "body-6", "")[:40], "prop-6", "prop-6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ch.PublishWithContext(context.Background(), wire.AMQPExchange, "", true, false, amqp091.Publishing{
				Headers: headers, ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8,
				CorrelationId: tt.property, ReplyTo: q, Type: "command", Body: []byte(tt.body),
			}); err != nil {
				t.Fatal(err)
			}
			resp := tsAccepts(t, await(t, replies, "the rejection"), tt.want, "")
			var p wire.ErrorPayload
			_ = json.Unmarshal(resp.Payload, &p)
			if p.Status != http.StatusBadRequest || !*resp.IsHandledError || !strings.Contains(p.Message, "could not be decoded") {
				t.Errorf("rejection %s %s, want a handled 400", resp.MessageType, resp.Payload)
			}
			if !resp.Sender.SameEndpoint(svc) || resp.Sender.InstanceID != b.InstanceID() {
				t.Errorf("rejection sender %+v, want %s on instance %s", resp.Sender, svc, b.InstanceID())
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the handler ran %d times for undecodable commands", n)
	}
}

// TestUndecodableEventDeadLettered: messages a subscription cannot decode (published to
// the exchange with matching headers, or straight to its queue) are dead-lettered at once
// with the reason, seen both by the in-process dead-letter handler and in the
// subscription's dead-letter queue; valid events still arrive.
func TestUndecodableEventDeadLettered(t *testing.T) {
	u := brokerURL(t)
	id := wire.NewID()[:10]
	name := "garbled" + id
	subscriber := wire.Address{ServiceName: "Garble" + id, ServiceVersion: "1", ServiceTarget: "onEvent"}
	from := wire.Address{ServiceName: "GarbleSender" + id, ServiceVersion: "1", ServiceTarget: "emit"}
	b := startBridge(t, u)
	ctx := context.Background()
	var mu sync.Mutex
	var local, queued []bridge.DeadLetter
	if _, err := b.OnDeadLetter(ctx, wire.Address{}, func(_ context.Context, dl bridge.DeadLetter) {
		mu.Lock()
		local = append(local, dl)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.OnDeadLetter(ctx, subscriber, func(_ context.Context, dl bridge.DeadLetter) {
		mu.Lock()
		queued = append(queued, dl)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	got := make(chan *wire.Message, 4)
	if _, err := b.RegisterSubscription(ctx, bridge.Subscription{Subscriber: subscriber, Filter: bridge.Filter{EventName: name}},
		func(_ context.Context, m *wire.Message) error { got <- m; return nil }); err != nil {
		t.Fatal(err)
	}
	c := rawConn(t)
	publishRaw(t, c, wire.AMQPExchange, "", amqp091.Table{wire.HeaderEventName: name}, []byte(`{"messageType":"customMessage","eventName":"`+name+`"`))
	for _, q := range b.SubscriptionQueues() {
		publishRaw(t, c, "", q, nil, []byte("\xff not json"))
	}
	valid := &wire.Message{ID: wire.NewID(), Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON,
		ContentEncoding: wire.EncodingUTF8, MessageType: wire.TypeCustomMessage, Sender: from, EventName: name,
		Payload: json.RawMessage(`{"ok":true}`)}
	if err := b.Emit(ctx, valid); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.ID != valid.ID {
			t.Errorf("subscription received %s, want the valid event %s", m.ID, valid.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the valid event never arrived")
	}
	waitFor(t, 10*time.Second, "two dead letters, in process and from the queue", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(local) >= 2 && len(queued) >= 2
	})
	mu.Lock()
	defer mu.Unlock()
	for _, dl := range append(local, queued...) {
		if !strings.Contains(dl.Reason, "undecodable") || dl.Message != nil || dl.Subscriber.ServiceName != subscriber.ServiceName || dl.Attempts != 1 {
			t.Errorf("dead letter %+v, want reason 'undecodable…', no message, the subscriber, 1 attempt", dl)
		}
	}
}
