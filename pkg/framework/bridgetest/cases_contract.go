package bridgetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// The cases of this file hold every bridge to the contract all bridges share: a success
// response with an eventName serves its caller and every subscription that selects it,
// a drain refuses new commands at once, and a forced stop answers every caller 503.
// None of them depends on how fast anything runs: callers wait with an invoke timeout
// (refuseTimeout) far beyond the test's own deadline, so a caller left waiting fails the
// case with a context error instead of passing late, and stops are triggered by
// cancelling Close's context once the drain has visibly begun.

// refuseTimeout is the invoke timeout of calls that must be answered without waiting
// for it: far longer than Harness.Wait, the deadline of the calls' contexts.
const refuseTimeout = 2 * time.Minute

// outcome is what one Invoke returned.
type outcome struct {
	resp *wire.Message
	err  error
}

// invokeAsync invokes cmd on a with refuseTimeout and h's deadline, and sends the outcome.
func invokeAsync(t *testing.T, h Harness, a bridge.EventBridge, cmd *wire.Message, out chan<- outcome) {
	ctx := h.ctx(t)
	go func() { // ends when Invoke returns, at the latest at ctx's deadline
		resp, err := a.Invoke(ctx, cmd, refuseTimeout)
		out <- outcome{resp, err}
	}()
}

// unhandled503 reports why o is not an unhandled 503 response ("" when it is).
func unhandled503(o outcome) string {
	if o.err != nil {
		return fmt.Sprintf("error %v", o.err)
	}
	if o.resp == nil {
		return "neither a response nor an error"
	}
	if o.resp.MessageType != wire.TypeCommandErrorResponse {
		return fmt.Sprintf("a %s %s", o.resp.MessageType, o.resp.Payload)
	}
	var p wire.ErrorPayload
	if err := json.Unmarshal(o.resp.Payload, &p); err != nil {
		return fmt.Sprintf("error payload %s: %v", o.resp.Payload, err)
	}
	handled := o.resp.IsHandledError != nil && *o.resp.IsHandledError
	if p.Status != http.StatusServiceUnavailable || handled {
		return fmt.Sprintf("status %d (handled %v): %s", p.Status, handled, p.Message)
	}
	return ""
}

// beginClose starts closeFn (b's Close, or a runtime's Shutdown on b) and waits until b
// reports that its drain has begun (Healthy wraps ErrClosed). The returned channel
// yields closeFn's result.
func beginClose(t *testing.T, h Harness, b bridge.EventBridge, closeFn func() error) <-chan error {
	t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- closeFn() }() // ends when the drain ends or its ctx does
	hctx := h.ctx(t)
	h.eventually(t, "the drain to begin (Healthy wrapping ErrClosed)", func() bool {
		return errors.Is(b.Healthy(hctx), bridge.ErrClosed)
	})
	return closed
}

// await returns the value c yields, failing the test after h.Wait.
func await[T any](t *testing.T, h Harness, what string, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(h.Wait):
		t.Fatalf("timed out after %s waiting for %s", h.Wait, what)
		var zero T
		return zero
	}
}

// busyDrain is a callee instance draining while one of its handlers runs: a command is
// in flight on it, held until free, and its Close has begun (drainWhileBusy).
type busyDrain struct {
	t        *testing.T
	h        Harness
	calls    counter // commands the callee's handler received
	release  chan struct{}
	once     sync.Once
	inFlight chan outcome
	closed   <-chan error
}

// drainWhileBusy registers callee on b with a handler that answers "finished" once
// released, invokes it from a as caller, and begins b's Close while the handler runs.
func drainWhileBusy(t *testing.T, h Harness, a, b bridge.EventBridge, caller, callee wire.Address) *busyDrain {
	t.Helper()
	d := &busyDrain{t: t, h: h, release: make(chan struct{}), inFlight: make(chan outcome, 1)}
	started := make(chan struct{}, 1)
	register(t, h, b, callee, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		d.calls.inc()
		select {
		case started <- struct{}{}:
		default:
		}
		select {
		case <-d.release:
		case <-ctx.Done():
			return nil
		}
		return success(cmd, b.InstanceID(), json.RawMessage(`"finished"`))
	}, bridge.CommandOptions{Timeout: refuseTimeout})
	t.Cleanup(d.free)
	invokeAsync(t, h, a, command(t, caller, callee, 1), d.inFlight)
	await(t, h, "the handler to start", started)
	cctx := h.ctx(t)
	d.closed = beginClose(t, h, b, func() error { return b.Close(cctx) })
	return d
}

