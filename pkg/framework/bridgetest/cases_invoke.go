package bridgetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

func caseInvokeSuccess(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	var mu sync.Mutex
	var seen *wire.Message
	register(t, h, b, callee, func(_ context.Context, cmd *wire.Message) *wire.Message {
		mu.Lock()
		seen = cmd
		mu.Unlock()
		return success(cmd, b.InstanceID(), mustJSON(t, map[string]string{"greeting": "hello " + string(input(t, cmd))}))
	}, bridge.CommandOptions{})
	cmd := command(t, caller, callee, "ada")
	resp := invoke(t, h, a, cmd)

	mu.Lock()
	defer mu.Unlock()
	if seen == nil {
		t.Fatal("handler did not see the command")
	}
	if seen.ID != cmd.ID || seen.CorrelationID != cmd.CorrelationID || seen.MessageType != wire.TypeCommand {
		t.Errorf("handler saw id/correlationId/type %s/%s/%s, want %s/%s/command", seen.ID, seen.CorrelationID, seen.MessageType, cmd.ID, cmd.CorrelationID)
	}
	if !seen.Sender.SameEndpoint(caller) || seen.Sender.InstanceID != a.InstanceID() {
		t.Errorf("handler saw sender %+v, want %+v on instance %s", seen.Sender, caller, a.InstanceID())
	}
	if seen.Receiver == nil || !seen.Receiver.SameEndpoint(callee) {
		t.Errorf("handler saw receiver %+v, want %+v", seen.Receiver, callee)
	}
	if !sameJSON(seen.Payload, cmd.Payload) {
		t.Errorf("handler saw payload %s, want %s", seen.Payload, cmd.Payload)
	}
	if resp.MessageType != wire.TypeCommandSuccessResponse {
		t.Errorf("response type %s", resp.MessageType)
	}
	if resp.ID != cmd.ID || resp.CorrelationID != cmd.CorrelationID {
		t.Errorf("response id/correlationId %s/%s, want %s/%s", resp.ID, resp.CorrelationID, cmd.ID, cmd.CorrelationID)
	}
	if !resp.Sender.SameEndpoint(callee) || resp.Sender.InstanceID != b.InstanceID() {
		t.Errorf("response sender %+v, want %+v on instance %s", resp.Sender, callee, b.InstanceID())
	}
	if resp.Receiver == nil || !resp.Receiver.SameEndpoint(caller) || resp.Receiver.InstanceID != a.InstanceID() {
		t.Errorf("response receiver %+v, want %+v on instance %s", resp.Receiver, caller, a.InstanceID())
	}
	if want := `{"greeting":"hello \"ada\""}`; !sameJSON(resp.Payload, []byte(want)) {
		t.Errorf("response payload %s, want %s", resp.Payload, want)
	}
}

func caseInvokeSameInstance(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a := h.start(t)
	register(t, h, a, callee, echo(t, a), bridge.CommandOptions{})
	resp := invoke(t, h, a, command(t, caller, callee, []int{1, 2, 3}))
	if resp.MessageType != wire.TypeCommandSuccessResponse || !sameJSON(resp.Payload, []byte("[1,2,3]")) {
		t.Errorf("response %s %s, want success [1,2,3]", resp.MessageType, resp.Payload)
	}
}

func errorPayload(t *testing.T, resp *wire.Message) wire.ErrorPayload {
	t.Helper()
	if resp.MessageType != wire.TypeCommandErrorResponse {
		t.Fatalf("response type %s, want commandErrorResponse", resp.MessageType)
	}
	var p wire.ErrorPayload
	if err := json.Unmarshal(resp.Payload, &p); err != nil {
		t.Fatalf("error payload %s: %v", resp.Payload, err)
	}
	return p
}

func caseInvokeHandledError(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	data := json.RawMessage(`{"field":"email","issues":["required"]}`)
	register(t, h, b, callee, func(_ context.Context, cmd *wire.Message) *wire.Message {
		return failure(t, cmd, b.InstanceID(), true, wire.ErrorPayload{Status: 422, Message: "email is required", Data: data})
	}, bridge.CommandOptions{})
	cmd := command(t, caller, callee, 1)
	resp := invoke(t, h, a, cmd)
	p := errorPayload(t, resp)
	if p.Status != 422 || p.Message != "email is required" || !sameJSON(p.Data, data) {
		t.Errorf("error payload %+v (data %s), want 422 / email is required / %s", p, p.Data, data)
	}
	if resp.IsHandledError == nil || !*resp.IsHandledError {
		t.Errorf("isHandledError = %v, want true", resp.IsHandledError)
	}
	if resp.CorrelationID != cmd.CorrelationID {
		t.Errorf("correlationId %s, want %s", resp.CorrelationID, cmd.CorrelationID)
	}
}

