package bridgetest

import (
	"context"
	"encoding/hex"
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

// Cases returns the bridge-level conformance cases, in a stable order.
func Cases() []Case {
	cs := []Case{
		{"NameAndInstanceID", caseNameAndInstanceID},
		{"HealthTransitions", caseHealthTransitions},
		{"HealthDisrupted", caseHealthDisrupted},
		{"StartTwiceCloseTwice", caseStartTwiceCloseTwice},
		{"CloseWithoutStart", caseCloseWithoutStart},
		{"NotStartedErrors", caseNotStartedErrors},
		{"RegisterBeforeStart", caseRegisterBeforeStart},
		{"InvokeSuccess", caseInvokeSuccess},
		{"InvokeSameInstance", caseInvokeSameInstance},
		{"InvokeHandledError", caseInvokeHandledError},
		{"InvokeUnhandledError", caseInvokeUnhandledError},
		{"InvokeNilResponseIsUnhandled500", caseInvokeNilResponse},
		{"InvokeUnknownCommand", caseInvokeUnknownCommand},
		{"InvokeTimeout", caseInvokeTimeout},
		{"InvokeCallerContextCancelled", caseInvokeCallerCancelled},
		{"InvokeConcurrent1000", caseInvokeConcurrent},
		{"InvokeLoadShared", caseInvokeLoadShared},
		{"InvokeMetadataPropagates", caseInvokeMetadata},
		{"InvokeLargePayload", caseInvokeLargePayload},
		{"MessagesAreCopies", caseMessagesAreCopies},
		{"InvokeAfterClose", caseInvokeAfterClose},
		{"EmitAfterClose", caseEmitAfterClose},
		{"RegisterAfterClose", caseRegisterAfterClose},
		{"InvalidOutgoingRejected", caseInvalidOutgoing},
		{"DuplicateCommand", caseDuplicateCommand},
		{"DuplicateSubscription", caseDuplicateSubscription},
		{"UnregisterCommand", caseUnregisterCommand},
		{"UnregisterSubscription", caseUnregisterSubscription},
		{"EmitNoSubscribers", caseEmitNoSubscribers},
		{"EmitDoesNotWaitForHandlers", caseEmitAsync},
		{"EmitSameInstance", caseEmitSameInstance},
		{"EveryInstanceSubscription", caseEveryInstance},
		{"SharedSubscription", caseShared},
		{"LargeFanOut", caseLargeFanOut},
		{"ConcurrentEmit", caseConcurrentEmit},
		{"CommandsNotDeliveredToSubscriptions", caseCommandsNotDelivered},
		{"CommandSubscription", caseCommandSubscription},
		{"SuccessResponseEventReachesSubscribers", caseResponseEvent},
	}
	cs = append(cs, filterCases()...)
	cs = append(cs, frameworkCases()...)
	cs = append(cs, []Case{
		{"RetryThenDeadLetter", caseRetryThenDeadLetter},
		{"DeadLetterObservedByOtherInstance", caseDeadLetterOtherInstance},
		{"RedeliveryAfterFailure", caseRedelivery},
		{"RetryImmediatePolicy", caseRetryPolicy(bridge.RetryPolicy{MaxAttempts: 4, Backoff: bridge.BackoffImmediate}, 4)},
		{"RetryExponentialPolicy", caseRetryPolicy(bridge.RetryPolicy{MaxAttempts: 4, Backoff: bridge.BackoffExponential,
			InitialInterval: 5 * time.Millisecond, MaxInterval: 40 * time.Millisecond}, 4)},
		{"RetryDefaultMaxAttempts", caseRetryPolicy(bridge.RetryPolicy{Backoff: bridge.BackoffExponential,
			InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}, bridge.DefaultMaxAttempts)},
		{"DrainCompletesInFlightCommand", caseDrainCommand},
		{"DrainCompletesInFlightEvent", caseDrainEvent},
		{"CloseDeadlineCancelsStuckHandler", caseCloseDeadline},
		{"ClosedInstanceReceivesNothing", caseClosedInstanceReceivesNothing},
		{"GarbageNeverCrashes", caseGarbage},
		{"DurableSubscription", caseDurable},
	}...)
	return cs
}

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
	timeout := h.Wait
	if h.Features.NoFailFastUnknownCommand {
		timeout = 500 * time.Millisecond
	}
	start := time.Now()
	resp, err := a.Invoke(h.ctx(t), command(t, caller, callee, 1), timeout)
	elapsed := time.Since(start)
	switch {
	case errors.Is(err, bridge.ErrNoHandler):
		if elapsed >= timeout {
			t.Errorf("ErrNoHandler took %s, the whole timeout", elapsed)
		}
	case h.Features.NoFailFastUnknownCommand && errors.Is(err, bridge.ErrTimeout):
	default:
		t.Fatalf("Invoke of an unknown command = %v, %v; want ErrNoHandler", resp, err)
	}
}

