package amqp_test

import (
	"context"
	"encoding/json"
	"testing"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/pkg/framework/amqp"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// TestResponseCopiesReachSubscriptions: every response, not only a success with an
// eventName, is also published to the exchange (without replyTo), so that a subscription
// selecting responses by message type receives it (issue 10, "What must hold" 2), while
// the caller (a TypeScript-style caller whose reply queue is bound on replyTo) gets
// exactly one reply. With WithResponseCopies(false) only responses with an eventName are
// copied. Each case ends with a marker command, sent once the checked copy arrived, whose
// reply and copy follow the checked ones on the same queues, so that nothing is checked by
// waiting for silence.
func TestResponseCopiesReachSubscriptions(t *testing.T) {
	u := brokerURL(t)
	cases := []struct {
		name     string
		copies   bool
		input    string // what the handler answers: "error", "plain" success, success "event"
		marker   string // the input of the marker command
		selects  wire.MessageType
		wantCopy bool
	}{
		{"error response copied", true, `"error"`, `"error"`, wire.TypeCommandErrorResponse, true},
		{"plain success copied", true, `"plain"`, `"plain"`, wire.TypeCommandSuccessResponse, true},
		{"plain success not copied when off", false, `"plain"`, `"event"`, wire.TypeCommandSuccessResponse, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := wire.NewID()[:10]
			svc := wire.Address{ServiceName: "Copies" + id, ServiceVersion: "1", ServiceTarget: "answer"}
			from := wire.Address{ServiceName: "CopiesCaller" + id, ServiceVersion: "1", ServiceTarget: "run"}
			// Prefetch 1: the subscription handles its deliveries one by one, in queue order,
			// so that the marker's copy is recorded after the copy before it.
			server := startBridge(t, u, amqp.WithResponseCopies(tc.copies), amqp.WithPrefetch(1))
			ctx := context.Background()
			if _, err := server.RegisterCommand(ctx, svc, answerAs, bridge.CommandOptions{}); err != nil {
				t.Fatal(err)
			}
			copies := make(chan amqp091.Delivery, 16) // the correlationIds the subscription saw
			sub := bridge.Subscription{Subscriber: wire.Address{ServiceName: "CopiesSub" + id, ServiceVersion: "1", ServiceTarget: "onResponse"},
				Filter: bridge.Filter{MessageType: tc.selects, Sender: bridge.AddressFilter{ServiceName: svc.ServiceName}}}
			if _, err := server.RegisterSubscription(ctx, sub, func(_ context.Context, m *wire.Message) error {
				copies <- amqp091.Delivery{CorrelationId: m.CorrelationID, Type: string(m.MessageType)}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			ch, err := rawConn(t).Channel()
			if err != nil {
				t.Fatal(err)
			}
			rq, replies := tsReplyQueue(t, ch)
			send := func(input string) *wire.Message {
				cmd := cmdTo(from, svc, input)
				if err := ch.PublishWithContext(ctx, wire.AMQPExchange, "", true, false, amqp091.Publishing{
					Headers: tableOf(amqp.Headers(cmd, "")), ContentType: wire.ContentTypeJSON, ContentEncoding: wire.EncodingUTF8,
					CorrelationId: cmd.CorrelationID, ReplyTo: rq, MessageId: cmd.ID, Type: string(cmd.MessageType),
					Body: mustEncode(t, cmd)}); err != nil {
					t.Fatal(err)
				}
				return cmd
			}
			cmd := send(tc.input)
			reply := await(t, replies, "the reply")
			if reply.CorrelationId != cmd.CorrelationID || len(reply.Headers) != 0 {
				t.Fatalf("reply correlationId %q headers %v, want %q and no headers", reply.CorrelationId, reply.Headers, cmd.CorrelationID)
			}
			if msg, err := wire.Decode(reply.Body); err != nil || msg.MessageType != tc.selects {
				t.Fatalf("reply %s (%v), want a %s", reply.Body, err, tc.selects)
			}
			var got []amqp091.Delivery
			if tc.wantCopy {
				// The handling goroutine publishes the copy right after the reply, so the
				// copy may follow a later command's: it is awaited before the marker goes out.
				got = append(got, await(t, copies, "the response copy at the subscription"))
			}
			marker := send(tc.marker)
			isMarker := func(d amqp091.Delivery) bool { return d.CorrelationId == marker.CorrelationID }
			if extra := beforeMarker(t, replies, "the marker's reply", isMarker); len(extra) != 0 {
				t.Errorf("the caller got %d more replies: %s", len(extra), extra[0].Body)
			}
			got = append(got, beforeMarker(t, copies, "the marker's response copy at the subscription", isMarker)...)
			switch {
			case tc.wantCopy && (len(got) != 1 || got[0].CorrelationId != cmd.CorrelationID || got[0].Type != string(tc.selects)):
				t.Errorf("subscription on %s received %v, want the response to %s once", tc.selects, got, cmd.CorrelationID)
			case !tc.wantCopy && len(got) != 0:
				t.Errorf("with copies off the subscription received %v, want nothing before the marker", got)
			}
		})
	}
}

// answerAs answers a command by its payload: "error" with a handled 422 error response,
// "plain" with a success response without an eventName, "event" with one with an eventName.
func answerAs(_ context.Context, cmd *wire.Message) *wire.Message {
	var p struct {
		Payload string `json:"payload"`
	}
	_ = json.Unmarshal(cmd.Payload, &p)
	switch p.Payload {
	case "error":
		return &wire.Message{MessageType: wire.TypeCommandErrorResponse, Payload: json.RawMessage(`{"status":422,"message":"refused"}`)}
	case "event":
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, EventName: "answered", Payload: json.RawMessage(`{}`)}
	default:
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: json.RawMessage(`{}`)}
	}
}

