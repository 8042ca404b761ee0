package memory_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// TestUndecodableEventDeadLettered: bytes that do not decode, reaching a subscription
// (through its eventName), are dead-lettered at once with the decode error as the reason
// (one attempt, no message) although the retry policy allows many, on every kind of
// subscription, and the handler never sees them; a valid event injected afterwards is
// handled, and nothing else is dead-lettered.
func TestUndecodableEventDeadLettered(t *testing.T) {
	tests := []struct {
		name  string
		every bool
		raw   func(name string) string
		why   string
	}{
		{"truncated JSON, shared", false, func(n string) string { return `{"messageType":"customMessage","eventName":"` + n + `","payload":` }, "invalid PURISTA message"},
		{"truncated JSON, every instance", true, func(n string) string { return `{"messageType":"customMessage","eventName":"` + n + `","payload":` }, "invalid PURISTA message"},
		{"unknown messageType", false, func(n string) string {
			return `{"messageType":"noSuchType","id":"x","sender":{"serviceName":"x"},"eventName":"` + n + `"}`
		}, "noSuchType"},
		{"invalid field type", false, func(n string) string {
			return `{"messageType":"customMessage","id":1,"sender":"x","eventName":"` + n + `"}`
		}, "invalid PURISTA message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := started(t, 1)[0]
			ctx := context.Background()
			name := "garbled" + wire.NewID()[:8]
			sub := bridge.Subscription{Subscriber: wire.Address{ServiceName: "DlSub", ServiceVersion: "1", ServiceTarget: "onGarbled"},
				Filter: bridge.Filter{EventName: name}, EveryInstance: tt.every,
				Retry: bridge.RetryPolicy{MaxAttempts: 50, InitialInterval: time.Hour}}
			handled := make(chan *wire.Message, 4)
			if _, err := b.RegisterSubscription(ctx, sub, func(_ context.Context, m *wire.Message) error {
				handled <- m
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			dead := make(chan bridge.DeadLetter, 4)
			if _, err := b.OnDeadLetter(ctx, sub.Subscriber, func(_ context.Context, dl bridge.DeadLetter) { dead <- dl }); err != nil {
				t.Fatal(err)
			}
			if err := b.InjectRaw([]byte(tt.raw(name))); err == nil {
				t.Error("InjectRaw of undecodable bytes returned no error")
			}
			select {
			case dl := <-dead:
				if !strings.Contains(dl.Reason, tt.why) || dl.Attempts != 1 || dl.Message != nil || !dl.Subscriber.SameEndpoint(sub.Subscriber) {
					t.Errorf("dead letter %+v, want the decode error (%q) as reason after 1 attempt", dl, tt.why)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the undecodable event was not dead-lettered")
			}
			valid := &wire.Message{ID: wire.NewID(), MessageType: wire.TypeCustomMessage, Sender: callerAddr, EventName: name}
			if err := b.Emit(ctx, valid); err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-handled:
				if m.ID != valid.ID {
					t.Errorf("the handler got %+v, want only the valid event", m)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the valid event after the garbage was not handled")
			}
			select {
			case dl := <-dead:
				t.Errorf("a second dead letter %+v", dl)
			default:
			}
		})
	}
}
