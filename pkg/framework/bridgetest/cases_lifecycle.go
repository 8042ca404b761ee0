package bridgetest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

func caseNameAndInstanceID(t *testing.T, h Harness) {
	t.Parallel()
	a, b := h.newBridge(t), h.newBridge(t)
	if a.Name() == "" {
		t.Error("Name() is empty")
	}
	for _, x := range []bridge.EventBridge{a, b} {
		id := x.InstanceID()
		if _, err := hex.DecodeString(id); err != nil || len(id) != 32 || strings.ToLower(id) != id {
			t.Errorf("InstanceID %q is not 32 lowercase hex characters", id)
		}
	}
	if a.InstanceID() == b.InstanceID() {
		t.Errorf("two instances share the id %s", a.InstanceID())
	}
}

func caseHealthTransitions(t *testing.T, h Harness) {
	t.Parallel()
	b := h.newBridge(t)
	if err := b.Healthy(h.ctx(t)); !errors.Is(err, bridge.ErrNotStarted) {
		t.Fatalf("Healthy before Start = %v, want ErrNotStarted", err)
	}
	if err := b.Start(h.ctx(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := b.Healthy(h.ctx(t)); err != nil {
		t.Fatalf("Healthy after Start = %v, want nil", err)
	}
	if err := b.Close(h.ctx(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Healthy(h.ctx(t)); !errors.Is(err, bridge.ErrClosed) {
		t.Fatalf("Healthy after Close = %v, want ErrClosed", err)
	}
}

func caseHealthDisrupted(t *testing.T, h Harness) {
	if h.Disrupt == nil {
		t.Skip("Harness.Disrupt is nil: the bridge offers no way to break its connection in tests")
	}
	// Not parallel: disrupting a shared broker would disturb other cases.
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	register(t, h, b, callee, echo(t, b), bridge.CommandOptions{})
	if err := a.Healthy(h.ctx(t)); err != nil {
		t.Fatalf("Healthy before disruption = %v", err)
	}
	restore := h.Disrupt(t)
	var last error
	h.eventually(t, "Healthy to report ErrUnavailable", func() bool {
		last = a.Healthy(h.ctx(t))
		return errors.Is(last, bridge.ErrUnavailable)
	})
	restore()
	h.eventually(t, "Healthy to recover", func() bool { return a.Healthy(h.ctx(t)) == nil })
	h.eventually(t, "an invocation to succeed after recovery", func() bool {
		resp, err := a.Invoke(h.ctx(t), command(t, caller, callee, 1), h.Wait)
		return err == nil && resp.MessageType == wire.TypeCommandSuccessResponse
	})
}

func caseStartTwiceCloseTwice(t *testing.T, h Harness) {
	t.Parallel()
	b := h.newBridge(t)
	for i := range 2 {
		if err := b.Start(h.ctx(t)); err != nil {
			t.Fatalf("Start #%d: %v", i+1, err)
		}
	}
	for i := range 2 {
		if err := b.Close(h.ctx(t)); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if err := b.Healthy(h.ctx(t)); !errors.Is(err, bridge.ErrClosed) {
		t.Fatalf("Healthy after Close = %v, want ErrClosed", err)
	}
}

func caseCloseWithoutStart(t *testing.T, h Harness) {
	t.Parallel()
	b := h.newBridge(t)
	if err := b.Close(h.ctx(t)); err != nil {
		t.Fatalf("Close of an unstarted bridge: %v", err)
	}
}

func caseNotStartedErrors(t *testing.T, h Harness) {
	t.Parallel()
	b := h.newBridge(t)
	caller, callee := endpoints()
	if _, err := b.Invoke(h.ctx(t), command(t, caller, callee, 1), h.Wait); !errors.Is(err, bridge.ErrNotStarted) {
		t.Errorf("Invoke before Start = %v, want ErrNotStarted", err)
	}
	if err := b.Emit(h.ctx(t), event(t, caller, uniq("btEvent"), 1)); !errors.Is(err, bridge.ErrNotStarted) {
		t.Errorf("Emit before Start = %v, want ErrNotStarted", err)
	}
}

func caseRegisterBeforeStart(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	name := uniq("btEvent")
	a, b := h.start(t), h.newBridge(t)
	register(t, h, b, callee, echo(t, b), bridge.CommandOptions{})
	var rec recorder
	subscribe(t, h, b, bridge.Subscription{Subscriber: addr(callee.ServiceName, "onEvent"),
		Filter: bridge.Filter{EventName: name}}, rec.handle)
	if err := b.Start(h.ctx(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if resp := invoke(t, h, a, command(t, caller, callee, 7)); !sameJSON(resp.Payload, []byte("7")) {
		t.Errorf("response payload = %s, want 7", resp.Payload)
	}
	emit(t, h, a, event(t, caller, name, 1))
	h.eventually(t, "the event to reach the subscription registered before Start", func() bool { return rec.count() == 1 })
}

func caseInvokeAfterClose(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	register(t, h, b, callee, echo(t, b), bridge.CommandOptions{})
	if err := a.Close(h.ctx(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := a.Invoke(h.ctx(t), command(t, caller, callee, 1), h.Wait); !errors.Is(err, bridge.ErrClosed) {
		t.Fatalf("Invoke after Close = %v, want ErrClosed", err)
	}
}

func caseEmitAfterClose(t *testing.T, h Harness) {
	t.Parallel()
	caller, _ := endpoints()
	a := h.start(t)
	if err := a.Close(h.ctx(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := a.Emit(h.ctx(t), event(t, caller, uniq("btEvent"), 1)); !errors.Is(err, bridge.ErrClosed) {
		t.Fatalf("Emit after Close = %v, want ErrClosed", err)
	}
}

func caseRegisterAfterClose(t *testing.T, h Harness) {
	t.Parallel()
	_, callee := endpoints()
	a := h.start(t)
	if err := a.Close(h.ctx(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := a.RegisterCommand(h.ctx(t), callee, echo(t, a), bridge.CommandOptions{}); !errors.Is(err, bridge.ErrClosed) {
		t.Errorf("RegisterCommand after Close = %v, want ErrClosed", err)
	}
	var rec recorder
	sub := bridge.Subscription{Subscriber: addr(callee.ServiceName, "sub"), Filter: bridge.Filter{EventName: uniq("btEvent")}}
	if _, err := a.RegisterSubscription(h.ctx(t), sub, rec.handle); !errors.Is(err, bridge.ErrClosed) {
		t.Errorf("RegisterSubscription after Close = %v, want ErrClosed", err)
	}
}

func caseDrainCommand(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	drainWhileBusy(t, h, a, b, caller, callee).finish()
	if _, err := b.Invoke(h.ctx(t), command(t, caller, callee, 2), h.Wait); !errors.Is(err, bridge.ErrClosed) {
		t.Errorf("Invoke on the closed instance = %v, want ErrClosed", err)
	}
}

func caseDrainEvent(t *testing.T, h Harness) {
	t.Parallel()
	caller, _ := endpoints()
	name := uniq("btEvent")
	a, b := h.start(t), h.start(t)
	started, release := make(chan struct{}, 1), make(chan struct{})
	var finished counter
	subscribe(t, h, b, bridge.Subscription{Subscriber: addr(uniq("BtSub"), "slow"), Filter: bridge.Filter{EventName: name}},
		func(ctx context.Context, _ *wire.Message) error {
			select {
			case started <- struct{}{}:
			default: // a redelivery
			}
			select {
			case <-release:
				finished.inc()
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(free)
	emit(t, h, a, event(t, caller, name, 1))
	await(t, h, "the handler to start", started)
	cctx := h.ctx(t)
	closed := beginClose(t, h, b, func() error { return b.Close(cctx) })
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v while a handler still ran", err)
	default:
	}
	free()
	if err := await(t, h, "Close", closed); err != nil {
		t.Fatalf("Close while a handler runs: %v", err)
	}
	if finished.get() != 1 {
		t.Error("Close returned before the in-flight handler finished")
	}
}

func caseCloseDeadline(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	started := make(chan struct{})
	cancelled := make(chan struct{})
	register(t, h, b, callee, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		close(started)
		<-ctx.Done()
		close(cancelled)
		return nil
	}, bridge.CommandOptions{Timeout: h.Wait * 2})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = a.Invoke(h.ctx(t), command(t, caller, callee, 1), h.Wait)
	}()
	select {
	case <-started:
	case <-time.After(h.Wait):
		t.Fatal("handler never started")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := b.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close past its deadline = %v, want context.DeadlineExceeded", err)
	}
	select {
	case <-cancelled:
	case <-time.After(h.Wait):
		t.Fatal("the stuck handler's ctx was not cancelled")
	}
	select {
	case <-done:
	case <-time.After(h.Wait * 2):
		t.Fatal("the caller never returned")
	}
}

func caseClosedInstanceReceivesNothing(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	name := uniq("btEvent")
	a, b1, b2 := h.start(t), h.start(t), h.start(t)
	var calls1 counter
	var rec1, rec2 recorder
	sub := bridge.Subscription{Subscriber: addr(uniq("BtSub"), "onEvent"), Filter: bridge.Filter{EventName: name}}
	register(t, h, b1, callee, func(_ context.Context, cmd *wire.Message) *wire.Message {
		calls1.inc()
		return success(cmd, b1.InstanceID(), json.RawMessage(`1`))
	}, bridge.CommandOptions{})
	register(t, h, b2, callee, echo(t, b2), bridge.CommandOptions{})
	subscribe(t, h, b1, sub, rec1.handle)
	subscribe(t, h, b2, sub, rec2.handle)
	if err := b1.Close(h.ctx(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i := range 20 {
		if resp := invoke(t, h, a, command(t, caller, callee, i)); resp.Sender.InstanceID != b2.InstanceID() {
			t.Errorf("invoke %d answered by %s, want the running instance %s", i, resp.Sender.InstanceID, b2.InstanceID())
		}
		emit(t, h, a, event(t, caller, name, i))
	}
	h.eventually(t, "the running instance to receive every event", func() bool { return rec2.count() >= 20 })
	if calls1.get() != 0 || rec1.count() != 0 {
		t.Errorf("the closed instance handled %d commands and %d events", calls1.get(), rec1.count())
	}
}
