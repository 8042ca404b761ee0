package nats_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	pnats "github.com/purista-go/purista/pkg/framework/nats"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// TestRetriesThenDeadLetter: a failing handler is called MaxAttempts times on every kind
// of subscription (in-process retries on core NATS, NAKs on JetStream), then the message
// is dead-lettered with the last error as reason and the number of deliveries; a panic
// counts as a failure whose value is the reason.
func TestRetriesThenDeadLetter(t *testing.T) {
	u := needBroker(t)
	tests := []struct {
		name   string
		sub    func(s *bridge.Subscription)
		panics bool
		reason string
	}{
		{"shared (core NATS)", func(*bridge.Subscription) {}, false, "boom 3"},
		{"every instance (core NATS)", func(s *bridge.Subscription) { s.EveryInstance = true }, false, "boom 3"},
		{"durable (JetStream)", func(s *bridge.Subscription) { s.Durable = true }, false, "boom 3"},
		{"shared, panicking handler", func(*bridge.Subscription) {}, true, "subscription handler panicked: boom 3"},
		{"durable, panicking handler", func(s *bridge.Subscription) { s.Durable = true }, true, "subscription handler panicked: boom 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := startBridge(t, u)
			name := uniq("failing")
			sub := bridge.Subscription{Subscriber: addr(uniq("RetrySub"), "fails"), Filter: bridge.Filter{EventName: name},
				Retry: bridge.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}}
			tt.sub(&sub)
			var mu sync.Mutex
			calls := 0
			if _, err := b.RegisterSubscription(context.Background(), sub, func(context.Context, *wire.Message) error {
				mu.Lock()
				calls++
				n := calls
				mu.Unlock()
				if tt.panics {
					panic(fmt.Sprintf("boom %d", n))
				}
				return fmt.Errorf("boom %d", n)
			}); err != nil {
				t.Fatal(err)
			}
			dead := make(chan bridge.DeadLetter, 4)
			if _, err := b.OnDeadLetter(context.Background(), wire.Address{}, func(_ context.Context, dl bridge.DeadLetter) { dead <- dl }); err != nil {
				t.Fatal(err)
			}
			ev := event(addr("Emitter", "run"), name, "x")
			if err := b.Emit(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			select {
			case dl := <-dead:
				if dl.Attempts != 3 || !strings.HasSuffix(dl.Reason, tt.reason) || dl.Message == nil || dl.Message.ID != ev.ID ||
					!dl.Subscriber.SameEndpoint(sub.Subscriber) || dl.Subscriber.InstanceID != b.InstanceID() {
					t.Errorf("dead letter %+v, want 3 attempts, reason ending in %q, event %s", dl, tt.reason, ev.ID)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("no dead letter")
			}
			mu.Lock()
			defer mu.Unlock()
			if calls != 3 {
				t.Errorf("the handler was called %d times, want 3", calls)
			}
		})
	}
}

// TestPendingRetryDoesNotHoldUnregister: a core subscription whose retry waits for its
// (long) backoff unregisters at once: the pending retry is dropped, not waited for.
func TestPendingRetryDoesNotHoldUnregister(t *testing.T) {
	u := needBroker(t)
	b := startBridge(t, u)
	name := uniq("later")
	sub := bridge.Subscription{Subscriber: addr(uniq("RetrySub"), "later"), Filter: bridge.Filter{EventName: name},
		Retry: bridge.RetryPolicy{MaxAttempts: 2, InitialInterval: time.Hour, MaxInterval: time.Hour}}
	failed := make(chan struct{}, 4)
	reg, err := b.RegisterSubscription(context.Background(), sub, func(context.Context, *wire.Message) error {
		failed <- struct{}{}
		return errors.New("not yet")
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Emit(context.Background(), event(addr("Emitter", "run"), name, "x")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-failed:
	case <-time.After(30 * time.Second):
		t.Fatal("the handler was not called")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := reg.Unregister(ctx); err != nil {
		t.Fatalf("Unregister with a retry pending = %v, want nil", err)
	}
}

// TestNewRejectsBadInstanceID: an instance id that a subject token or header cannot carry
// fails New with ErrConfig; PURISTA ids and pod names pass.
func TestNewRejectsBadInstanceID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{wire.NewID(), true},
		{"orders-7d9f-0", true},
		{"*", false},
		{">", false},
		{"..", false},
		{"pod\n0", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.id), func(t *testing.T) {
			b, err := pnats.New("nats://127.0.0.1:4222", pnats.WithInstanceID(tt.id))
			switch {
			case tt.ok && err != nil:
				t.Fatalf("New = %v", err)
			case tt.ok && b.InstanceID() != tt.id:
				t.Fatalf("InstanceID = %q, want %q", b.InstanceID(), tt.id)
			case !tt.ok && !errors.Is(err, pnats.ErrConfig):
				t.Fatalf("New = %v, want ErrConfig", err)
			}
		})
	}
}