func caseInvokeTimeout(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	release := make(chan struct{})
	cancelled := make(chan struct{})
	register(t, h, b, callee, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		<-ctx.Done()
		close(cancelled)
		select { // answer only after the caller gave up, so that it must see ErrTimeout
		case <-release:
		case <-time.After(h.Wait):
		}
		return nil
	}, bridge.CommandOptions{Timeout: 300 * time.Millisecond})
	t.Cleanup(func() { close(release) })
	start := time.Now()
	resp, err := a.Invoke(h.ctx(t), command(t, caller, callee, 1), 300*time.Millisecond)
	if !errors.Is(err, bridge.ErrTimeout) {
		t.Fatalf("Invoke = %v, %v; want ErrTimeout", resp, err)
	}
	if elapsed := time.Since(start); elapsed > h.Wait {
		t.Errorf("ErrTimeout after %s, want well within %s", elapsed, h.Wait)
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
	started := make(chan struct{}, 1)
	register(t, h, b, callee, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		started <- struct{}{}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
		return nil
	}, bridge.CommandOptions{Timeout: time.Second})
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
		start := time.Now()
		if _, err := a.Invoke(context.Background(), command(t, caller, callee, over), h.Wait); err == nil {
			t.Fatalf("an input over MaxPayload (%d bytes) was accepted", m)
		} else if time.Since(start) >= h.Wait {
			t.Fatalf("an input over MaxPayload failed only after the timeout: %v", err)
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

func caseEmitNoSubscribers(t *testing.T, h Harness) {
	t.Parallel()
	caller, _ := endpoints()
	a := h.start(t)
	emit(t, h, a, event(t, caller, uniq("btNobodyListens"), 1))
	if err := a.Healthy(h.ctx(t)); err != nil {
		t.Fatalf("Healthy after emitting into the void: %v", err)
	}
}

func caseEmitAsync(t *testing.T, h Harness) {
	t.Parallel()
	caller, _ := endpoints()
	name := uniq("btEvent")
	a, b := h.start(t), h.start(t)
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	subscribe(t, h, b, bridge.Subscription{Subscriber: addr(uniq("BtSub"), "slow"), Filter: bridge.Filter{EventName: name}},
		func(ctx context.Context, _ *wire.Message) error {
			started <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		})
	t.Cleanup(func() { close(release) })
	done := make(chan error, 1)
	go func() { done <- a.Emit(h.ctx(t), event(t, caller, name, 1)) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Emit: %v", err)
		}
	case <-time.After(h.Wait):
		t.Fatal("Emit waits for the subscription handler")
	}
	select {
	case <-started:
	case <-time.After(h.Wait):
		t.Fatal("the handler never ran")
	}
}