func caseInvokeUnhandledError(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	register(t, h, b, callee, func(_ context.Context, cmd *wire.Message) *wire.Message {
		return failure(t, cmd, b.InstanceID(), false, wire.ErrorPayload{Status: 500, Message: "Internal Server Error"})
	}, bridge.CommandOptions{})
	resp := invoke(t, h, a, command(t, caller, callee, 1))
	p := errorPayload(t, resp)
	if p.Status != 500 || p.Message != "Internal Server Error" || len(p.Data) != 0 {
		t.Errorf("error payload %+v, want a bare 500", p)
	}
	if resp.IsHandledError == nil || *resp.IsHandledError {
		t.Errorf("isHandledError = %v, want false", resp.IsHandledError)
	}
}

func caseInvokeNilResponse(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	register(t, h, b, callee, func(context.Context, *wire.Message) *wire.Message { return nil }, bridge.CommandOptions{})
	cmd := command(t, caller, callee, 1)
	resp := invoke(t, h, a, cmd)
	if p := errorPayload(t, resp); p.Status != 500 || len(p.Data) != 0 {
		t.Errorf("error payload %+v, want an unhandled 500 without data", p)
	}
	if resp.IsHandledError != nil && *resp.IsHandledError {
		t.Error("isHandledError = true, want false")
	}
	if resp.CorrelationID != cmd.CorrelationID {
		t.Errorf("correlationId %s, want %s", resp.CorrelationID, cmd.CorrelationID)
	}
}

func caseInvokeUnknownCommand(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a := h.start(t)
	// Without fail-fast, the call can only time out: keep it short. With it, a timeout far
	// beyond the ctx's deadline (h.Wait) makes a bridge that waits fail with a ctx error.
	timeout := refuseTimeout
	if h.Features.NoFailFastUnknownCommand {
		timeout = 500 * time.Millisecond
	}
	resp, err := a.Invoke(h.ctx(t), command(t, caller, callee, 1), timeout)
	switch {
	case errors.Is(err, bridge.ErrNoHandler):
	case h.Features.NoFailFastUnknownCommand && errors.Is(err, bridge.ErrTimeout):
	default:
		t.Fatalf("Invoke of an unknown command = %v, %v; want ErrNoHandler at once", resp, err)
	}
}

// caseInvokeTimeout: a handler that answers only after its ctx ended makes the caller see
// ErrTimeout, not before the timeout, and the handler's ctx ends. The handler answers once
// the caller gave up (Invoke returned); with Features.InlineHandlers the caller waits for
// the handler, which then answers as soon as its ctx ended: late all the same.
func caseInvokeTimeout(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	release := make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	cancelled := make(chan struct{})
	register(t, h, b, callee, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		<-ctx.Done()
		close(cancelled)
		if !h.Features.InlineHandlers {
			<-release
		}
		return success(cmd, b.InstanceID(), json.RawMessage(`"late"`))
	}, bridge.CommandOptions{Timeout: 300 * time.Millisecond})
	t.Cleanup(free)
	start := time.Now()
	resp, err := a.Invoke(h.ctx(t), command(t, caller, callee, 1), 300*time.Millisecond)
	free()
	if !errors.Is(err, bridge.ErrTimeout) { // a bridge that overran h.Wait ends with the ctx's error
		t.Fatalf("Invoke = %v, %v; want ErrTimeout", resp, err)
	}
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond {
		t.Errorf("ErrTimeout after %s, before the 300ms timeout", elapsed)
	}
	select {
	case <-cancelled:
	case <-time.After(h.Wait):
		t.Fatal("the handler's ctx was not cancelled after the timeout")
	}
}

func caseInvokeCallerCancelled(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	started, release := make(chan struct{}, 1), make(chan struct{})
	register(t, h, b, callee, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		started <- struct{}{}
		select { // only the caller's cancellation can end the call
		case <-ctx.Done():
		case <-release:
		}
		return nil
	}, bridge.CommandOptions{Timeout: refuseTimeout})
	t.Cleanup(func() { close(release) })
	ctx, cancel := context.WithCancel(h.ctx(t))
	go func() {
		select {
		case <-started:
		case <-time.After(h.Wait):
		}
		cancel()
	}()
	_, err := a.Invoke(ctx, command(t, caller, callee, 1), h.Wait)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Invoke with a cancelled ctx = %v, want context.Canceled", err)
	}
}

