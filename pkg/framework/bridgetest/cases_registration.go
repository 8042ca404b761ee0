package bridgetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// Registration cases: one registration per address and instance, and Unregister ends
// delivery.

func caseDuplicateCommand(t *testing.T, h Harness) {
	t.Parallel()
	_, callee := endpoints()
	a, b := h.start(t), h.start(t)
	register(t, h, a, callee, echo(t, a), bridge.CommandOptions{})
	if _, err := a.RegisterCommand(h.ctx(t), callee, echo(t, a), bridge.CommandOptions{}); !errors.Is(err, bridge.ErrDuplicate) {
		t.Errorf("second RegisterCommand on one instance = %v, want ErrDuplicate", err)
	}
	register(t, h, b, callee, echo(t, b), bridge.CommandOptions{}) // another instance may
}

func caseDuplicateSubscription(t *testing.T, h Harness) {
	t.Parallel()
	a, b := h.start(t), h.start(t)
	var rec recorder
	sub := bridge.Subscription{Subscriber: addr(uniq("BtSub"), "onEvent"), Filter: bridge.Filter{EventName: uniq("btEvent")}}
	subscribe(t, h, a, sub, rec.handle)
	if _, err := a.RegisterSubscription(h.ctx(t), sub, rec.handle); !errors.Is(err, bridge.ErrDuplicate) {
		t.Errorf("second RegisterSubscription on one instance = %v, want ErrDuplicate", err)
	}
	subscribe(t, h, b, sub, rec.handle) // another instance may
}

func caseUnregisterCommand(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	var calls counter
	reg := register(t, h, b, callee, func(_ context.Context, cmd *wire.Message) *wire.Message {
		calls.inc()
		return success(cmd, b.InstanceID(), json.RawMessage(`1`))
	}, bridge.CommandOptions{})
	invoke(t, h, a, command(t, caller, callee, 1))
	for i := range 2 {
		if err := reg.Unregister(h.ctx(t)); err != nil {
			t.Fatalf("Unregister #%d: %v", i+1, err)
		}
	}
	timeout := h.Wait
	if h.Features.NoFailFastUnknownCommand {
		timeout = 500 * time.Millisecond
	}
	if _, err := a.Invoke(h.ctx(t), command(t, caller, callee, 2), timeout); !errors.Is(err, bridge.ErrNoHandler) && !errors.Is(err, bridge.ErrTimeout) {
		t.Errorf("Invoke after Unregister = %v, want ErrNoHandler or ErrTimeout", err)
	}
	if n := calls.get(); n != 1 {
		t.Errorf("handler called %d times, want 1", n)
	}
}

func caseUnregisterSubscription(t *testing.T, h Harness) {
	t.Parallel()
	caller, _ := endpoints()
	name := uniq("btEvent")
	a, b := h.start(t), h.start(t)
	var rec recorder
	reg := subscribe(t, h, b, bridge.Subscription{Subscriber: addr(uniq("BtSub"), "onEvent"), Filter: bridge.Filter{EventName: name}}, rec.handle)
	emit(t, h, a, event(t, caller, name, 1))
	h.eventually(t, "the first event", func() bool { return rec.count() == 1 })
	for i := range 2 {
		if err := reg.Unregister(h.ctx(t)); err != nil {
			t.Fatalf("Unregister #%d: %v", i+1, err)
		}
	}
	for i := range 5 {
		emit(t, h, a, event(t, caller, name, i))
	}
	h.steady(t, "no delivery after Unregister", func() bool { return rec.count() == 1 })
}
