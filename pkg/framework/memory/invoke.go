package memory

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// Invoke implements bridge.EventBridge. A zero timeout means the bridge's default
// (WithInvokeTimeout).
//
// By default the handler runs on the caller's goroutine, like a function call: its ctx
// carries the deadline (the sooner of timeout and the command's own) and is cancelled when
// the caller's ctx ends, and Invoke returns when the handler does. A handler that honours
// its ctx (as bridge.CommandHandler requires) answers in time; one that ignores it holds
// its caller. With WithHandlerGoroutines on the handler's bridge, handlers run on
// goroutines of their own and the caller stops waiting at the timeout whatever the
// handler does, at the cost of two goroutine switches per call.
//
// The outcome does not depend on which clock fires first: the caller's deadline is fixed
// when Invoke begins, and an answer that is ready only at or after it is ErrTimeout (so
// with equal invoke and handler timeouts the caller always sees ErrTimeout, never the
// handler's own 504). A command that only draining instances handle is answered at once
// with an unhandled 503 from one of them; a handler cut off by its instance's forced stop
// (see Close) answers an unhandled 503 too.
func (b *Bridge) Invoke(ctx context.Context, cmd *wire.Message, timeout time.Duration) (*wire.Message, error) {
	if err := b.intake(ctx); err != nil {
		return nil, err
	}
	defer b.work.Leave()
	if cmd == nil || cmd.MessageType != wire.TypeCommand {
		return nil, fmt.Errorf("memory: invoke: %w: not a command", wire.ErrInvalidMessage)
	}
	if err := cmd.Validate(); err != nil {
		return nil, fmt.Errorf("memory: invoke: %w", err)
	}
	timeout = b.cfg.Timeout(timeout)
	now := time.Now()
	deadline := now.Add(timeout)
	// Commands travel as deep copies (Clone), not as bytes: sender and handler never share
	// memory, and the in-process hop costs no encode/decode.
	out := cmd.Clone()
	if out.Sender.InstanceID == "" {
		out.Sender.InstanceID = b.cfg.InstanceID
	}
	r, draining := b.net.pickCommand(transport.EndpointOf(*cmd.Receiver), b)
	if r == nil {
		if draining != nil {
			return bridge.UnhandledResponse(out, http.StatusServiceUnavailable, draining.cfg.InstanceID), nil
		}
		return nil, fmt.Errorf("memory: invoke %s: %w", cmd.Receiver, bridge.ErrNoHandler)
	}
	if b.net.cmdWatchers.Load() > 0 { // subscriptions that filter on TypeCommand see it too
		data, err := wire.Encode(out)
		if err != nil {
			r.release()
			return nil, fmt.Errorf("memory: invoke %s: %w", cmd.Receiver, err)
		}
		b.net.publish(data, out, b)
	}
	handlerDeadline := deadline
	if r.timeout < timeout {
		handlerDeadline = now.Add(r.timeout)
	}
	hctx, cancel := context.WithDeadline(r.b.handlerCtx(), handlerDeadline)
	defer cancel()
	if r.b.cfg.handlerGoroutines {
		return b.invokeOnWorker(ctx, hctx, cancel, r, out, timeout, deadline)
	}
	return b.invokeInline(ctx, hctx, cancel, r, out, timeout, deadline)
}

// invokeInline runs r's handler for cmd on the calling goroutine (see Invoke); deadline
// is the caller's.
func (b *Bridge) invokeInline(ctx, hctx context.Context, cancel context.CancelFunc, r *cmdReg, cmd *wire.Message, timeout time.Duration, deadline time.Time) (*wire.Message, error) {
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, cancel) // the caller stops waiting: so does the handler
		defer stop()
	}
	resp := func() *wire.Message {
		defer r.release()
		return r.b.runCommand(hctx, r, cmd)
	}()
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("memory: invoke %s: %w", cmd.Receiver, ctx.Err())
	case !time.Now().Before(deadline): // true whenever hctx ended at the caller's deadline
		return nil, fmt.Errorf("memory: invoke %s after %s: %w", cmd.Receiver, timeout, bridge.ErrTimeout)
	case b.ctx.Err() != nil:
		return nil, fmt.Errorf("memory: invoke %s: %w", cmd.Receiver, bridge.ErrClosed)
	}
	return resp, nil
}