func caseEmitSameInstance(t *testing.T, h Harness) {
	t.Parallel()
	caller, _ := endpoints()
	name := uniq("btEvent")
	a := h.start(t)
	var rec recorder
	subscribe(t, h, a, bridge.Subscription{Subscriber: addr(caller.ServiceName, "self"), Filter: bridge.Filter{EventName: name}}, rec.handle)
	ev := event(t, caller, name, 1)
	emit(t, h, a, ev)
	h.eventually(t, "the instance to receive its own event", func() bool { return rec.count() == 1 })
	got := rec.all()[0]
	if got.ID != ev.ID || got.MessageType != wire.TypeCustomMessage || got.Sender.InstanceID != a.InstanceID() {
		t.Errorf("received %s %s from %+v, want %s customMessage from instance %s", got.ID, got.MessageType, got.Sender, ev.ID, a.InstanceID())
	}
}

// twoInstances registers sub on two new instances and emits n events from a third; it
// returns the recorders of the two instances and the emitted ids.
func twoInstances(t *testing.T, h Harness, every bool, n int) (r1, r2 *recorder, ids []string) {
	caller, _ := endpoints()
	name := uniq("btEvent")
	a, b1, b2 := h.start(t), h.start(t), h.start(t)
	r1, r2 = &recorder{}, &recorder{}
	sub := bridge.Subscription{Subscriber: addr(uniq("BtSub"), "onEvent"), Filter: bridge.Filter{EventName: name}, EveryInstance: every}
	subscribe(t, h, b1, sub, r1.handle)
	subscribe(t, h, b2, sub, r2.handle)
	for i := range n {
		ev := event(t, caller, name, i)
		ids = append(ids, ev.ID)
		emit(t, h, a, ev)
	}
	return r1, r2, ids
}

func caseEveryInstance(t *testing.T, h Harness) {
	if h.Features.NoEveryInstance {
		t.Skip("Features.NoEveryInstance: the bridge has no every-instance subscriptions")
	}
	t.Parallel()
	r1, r2, ids := twoInstances(t, h, true, 10)
	h.eventually(t, "both instances to receive every event", func() bool { return len(r1.ids()) == 10 && len(r2.ids()) == 10 })
	for _, r := range []*recorder{r1, r2} {
		got := r.ids()
		for _, id := range ids {
			if got[id] == 0 {
				t.Errorf("event %s missing", id)
			}
		}
	}
}

func caseShared(t *testing.T, h Harness) {
	t.Parallel()
	r1, r2, ids := twoInstances(t, h, false, 20)
	total := func() int { return r1.count() + r2.count() }
	h.eventually(t, "all events to be handled", func() bool { return total() >= len(ids) })
	h.steady(t, "each event handled exactly once", func() bool { return total() == len(ids) })
	got := r1.ids()
	for id, n := range r2.ids() {
		got[id] += n
	}
	for _, id := range ids {
		if got[id] != 1 {
			t.Errorf("event %s handled %d times, want once", id, got[id])
		}
	}
}

func caseLargeFanOut(t *testing.T, h Harness) {
	t.Parallel()
	caller, _ := endpoints()
	name := uniq("btEvent")
	a, b1, b2 := h.start(t), h.start(t), h.start(t)
	const subs, events = 24, 20
	recs := make([]*recorder, subs)
	svc := uniq("BtFan")
	for i := range recs {
		recs[i] = &recorder{}
		b := b1
		if i%2 == 1 {
			b = b2
		}
		subscribe(t, h, b, bridge.Subscription{Subscriber: addr(svc, fmt.Sprintf("sub%d", i)), Filter: bridge.Filter{EventName: name}}, recs[i].handle)
	}
	for i := range events {
		emit(t, h, a, event(t, caller, name, i))
	}
	h.eventually(t, "every subscription to receive every event", func() bool {
		for _, r := range recs {
			if len(r.ids()) < events {
				return false
			}
		}
		return true
	})
}