func caseInvokeConcurrent(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	register(t, h, b, callee, echo(t, b), bridge.CommandOptions{})
	const n = 1000
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := a.Invoke(h.ctx(t), command(t, caller, callee, i), h.Wait)
			switch {
			case err != nil:
				errs <- fmt.Errorf("invoke %d: %w", i, err)
			case !sameJSON(resp.Payload, []byte(fmt.Sprint(i))):
				errs <- fmt.Errorf("invoke %d got the answer %s", i, resp.Payload)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func caseInvokeLoadShared(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a, b1, b2 := h.start(t), h.start(t), h.start(t)
	var mu sync.Mutex
	handled := map[string]int{} // command id → times handled
	perInstance := map[string]int{}
	for _, b := range []bridge.EventBridge{b1, b2} {
		register(t, h, b, callee, func(_ context.Context, cmd *wire.Message) *wire.Message {
			mu.Lock()
			handled[cmd.ID]++
			perInstance[b.InstanceID()]++
			mu.Unlock()
			return success(cmd, b.InstanceID(), json.RawMessage(`true`))
		}, bridge.CommandOptions{})
	}
	const n = 200
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := a.Invoke(h.ctx(t), command(t, caller, callee, i), h.Wait); err != nil {
				t.Errorf("invoke %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(handled) != n {
		t.Errorf("%d distinct commands handled, want %d", len(handled), n)
	}
	for id, c := range handled {
		if c != 1 {
			t.Errorf("command %s handled %d times", id, c)
		}
	}
	if perInstance[b1.InstanceID()] == 0 || perInstance[b2.InstanceID()] == 0 {
		t.Errorf("load not shared: %v", perInstance)
	}
}

func caseInvokeMetadata(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	seen := make(chan *wire.Message, 1)
	register(t, h, b, callee, func(_ context.Context, cmd *wire.Message) *wire.Message {
		seen <- cmd
		return success(cmd, b.InstanceID(), json.RawMessage(`{}`))
	}, bridge.CommandOptions{})
	cmd := command(t, caller, callee, 1)
	cmd.PrincipalID, cmd.TenantID = uniq("principal"), uniq("tenant")
	cmd.OTP = `{"traceparent":"00-` + wire.NewID() + `-` + wire.NewID()[:16] + `-01"}`
	resp := invoke(t, h, a, cmd)
	got := <-seen
	check := func(where string, m *wire.Message) {
		if m.PrincipalID != cmd.PrincipalID || m.TenantID != cmd.TenantID || m.TraceID != cmd.TraceID || m.OTP != cmd.OTP {
			t.Errorf("%s carries principal/tenant/trace/otp %q/%q/%q/%q, want %q/%q/%q/%q", where,
				m.PrincipalID, m.TenantID, m.TraceID, m.OTP, cmd.PrincipalID, cmd.TenantID, cmd.TraceID, cmd.OTP)
		}
	}
	check("command at the handler", got)
	check("response at the caller", resp)
}

func caseInvokeLargePayload(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	register(t, h, b, callee, echo(t, b), bridge.CommandOptions{})
	size := 1 << 20 // 1 MiB
	if m := h.Features.MaxPayload; m > 0 {
		size = max(m-8<<10, 512<<10) // room for the envelope
		over := strings.Repeat("x", m+1)
		// A bridge that waits instead of failing at once ends with the ctx's error.
		if _, err := a.Invoke(h.ctx(t), command(t, caller, callee, over), refuseTimeout); err == nil {
			t.Fatalf("an input over MaxPayload (%d bytes) was accepted", m)
		} else if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, bridge.ErrTimeout) {
			t.Fatalf("an input over MaxPayload did not fail at once: %v", err)
		}
	}
	big := strings.Repeat("0123456789abcdef", size/16)
	resp := invoke(t, h, a, command(t, caller, callee, big))
	var got string
	if err := json.Unmarshal(resp.Payload, &got); err != nil || got != big {
		t.Fatalf("%d-byte payload came back with %d bytes (err %v)", len(big), len(got), err)
	}
}

func caseMessagesAreCopies(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	name := uniq("btEvent")
	a, b := h.start(t), h.start(t)
	register(t, h, b, callee, func(_ context.Context, cmd *wire.Message) *wire.Message {
		for i := range cmd.Payload {
			cmd.Payload[i] = ' '
		}
		cmd.Receiver.ServiceName = "mutated"
		return success(cmd, b.InstanceID(), json.RawMessage(`"ok"`))
	}, bridge.CommandOptions{})
	cmd := command(t, caller, callee, "original")
	before, _ := json.Marshal(cmd)
	invoke(t, h, a, cmd)
	if after, _ := json.Marshal(cmd); string(after) != string(before) {
		t.Errorf("the handler's changes leaked into the caller's command:\n%s\n%s", before, after)
	}

	var first, second recorder
	mutate := func(ctx context.Context, m *wire.Message) error {
		for i := range m.Payload {
			m.Payload[i] = ' '
		}
		m.EventName = "mutated"
		return first.handle(ctx, m)
	}
	subscribe(t, h, b, bridge.Subscription{Subscriber: addr(callee.ServiceName, "first"), Filter: bridge.Filter{EventName: name}}, mutate)
	subscribe(t, h, b, bridge.Subscription{Subscriber: addr(callee.ServiceName, "second"), Filter: bridge.Filter{EventName: name}}, second.handle)
	ev := event(t, caller, name, map[string]int{"n": 1})
	evBefore, _ := json.Marshal(ev)
	emit(t, h, a, ev)
	h.eventually(t, "both subscriptions to receive the event", func() bool { return first.count() == 1 && second.count() == 1 })
	if got := second.all()[0]; got.EventName != name || !sameJSON(got.Payload, []byte(`{"n":1}`)) {
		t.Errorf("one subscriber's changes leaked into another's copy: %s %s", got.EventName, got.Payload)
	}
	if evAfter, _ := json.Marshal(ev); string(evAfter) != string(evBefore) {
		t.Error("a subscriber's changes leaked into the emitter's message")
	}
}

func caseInvalidOutgoing(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a := h.start(t)
	noReceiver := command(t, caller, callee, 1)
	noReceiver.Receiver = nil
	noCorrelation := command(t, caller, callee, 1)
	noCorrelation.CorrelationID = ""
	for _, tc := range []struct {
		name string
		msg  *wire.Message
	}{
		{"event", event(t, caller, uniq("btEvent"), 1)},
		{"command without receiver", noReceiver},
		{"command without correlationId", noCorrelation},
	} {
		if _, err := a.Invoke(h.ctx(t), tc.msg, time.Second); err == nil {
			t.Errorf("Invoke of a %s: no error", tc.name)
		}
	}
	noName := event(t, caller, "", 1)
	if err := a.Emit(h.ctx(t), noName); !errors.Is(err, wire.ErrInvalidMessage) {
		t.Errorf("Emit of a customMessage without eventName = %v, want wire.ErrInvalidMessage", err)
	}
	// The bridge still works.
	register(t, h, a, callee, echo(t, a), bridge.CommandOptions{})
	invoke(t, h, a, command(t, caller, callee, 1))
}

func caseGarbage(t *testing.T, h Harness) {
	if h.InjectRaw == nil {
		t.Skip("Harness.InjectRaw is nil: the bridge offers no way to push raw bytes into its transport")
	}
	t.Parallel()
	caller, callee := endpoints()
	name := uniq("btEvent")
	a, b := h.start(t), h.start(t)
	register(t, h, b, callee, echo(t, b), bridge.CommandOptions{})
	var rec recorder
	subscribe(t, h, b, bridge.Subscription{Subscriber: addr(uniq("BtSub"), "onEvent"), Filter: bridge.Filter{EventName: name}}, rec.handle)
	garbage := [][]byte{
		nil, {}, []byte("null"), []byte("{"), []byte("[]"), []byte(`"string"`), []byte("42"),
		{0xff, 0xfe, 0x00, 0x01}, []byte(strings.Repeat("[", 20000)),
		[]byte(`{"messageType":"customMessage"}`),
		[]byte(`{"messageType":"command","id":"x","sender":{"serviceName":"x"}}`),
		[]byte(`{"messageType":"customMessage","id":"x","sender":{"serviceName":"x"},"eventName":"` + name + `","payload":{`),
		[]byte(`{"messageType":"noSuchType","id":"x","sender":{"serviceName":"x"},"eventName":"` + name + `"}`),
		[]byte(`{"messageType":"customMessage","id":1,"sender":"x","eventName":"` + name + `"}`),
		[]byte(`{"messageType":"commandSuccessResponse","id":"x","sender":{"serviceName":"x"},"correlationId":"nobody-waits"}`),
	}
	for _, raw := range garbage {
		h.InjectRaw(t, b, raw)
	}
	valid := event(t, caller, name, "after garbage")
	raw, err := wire.Encode(valid)
	if err != nil {
		t.Fatal(err)
	}
	h.InjectRaw(t, b, raw)
	h.eventually(t, "the valid injected event", func() bool { return rec.ids()[valid.ID] == 1 })
	if err := b.Healthy(h.ctx(t)); err != nil {
		t.Fatalf("Healthy after garbage: %v", err)
	}
	invoke(t, h, a, command(t, caller, callee, 1))
	emit(t, h, a, event(t, caller, name, 2))
	h.eventually(t, "an emitted event after garbage", func() bool { return rec.count() >= 2 })
	h.steady(t, "no garbage delivered", func() bool { return rec.count() == 2 })
}