// free releases the held handler.
func (d *busyDrain) free() { d.once.Do(func() { close(d.release) }) }

// finish checks that Close still waits for the held handler, releases it, and checks
// that Close then returns nil and the in-flight command gets its finished answer.
func (d *busyDrain) finish() {
	t := d.t
	t.Helper()
	select {
	case err := <-d.closed:
		t.Fatalf("Close returned %v while a handler still ran", err)
	default:
	}
	d.free()
	if err := await(t, d.h, "Close", d.closed); err != nil {
		t.Errorf("Close while a handler runs: %v", err)
	}
	o := await(t, d.h, "the in-flight answer", d.inFlight)
	if o.err != nil || o.resp.MessageType != wire.TypeCommandSuccessResponse || !sameJSON(o.resp.Payload, []byte(`"finished"`)) {
		t.Errorf("the in-flight command ended with %v %v, want its finished answer", o.resp, o.err)
	}
}

// caseDrainRefuses: once Close has begun on the callee's only instance (a handler still
// runs, so Close waits), a new command from another instance is refused at once with an
// unhandled 503 (or, for a bridge that can tell nobody takes it, ErrNoHandler, which
// callers see as a 503 too), never left to its timeout; the in-flight one finishes.
func caseDrainRefuses(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	d := drainWhileBusy(t, h, a, b, caller, callee)
	refused := make(chan outcome, 1)
	invokeAsync(t, h, a, command(t, caller, callee, 2), refused)
	o := await(t, h, "the new command's answer", refused)
	if why := unhandled503(o); why != "" && !errors.Is(o.err, bridge.ErrNoHandler) {
		t.Errorf("a command sent during the drain got %s; want an unhandled 503 at once", why)
	}
	if n := d.calls.get(); n != 1 {
		t.Errorf("the draining instance handled %d commands, want only the one in flight", n)
	}
	d.finish()
}

// caseForcedStop returns the forced-stop case: the callee's handlers block (until their
// ctx ends, or, when ignoreCtx, until the test releases them) and Close's ctx ends
// before they return. Close returns ctx's error, every caller gets an unhandled 503
// (never a 500, a 504 or a wait for its timeout), and the handlers' contexts end with a
// cause wrapping bridge.ErrClosed. A handler that ignores its ctx and answers later has
// its answer dropped. With Features.InlineHandlers callers run the handlers themselves,
// so those that ignore their ctx are released after Close before the callers are heard.
func caseForcedStop(ignoreCtx bool) func(t *testing.T, h Harness) {
	return func(t *testing.T, h Harness) {
		t.Parallel()
		caller, callee := endpoints()
		a, b := h.start(t), h.start(t)
		const n = 4
		started, release := make(chan struct{}, n), make(chan struct{})
		causes := make(chan error, n)
		register(t, h, b, callee, func(ctx context.Context, cmd *wire.Message) *wire.Message {
			started <- struct{}{}
			if ignoreCtx {
				<-release
				return success(cmd, b.InstanceID(), json.RawMessage(`"late"`))
			}
			<-ctx.Done()
			causes <- context.Cause(ctx)
			return nil
		}, bridge.CommandOptions{Timeout: refuseTimeout})
		var releaseOnce sync.Once
		free := func() { releaseOnce.Do(func() { close(release) }) }
		t.Cleanup(free)
		answers := make(chan outcome, n)
		for i := range n {
			invokeAsync(t, h, a, command(t, caller, callee, i), answers)
		}
		for range n {
			await(t, h, "every handler to start", started)
		}
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		closed := beginClose(t, h, b, func() error { return b.Close(ctx) })
		stop() // the shutdown timeout passes with every handler still running
		if err := await(t, h, "Close to return once its ctx ended", closed); !errors.Is(err, context.Canceled) {
			t.Errorf("Close past its deadline = %v, want an error wrapping context.Canceled", err)
		}
		if ignoreCtx && h.Features.InlineHandlers {
			free()
		}
		for range n {
			o := await(t, h, "every caller's answer", answers)
			if why := unhandled503(o); why != "" {
				t.Errorf("a caller of a force-stopped handler got %s; want an unhandled 503", why)
			}
		}
		if !ignoreCtx {
			for range n {
				if cause := await(t, h, "every handler's ctx to end", causes); !errors.Is(cause, bridge.ErrClosed) {
					t.Errorf("a force-stopped handler's context.Cause = %v, want one wrapping bridge.ErrClosed", cause)
				}
			}
		}
	}
}