func caseConcurrentEmit(t *testing.T, h Harness) {
	t.Parallel()
	caller, _ := endpoints()
	name := uniq("btEvent")
	a, b := h.start(t), h.start(t)
	var rec recorder
	subscribe(t, h, b, bridge.Subscription{Subscriber: addr(uniq("BtSub"), "onEvent"), Filter: bridge.Filter{EventName: name}}, rec.handle)
	const goroutines, each = 20, 25
	var mu sync.Mutex
	var ids []string
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				ev := event(t, caller, name, g*each+i)
				if err := a.Emit(h.ctx(t), ev); err != nil {
					t.Errorf("Emit: %v", err)
					return
				}
				mu.Lock()
				ids = append(ids, ev.ID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	h.eventually(t, "every concurrently emitted event", func() bool { return len(rec.ids()) == goroutines*each })
	got := rec.ids()
	for _, id := range ids {
		if got[id] == 0 {
			t.Errorf("event %s missing", id)
		}
	}
}

func caseCommandsNotDelivered(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	register(t, h, b, callee, echo(t, b), bridge.CommandOptions{})
	var rec recorder
	subscribe(t, h, b, bridge.Subscription{Subscriber: addr(uniq("BtSub"), "watch"),
		Filter: bridge.Filter{Receiver: bridge.AddressFilter{ServiceName: callee.ServiceName}}}, rec.handle)
	invoke(t, h, a, command(t, caller, callee, 1))
	h.steady(t, "no command delivered to a subscription without MessageType command", func() bool { return rec.count() == 0 })
}

func caseCommandSubscription(t *testing.T, h Harness) {
	if h.Features.NoCommandSubscription {
		t.Skip("Features.NoCommandSubscription: subscriptions cannot observe commands")
	}
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	register(t, h, b, callee, echo(t, b), bridge.CommandOptions{})
	var rec recorder
	subscribe(t, h, b, bridge.Subscription{Subscriber: addr(uniq("BtSub"), "audit"),
		Filter: bridge.Filter{MessageType: wire.TypeCommand, Receiver: bridge.AddressFilter{ServiceName: callee.ServiceName}}}, rec.handle)
	cmd := command(t, caller, callee, 1)
	invoke(t, h, a, cmd)
	h.eventually(t, "the command to reach the subscription that asks for commands", func() bool { return rec.count() >= 1 })
	if got := rec.all()[0]; got.ID != cmd.ID || got.MessageType != wire.TypeCommand {
		t.Errorf("subscription received %s %s, want command %s", got.MessageType, got.ID, cmd.ID)
	}
}

func caseResponseEvent(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	name := uniq("btDone")
	a, b, c := h.start(t), h.start(t), h.start(t)
	register(t, h, b, callee, func(_ context.Context, cmd *wire.Message) *wire.Message {
		resp := success(cmd, b.InstanceID(), json.RawMessage(`{"id":42}`))
		resp.EventName = name
		return resp
	}, bridge.CommandOptions{})
	var rec recorder
	subscribe(t, h, c, bridge.Subscription{Subscriber: addr(uniq("BtSub"), "onDone"), Filter: bridge.Filter{EventName: name}}, rec.handle)
	cmd := command(t, caller, callee, 1)
	if resp := invoke(t, h, a, cmd); resp.EventName != name {
		t.Errorf("response eventName %q, want %q", resp.EventName, name)
	}
	h.eventually(t, "the success event to reach the subscription", func() bool { return rec.count() >= 1 })
	got := rec.all()[0]
	if got.MessageType != wire.TypeCommandSuccessResponse || got.CorrelationID != cmd.CorrelationID || !sameJSON(got.Payload, []byte(`{"id":42}`)) {
		t.Errorf("subscription received %s correlationId %s payload %s", got.MessageType, got.CorrelationID, got.Payload)
	}
	if !got.Sender.SameEndpoint(callee) {
		t.Errorf("success event sender %+v, want %+v", got.Sender, callee)
	}
}

// filterCase subscribes with filter, emits miss (must not arrive) and then hit (must).
type filterCase struct {
	name string
	// build returns the filter and the messages; a and b are the emitting instances.
	build func(t *testing.T, a, b bridge.EventBridge) (f bridge.Filter, hit, miss []*wire.Message, emitter []bridge.EventBridge)
}

func filterCases() []Case {
	cs := []filterCase{
		{"FilterEventName", func(t *testing.T, a, _ bridge.EventBridge) (bridge.Filter, []*wire.Message, []*wire.Message, []bridge.EventBridge) {
			from, _ := endpoints()
			name := uniq("btEvent")
			return bridge.Filter{EventName: name},
				[]*wire.Message{event(t, from, name, 1)},
				[]*wire.Message{event(t, from, name+"X", 1)}, nil
		}},
		{"FilterSender", func(t *testing.T, a, _ bridge.EventBridge) (bridge.Filter, []*wire.Message, []*wire.Message, []bridge.EventBridge) {
			svc := uniq("BtSender")
			other := addr(svc, "other")
			otherVersion := addr(svc, "emit")
			otherVersion.ServiceVersion = "2"
			return bridge.Filter{Sender: bridge.AddressFilter{ServiceName: svc, ServiceVersion: "1", ServiceTarget: "emit"}},
				[]*wire.Message{event(t, addr(svc, "emit"), "btAny", 1)},
				[]*wire.Message{event(t, other, "btAny", 1), event(t, otherVersion, "btAny", 1), event(t, addr(uniq("BtSender"), "emit"), "btAny", 1)}, nil
		}},
		{"FilterSenderInstance", func(t *testing.T, a, b bridge.EventBridge) (bridge.Filter, []*wire.Message, []*wire.Message, []bridge.EventBridge) {
			from := addr(uniq("BtSender"), "emit")
			return bridge.Filter{Sender: bridge.AddressFilter{ServiceName: from.ServiceName, InstanceID: a.InstanceID()}},
				[]*wire.Message{event(t, from, "btAny", 1)},
				[]*wire.Message{event(t, from, "btAny", 2)}, []bridge.EventBridge{a, b}
		}},
		{"FilterReceiver", func(t *testing.T, a, _ bridge.EventBridge) (bridge.Filter, []*wire.Message, []*wire.Message, []bridge.EventBridge) {
			from, to := endpoints()
			hit := event(t, from, "btAny", 1)
			hit.Receiver = &to
			miss := event(t, from, "btAny", 2)
			other := to
			other.ServiceTarget = "other"
			miss.Receiver = &other
			noReceiver := event(t, from, "btAny", 3)
			return bridge.Filter{Receiver: bridge.AddressFilter{ServiceName: to.ServiceName, ServiceTarget: to.ServiceTarget}},
				[]*wire.Message{hit}, []*wire.Message{miss, noReceiver}, nil
		}},
		{"FilterMessageType", func(t *testing.T, a, _ bridge.EventBridge) (bridge.Filter, []*wire.Message, []*wire.Message, []bridge.EventBridge) {
			from := addr(uniq("BtSender"), "")
			info := &wire.Message{ID: wire.NewID(), Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON,
				ContentEncoding: wire.EncodingUTF8, MessageType: wire.TypeInfoServiceReady, Sender: from, Payload: json.RawMessage(`{}`)}
			return bridge.Filter{MessageType: wire.TypeInfoServiceReady, Sender: bridge.AddressFilter{ServiceName: from.ServiceName}},
				[]*wire.Message{info}, []*wire.Message{event(t, from, "btAny", 1)}, nil
		}},
		{"FilterPrincipal", func(t *testing.T, a, _ bridge.EventBridge) (bridge.Filter, []*wire.Message, []*wire.Message, []bridge.EventBridge) {
			from, _ := endpoints()
			p := uniq("principal")
			hit, miss, none := event(t, from, "btAny", 1), event(t, from, "btAny", 2), event(t, from, "btAny", 3)
			hit.PrincipalID, miss.PrincipalID = p, p+"x"
			return bridge.Filter{PrincipalID: p}, []*wire.Message{hit}, []*wire.Message{miss, none}, nil
		}},
		{"FilterTenant", func(t *testing.T, a, _ bridge.EventBridge) (bridge.Filter, []*wire.Message, []*wire.Message, []bridge.EventBridge) {
			from, _ := endpoints()
			tn := uniq("tenant")
			hit, miss, none := event(t, from, "btAny", 1), event(t, from, "btAny", 2), event(t, from, "btAny", 3)
			hit.TenantID, miss.TenantID = tn, tn+"x"
			return bridge.Filter{TenantID: tn}, []*wire.Message{hit}, []*wire.Message{miss, none}, nil
		}},
		{"FilterCombined", func(t *testing.T, a, _ bridge.EventBridge) (bridge.Filter, []*wire.Message, []*wire.Message, []bridge.EventBridge) {
			from, _ := endpoints()
			name, p, tn := uniq("btEvent"), uniq("principal"), uniq("tenant")
			mk := func(n string, p, tn string) *wire.Message {
				m := event(t, from, n, 1)
				m.PrincipalID, m.TenantID = p, tn
				return m
			}
			return bridge.Filter{EventName: name, PrincipalID: p, TenantID: tn},
				[]*wire.Message{mk(name, p, tn)},
				[]*wire.Message{mk(name+"x", p, tn), mk(name, p+"x", tn), mk(name, p, tn+"x")}, nil
		}},
	}
	out := make([]Case, 0, len(cs))
	for _, fc := range cs {
		out = append(out, Case{Name: fc.name, Run: func(t *testing.T, h Harness) {
			t.Parallel()
			a, b, s := h.start(t), h.start(t), h.start(t)
			f, hit, miss, emitters := fc.build(t, a, b)
			var rec recorder
			subscribe(t, h, s, bridge.Subscription{Subscriber: addr(uniq("BtFilter"), "sub"), Filter: f}, rec.handle)
			// With two emitters, hits go out from the first and misses from the second.
			hitFrom, missFrom := a, a
			if len(emitters) == 2 {
				hitFrom, missFrom = emitters[0], emitters[1]
			}
			for _, m := range miss {
				emit(t, h, missFrom, m)
			}
			for _, m := range hit {
				emit(t, h, hitFrom, m)
			}
			h.eventually(t, "the matching messages", func() bool { return rec.count() >= len(hit) })
			h.steady(t, "no non-matching message delivered", func() bool { return rec.count() == len(hit) })
			want := map[string]bool{}
			for _, m := range hit {
				want[m.ID] = true
			}
			for _, m := range rec.all() {
				if !want[m.ID] {
					t.Errorf("message %s (%s) should not have matched %+v", m.ID, m.MessageType, f)
				}
			}
		}})
	}
	return out
}

// failing returns a subscription handler that fails the first fails deliveries (all of
// them when fails < 0) and counts attempts and successes.
func failing(fails int, attempts, successes *counter) bridge.MessageHandler {
	return func(context.Context, *wire.Message) error {
		n := attempts.inc()
		if fails < 0 || n <= fails {
			return fmt.Errorf("boom %d", n)
		}
		successes.inc()
		return nil
	}
}

func onDeadLetter(t *testing.T, h Harness, b bridge.EventBridge, subscriber wire.Address) *deadLetters {
	t.Helper()
	var dls deadLetters
	if _, err := b.OnDeadLetter(h.ctx(t), subscriber, dls.handle); err != nil {
		t.Fatalf("OnDeadLetter: %v", err)
	}
	return &dls
}

func caseRetryThenDeadLetter(t *testing.T, h Harness) {
	if h.Features.NoDeadLetter {
		t.Skip("Features.NoDeadLetter: dead letters are not observable")
	}
	t.Parallel()
	caller, _ := endpoints()
	name := uniq("btEvent")
	a, b := h.start(t), h.start(t)
	var attempts, successes counter
	sub := bridge.Subscription{Subscriber: addr(uniq("BtSub"), "fails"), Filter: bridge.Filter{EventName: name},
		Retry: bridge.RetryPolicy{MaxAttempts: 3, Backoff: bridge.BackoffImmediate}}
	subscribe(t, h, b, sub, failing(-1, &attempts, &successes))
	dls := onDeadLetter(t, h, b, wire.Address{})
	ev := event(t, caller, name, 1)
	emit(t, h, a, ev)
	h.eventually(t, "the dead letter", func() bool { return len(dls.all()) == 1 })
	dl := dls.all()[0]
	if dl.Attempts != 3 || !strings.Contains(dl.Reason, "boom 3") {
		t.Errorf("dead letter attempts %d reason %q, want 3 and the last error (boom 3)", dl.Attempts, dl.Reason)
	}
	if dl.Message == nil || dl.Message.ID != ev.ID || dl.Message.EventName != name {
		t.Errorf("dead letter message %+v, want event %s", dl.Message, ev.ID)
	}
	if !dl.Subscriber.SameEndpoint(sub.Subscriber) {
		t.Errorf("dead letter subscriber %+v, want %+v", dl.Subscriber, sub.Subscriber)
	}
	if dl.At.IsZero() {
		t.Error("dead letter without time")
	}
	h.steady(t, "no delivery after the dead letter", func() bool { return attempts.get() == 3 && len(dls.all()) == 1 })
}

func caseDeadLetterOtherInstance(t *testing.T, h Harness) {
	if h.Features.NoDeadLetter {
		t.Skip("Features.NoDeadLetter: dead letters are not observable")
	}
	t.Parallel()
	caller, _ := endpoints()
	name := uniq("btEvent")
	a, b, c := h.start(t), h.start(t), h.start(t)
	var attempts, successes counter
	sub := bridge.Subscription{Subscriber: addr(uniq("BtSub"), "fails"), Filter: bridge.Filter{EventName: name},
		Retry: bridge.RetryPolicy{MaxAttempts: 2, Backoff: bridge.BackoffImmediate}}
	subscribe(t, h, b, sub, failing(-1, &attempts, &successes))
	dls := onDeadLetter(t, h, c, sub.Subscriber)
	emit(t, h, a, event(t, caller, name, 1))
	h.eventually(t, "the dead letter at another instance", func() bool { return len(dls.all()) == 1 })
	if dl := dls.all()[0]; dl.Attempts != 2 || !strings.Contains(dl.Reason, "boom") {
		t.Errorf("dead letter attempts %d reason %q", dl.Attempts, dl.Reason)
	}
}

func caseRedelivery(t *testing.T, h Harness) {
	t.Parallel()
	caller, _ := endpoints()
	name := uniq("btEvent")
	a, b := h.start(t), h.start(t)
	var attempts, successes counter
	sub := bridge.Subscription{Subscriber: addr(uniq("BtSub"), "flaky"), Filter: bridge.Filter{EventName: name},
		Retry: bridge.RetryPolicy{MaxAttempts: 5, InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond}}
	subscribe(t, h, b, sub, failing(2, &attempts, &successes))
	var dls *deadLetters
	if !h.Features.NoDeadLetter {
		dls = onDeadLetter(t, h, b, wire.Address{})
	}
	emit(t, h, a, event(t, caller, name, 1))
	h.eventually(t, "the third delivery to succeed", func() bool { return successes.get() == 1 })
	h.steady(t, "handled once successfully and not dead-lettered", func() bool {
		return attempts.get() == 3 && successes.get() == 1 && (dls == nil || len(dls.all()) == 0)
	})
}

func caseRetryPolicy(p bridge.RetryPolicy, want int) func(t *testing.T, h Harness) {
	return func(t *testing.T, h Harness) {
		t.Parallel()
		caller, _ := endpoints()
		name := uniq("btEvent")
		a, b := h.start(t), h.start(t)
		var attempts, successes counter
		sub := bridge.Subscription{Subscriber: addr(uniq("BtSub"), "fails"), Filter: bridge.Filter{EventName: name}, Retry: p}
		subscribe(t, h, b, sub, failing(-1, &attempts, &successes))
		var dls *deadLetters
		if !h.Features.NoDeadLetter {
			dls = onDeadLetter(t, h, b, wire.Address{})
		}
		emit(t, h, a, event(t, caller, name, 1))
		h.eventually(t, fmt.Sprintf("%d delivery attempts", want), func() bool { return attempts.get() >= want })
		if dls != nil {
			h.eventually(t, "the dead letter", func() bool { return len(dls.all()) == 1 })
			if got := dls.all()[0].Attempts; got != want {
				t.Errorf("dead letter counts %d attempts, want %d", got, want)
			}
		}
		h.steady(t, fmt.Sprintf("exactly %d attempts", want), func() bool { return attempts.get() == want })
	}
}

func caseDrainCommand(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	started := make(chan struct{})
	register(t, h, b, callee, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		close(started)
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return nil
		}
		return success(cmd, b.InstanceID(), json.RawMessage(`"finished"`))
	}, bridge.CommandOptions{})
	type result struct {
		resp *wire.Message
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := a.Invoke(h.ctx(t), command(t, caller, callee, 1), h.Wait)
		done <- result{resp, err}
	}()
	select {
	case <-started:
	case <-time.After(h.Wait):
		t.Fatal("handler never started")
	}
	if err := b.Close(h.ctx(t)); err != nil {
		t.Fatalf("Close while a handler runs: %v", err)
	}
	r := <-done
	if r.err != nil || r.resp.MessageType != wire.TypeCommandSuccessResponse || !sameJSON(r.resp.Payload, []byte(`"finished"`)) {
		t.Fatalf("in-flight invoke ended with %v %v, want the finished answer", r.resp, r.err)
	}
	if _, err := b.Invoke(h.ctx(t), command(t, caller, callee, 2), h.Wait); !errors.Is(err, bridge.ErrClosed) {
		t.Errorf("Invoke on the closed instance = %v, want ErrClosed", err)
	}
}

