package nats_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// envelope returns a command-like JSON body with the given messageType and payload.
func envelope(messageType, payload string) []byte {
	return []byte(`{"id":"0af7651916cd43dd8448eb211c80319c","correlationId":"c0ffee","messageType":"` + messageType +
		`","sender":{"serviceName":"Raw","serviceVersion":"1","serviceTarget":"run"},` +
		`"receiver":{"serviceName":"X","serviceVersion":"1","serviceTarget":"y"},"payload":` + payload + `}`)
}

// TestUndecodableCommandRejected: a body on a registered command's subject that cannot be
// decoded as a command is answered at once (a reply arrives long before the request's
// generous timeout) with a handled 400 whose message names the reason, without headers,
// and the handler never runs.
func TestUndecodableCommandRejected(t *testing.T) {
	u := needBroker(t)
	b := startBridge(t, u)
	callee := addr(uniq("Reject"), "run")
	called := make(chan struct{}, 16)
	if _, err := b.RegisterCommand(context.Background(), callee, func(context.Context, *wire.Message) *wire.Message {
		called <- struct{}{}
		return nil
	}, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}
	subject := wire.NATSSubject(wire.TokensOf(command(addr("Raw", "run"), callee, nil)))
	raw := rawConn(t, u)
	tests := []struct {
		name, body, reason, correlationID string
	}{
		{"unknown messageType", string(envelope("noSuchType", `{}`)), `unknown messageType "noSuchType"`, "c0ffee"},
		{"not JSON", "\xff\xfe not json", "invalid character", ""},
		{"nesting deeper than the decoder allows", string(envelope("command", strings.Repeat("[", 20000)+strings.Repeat("]", 20000))), "exceeded max depth", ""},
		{"an event on a command subject", strings.Replace(string(envelope("customMessage", `{}`)), `"payload"`, `"eventName":"e","payload"`, 1),
			"customMessage on a command subject", "c0ffee"},
		{"empty body", "", "invalid PURISTA message", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply, err := raw.Request(subject, []byte(tt.body), time.Minute)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if reply.Header != nil {
				t.Errorf("reply headers %v, want none", reply.Header)
			}
			resp, err := wire.Decode(reply.Data)
			if err != nil {
				t.Fatalf("reply %s: %v", reply.Data, err)
			}
			var p wire.ErrorPayload
			if err := json.Unmarshal(resp.Payload, &p); err != nil {
				t.Fatal(err)
			}
			if resp.MessageType != wire.TypeCommandErrorResponse || resp.IsHandledError == nil || !*resp.IsHandledError ||
				p.Status != http.StatusBadRequest || !strings.HasPrefix(p.Message, "the command could not be decoded: ") ||
				!strings.Contains(p.Message, tt.reason) {
				t.Errorf("reply %s, want a handled 400 naming %q", reply.Data, tt.reason)
			}
			want := tt.correlationID
			if want == "" { // nothing to recover: the reply's own id stands in (the inbox matches it)
				want = resp.ID
			}
			if resp.CorrelationID != want || !resp.Sender.SameEndpoint(callee) || resp.Sender.InstanceID != b.InstanceID() {
				t.Errorf("reply correlationId %q sender %+v; want %q from %s on %s", resp.CorrelationID, resp.Sender, want, callee, b.InstanceID())
			}
		})
	}
	select {
	case <-called:
		t.Error("the handler ran for an undecodable command")
	default:
	}
}

// TestUndecodableEventDeadLettered: a body that cannot be decoded, published on the
// subject of a subscription's event, is dead-lettered with the reason (one attempt, no
// message), on every kind of subscription; the handler never sees it.
func TestUndecodableEventDeadLettered(t *testing.T) {
	u := needBroker(t)
	tests := []struct {
		name string
		sub  func(s *bridge.Subscription)
	}{
		{"shared (core NATS)", func(*bridge.Subscription) {}},
		{"every instance (core NATS)", func(s *bridge.Subscription) { s.EveryInstance = true }},
		{"durable (JetStream)", func(s *bridge.Subscription) { s.Durable = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startBridge(t, u)
			name := uniq("garbled")
			sub := bridge.Subscription{Subscriber: addr(uniq("DlSub"), "onGarbled"), Filter: bridge.Filter{EventName: name}}
			tt.sub(&sub)
			handled := make(chan *wire.Message, 4)
			if _, err := b.RegisterSubscription(context.Background(), sub, func(_ context.Context, m *wire.Message) error {
				handled <- m
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			dead := make(chan bridge.DeadLetter, 4)
			if _, err := b.OnDeadLetter(context.Background(), sub.Subscriber, func(_ context.Context, dl bridge.DeadLetter) { dead <- dl }); err != nil {
				t.Fatal(err)
			}
			raw := rawConn(t, u)
			subject := wire.NATSSubject(wire.Tokens{MessageType: string(wire.TypeCustomMessage), EventName: name})
			if err := raw.Publish(subject, []byte(`{"messageType":"customMessage","eventName":"`+name+`","payload":`)); err != nil {
				t.Fatal(err)
			}
			select {
			case dl := <-dead:
				if !strings.Contains(dl.Reason, "invalid PURISTA message") || dl.Attempts != 1 || dl.Message != nil ||
					!dl.Subscriber.SameEndpoint(sub.Subscriber) {
					t.Errorf("dead letter %+v, want the decode error as reason after 1 attempt", dl)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the undecodable event was not dead-lettered")
			}
			select {
			case m := <-handled:
				t.Errorf("the handler got %+v", m)
			default:
			}
		})
	}
}