// mustEncode encodes m or fails the test.
func mustEncode(t *testing.T, m *wire.Message) []byte {
	t.Helper()
	data, err := wire.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestLocalResponseCopiesReachSubscriptions: a command answered in process (local
// delivery, the default) has its response copied to the exchange too, so that a
// subscription selecting responses by message type sees it whether or not the call
// crossed the broker: each of two local calls' responses arrives once.
func TestLocalResponseCopiesReachSubscriptions(t *testing.T) {
	u := brokerURL(t)
	id := wire.NewID()[:10]
	svc := wire.Address{ServiceName: "LocalCopies" + id, ServiceVersion: "1", ServiceTarget: "answer"}
	from := wire.Address{ServiceName: "LocalCopiesCaller" + id, ServiceVersion: "1", ServiceTarget: "run"}
	b := startBridge(t, u, amqp.WithPrefetch(1)) // deliveries handled in queue order
	ctx := context.Background()
	if _, err := b.RegisterCommand(ctx, svc, answerAs, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}
	copies := make(chan amqp091.Delivery, 16)
	sub := bridge.Subscription{Subscriber: wire.Address{ServiceName: "LocalCopiesSub" + id, ServiceVersion: "1", ServiceTarget: "onError"},
		Filter: bridge.Filter{MessageType: wire.TypeCommandErrorResponse, Sender: bridge.AddressFilter{ServiceName: svc.ServiceName}}}
	if _, err := b.RegisterSubscription(ctx, sub, func(_ context.Context, m *wire.Message) error {
		copies <- amqp091.Delivery{CorrelationId: m.CorrelationID, Type: string(m.MessageType)}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	first, marker := cmdTo(from, svc, `"error"`), cmdTo(from, svc, `"error"`)
	for _, cmd := range []*wire.Message{first, marker} {
		resp, err := b.Invoke(ctx, cmd, 0)
		if err != nil || resp.MessageType != wire.TypeCommandErrorResponse {
			t.Fatalf("local invoke: %v, %v", resp, err)
		}
	}
	// Local publishes each copy after its caller has the answer, on the handler's
	// goroutine, so the two copies may arrive in either order: wait for both.
	seen := map[string]int{}
	for seen[first.CorrelationID] == 0 || seen[marker.CorrelationID] == 0 {
		d := await(t, copies, "the response copies of both local calls")
		seen[d.CorrelationId]++
		if d.CorrelationId != first.CorrelationID && d.CorrelationId != marker.CorrelationID || seen[d.CorrelationId] > 1 {
			t.Fatalf("subscription on commandErrorResponse received %v, want each call's response once", seen)
		}
	}
}