func caseDrainEvent(t *testing.T, h Harness) {
	t.Parallel()
	caller, _ := endpoints()
	name := uniq("btEvent")
	a, b := h.start(t), h.start(t)
	started := make(chan struct{}, 1)
	var finished counter
	subscribe(t, h, b, bridge.Subscription{Subscriber: addr(uniq("BtSub"), "slow"), Filter: bridge.Filter{EventName: name}},
		func(ctx context.Context, _ *wire.Message) error {
			started <- struct{}{}
			select {
			case <-time.After(200 * time.Millisecond):
				finished.inc()
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	emit(t, h, a, event(t, caller, name, 1))
	select {
	case <-started:
	case <-time.After(h.Wait):
		t.Fatal("handler never started")
	}
	if err := b.Close(h.ctx(t)); err != nil {
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

func caseDurable(t *testing.T, h Harness) {
	if h.Features.NoDurable {
		t.Skip("Features.NoDurable: messages emitted while no instance runs are lost")
	}
	t.Parallel()
	caller, _ := endpoints()
	name := uniq("btEvent")
	a, b1 := h.start(t), h.start(t)
	sub := bridge.Subscription{Subscriber: addr(uniq("BtSub"), "durable"), Filter: bridge.Filter{EventName: name}, Durable: true}
	var rec1 recorder
	subscribe(t, h, b1, sub, rec1.handle)
	if err := b1.Close(h.ctx(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var ids []string
	for i := range 3 {
		ev := event(t, caller, name, i)
		ids = append(ids, ev.ID)
		emit(t, h, a, ev)
	}
	b2 := h.newBridge(t)
	var rec2 recorder
	subscribe(t, h, b2, sub, rec2.handle)
	if err := b2.Start(h.ctx(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	h.eventually(t, "the events kept while no instance ran", func() bool {
		got := rec2.ids()
		for _, id := range ids {
			if got[id] == 0 {
				return false
			}
		}
		return true
	})
}