// invokeOnWorker runs r's handler for cmd on a worker goroutine of the handler's bridge
// and waits for the answer, the timeout, the caller's ctx or the bridge's close; deadline
// is the caller's.
func (b *Bridge) invokeOnWorker(ctx, hctx context.Context, cancel context.CancelFunc, r *cmdReg, cmd *wire.Message, timeout time.Duration, deadline time.Time) (*wire.Message, error) {
	res := make(chan *wire.Message, 1)
	r.b.cmdPool.Run(func() {
		defer r.release() // after the answer is in res: a drain must not end before it
		defer cancel()
		res <- r.b.runCommand(hctx, r, cmd)
	})
	timedOut := func() (*wire.Message, error) {
		return nil, fmt.Errorf("memory: invoke %s after %s: %w", cmd.Receiver, timeout, bridge.ErrTimeout)
	}
	select {
	case resp := <-res:
		if !time.Now().Before(deadline) {
			return timedOut()
		}
		return resp, nil
	case <-hctx.Done():
		if !errors.Is(hctx.Err(), context.DeadlineExceeded) {
			// Cancelled: the worker cancels hctx once it has answered (the response is then
			// waiting in res), or the callee's instance was force-stopped: its caller gets
			// the 503 at once, and the handler's later answer is dropped.
			select {
			case resp := <-res:
				return resp, nil
			default:
			}
			if b.ctx.Err() != nil { // the caller's own instance stopped (a call to itself)
				return nil, fmt.Errorf("memory: invoke %s: %w", cmd.Receiver, bridge.ErrClosed)
			}
			return bridge.UnhandledResponse(cmd, http.StatusServiceUnavailable, r.b.cfg.InstanceID), nil
		}
		if time.Now().Before(deadline) {
			// The handler's own deadline came first: it answers (a 504) itself, within
			// what is left of the caller's timeout.
			rest := time.NewTimer(time.Until(deadline))
			defer rest.Stop()
			select {
			case resp := <-res:
				if !time.Now().Before(deadline) {
					return timedOut()
				}
				return resp, nil
			case <-rest.C:
			case <-ctx.Done():
				return nil, fmt.Errorf("memory: invoke %s: %w", cmd.Receiver, ctx.Err())
			}
		}
		return timedOut()
	case <-ctx.Done():
		return nil, fmt.Errorf("memory: invoke %s: %w", cmd.Receiver, ctx.Err())
	case <-b.ctx.Done():
		return nil, fmt.Errorf("memory: invoke %s: %w", cmd.Receiver, bridge.ErrClosed)
	}
}

// release ends a call pickCommand admitted: on the registration and on its bridge.
func (r *cmdReg) release() {
	r.g.Leave()
	r.b.work.Leave()
}

// runCommand answers one command on b, the handler's instance, and returns the response.
// A success response with an eventName is published too; the caller then gets a copy,
// so that it never shares memory with the subscribers. A handler whose ctx a forced stop
// of b ended (its cause wraps bridge.ErrClosed) answers an unhandled 503, whatever it
// returned: its caller was told, or is told now, that the instance stopped.
func (b *Bridge) runCommand(ctx context.Context, r *cmdReg, cmd *wire.Message) *wire.Message {
	resp := b.life.CallCommand(ctx, b.log, r.h, cmd)
	if errors.Is(context.Cause(ctx), bridge.ErrClosed) {
		resp = nil // CompleteResponse answers the 503
	}
	resp = b.finishResponse(ctx, cmd, resp)
	if err := resp.Validate(); err != nil {
		b.log.Error("memory: invalid command response", "command", cmd.Receiver.String(), "err", err)
		resp = bridge.UnhandledResponse(cmd, 500, b.cfg.InstanceID)
	}
	if resp.MessageType != wire.TypeCommandSuccessResponse || resp.EventName == "" {
		return resp // the handler handed it over (bridge.CommandHandler); the caller owns it now
	}
	data, err := wire.Encode(resp)
	if err != nil {
		b.log.Error("memory: success event not encodable", "command", cmd.Receiver.String(), "err", err)
		return resp
	}
	b.net.publish(data, resp, b)
	return resp.Clone() // publish only reads resp, and only before it returns
}

// finishResponse fills what the handler left empty: a nil response becomes an unhandled
// 500 (504 when the handler's time ran out, 503 after a forced stop); id, correlationId, sender (the command's
// receiver, with this instance's id), receiver (the command's sender), timestamp and
// content type default from the command.
func (b *Bridge) finishResponse(ctx context.Context, cmd, resp *wire.Message) *wire.Message {
	return bridge.CompleteResponse(ctx, cmd, resp, b.cfg.InstanceID)
}
