package nats

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/inflight"
	"github.com/purista-go/purista/pkg/framework/internal/lifecycle"
)

// Invoke implements bridge.EventBridge. With local delivery on and the handler registered
// on this bridge, the call stays in process; otherwise the command is a core NATS request
// on its 13-token subject. No responders → bridge.ErrNoHandler at once; no response within
// timeout → bridge.ErrTimeout; a broken connection → bridge.ErrUnavailable.
func (b *Bridge) Invoke(ctx context.Context, cmd *wire.Message, timeout time.Duration) (*wire.Message, error) {
	nc, err := b.intake(ctx)
	if err != nil {
		return nil, err
	}
	defer b.work.Leave()
	if cmd == nil || cmd.MessageType != wire.TypeCommand {
		return nil, fmt.Errorf("nats: invoke: %w: not a command", wire.ErrInvalidMessage)
	}
	if err := cmd.Validate(); err != nil {
		return nil, fmt.Errorf("nats: invoke: %w", err)
	}
	if timeout <= 0 {
		timeout = b.cfg.invokeTimeout
	}
	out := *cmd
	if out.Sender.InstanceID == "" {
		out.Sender.InstanceID = b.cfg.instanceID
	}
	to := *out.Receiver
	to.InstanceID = ""
	if b.local.Load() {
		b.mu.Lock()
		r := b.cmds[to]
		b.mu.Unlock()
		if r != nil && r.g.Enter(false) {
			return b.invokeLocal(ctx, r, &out, timeout)
		}
	}
	buf := b.bufs.Get()
	defer b.bufs.Put(buf) // nats.go has copied the request once RequestMsg returns
	data, err := buf.Encode(&out)
	if err != nil {
		return nil, fmt.Errorf("nats: invoke %s: %w", cmd.Receiver, err)
	}
	req := &natsgo.Msg{Subject: b.subjectOf(&out), Data: data}
	if b.cfg.commandHeaders {
		req.Header = messageHeader(&out)
	}
	if max := nc.MaxPayload(); int64(len(data)) > max {
		return nil, fmt.Errorf("nats: invoke %s: %w: %d bytes, the server allows %d", cmd.Receiver, ErrTooLarge, len(data), max)
	}
	deadline := time.Now().Add(timeout)
	var reply *natsgo.Msg
	if ctx.Done() == nil {
		// ctx never ends: nats.go's pooled timer is cheaper than a context with a deadline.
		reply, err = nc.RequestMsg(req, timeout)
	} else {
		rctx, cancel := context.WithDeadline(ctx, deadline)
		reply, err = nc.RequestMsgWithContext(rctx, req)
		cancel()
	}
	if err != nil {
		switch {
		case errors.Is(err, natsgo.ErrNoResponders):
			return nil, fmt.Errorf("nats: invoke %s: %w", cmd.Receiver, bridge.ErrNoHandler)
		case ctx.Err() != nil && !callerOutlasts(ctx, deadline):
			return nil, fmt.Errorf("nats: invoke %s: %w", cmd.Receiver, ctx.Err())
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, natsgo.ErrTimeout):
			return nil, fmt.Errorf("nats: invoke %s after %s: %w", cmd.Receiver, timeout, bridge.ErrTimeout)
		case errors.Is(err, natsgo.ErrConnectionClosed):
			return nil, fmt.Errorf("nats: invoke %s: %w", cmd.Receiver, bridge.ErrClosed)
		default:
			return nil, fmt.Errorf("nats: invoke %s: %w: %w", cmd.Receiver, bridge.ErrUnavailable, err)
		}
	}
	resp, err := wire.DecodeOwned(reply.Data) // nats.go allocated it for this message
	if err != nil {
		return nil, fmt.Errorf("nats: invoke %s: response: %w", cmd.Receiver, err)
	}
	return resp, nil
}

// callerOutlasts reports whether ctx's deadline is not before deadline (so a timeout at
// deadline is the invoke timeout, not the caller's).
func callerOutlasts(ctx context.Context, deadline time.Time) bool {
	d, ok := ctx.Deadline()
	return ok && !d.Before(deadline) && errors.Is(ctx.Err(), context.DeadlineExceeded)
}

// ErrTooLarge is wrapped by Invoke and Emit when a message exceeds the server's
// max_payload (1 MiB by default on nats-server).
var ErrTooLarge = errors.New("message larger than the server's max_payload")

// invokeLocal calls r's handler in process; r.g was entered by the caller.
func (b *Bridge) invokeLocal(ctx context.Context, r *cmdReg, cmd *wire.Message, timeout time.Duration) (*wire.Message, error) {
	hctx, cancel := context.WithTimeout(b.ctx, min(r.timeout, timeout))
	res := make(chan *wire.Message, 1)
	go func() {
		defer r.g.Leave()
		defer cancel()
		resp, _ := b.answer(hctx, r, cmd.Clone())
		res <- resp
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case resp := <-res:
		return resp.Clone(), nil
	case <-timer.C:
		cancel()
		return nil, fmt.Errorf("nats: invoke %s after %s: %w", cmd.Receiver, timeout, bridge.ErrTimeout)
	case <-ctx.Done():
		cancel()
		return nil, fmt.Errorf("nats: invoke %s: %w", cmd.Receiver, ctx.Err())
	case <-b.ctx.Done():
		return nil, fmt.Errorf("nats: invoke %s: %w", cmd.Receiver, bridge.ErrClosed)
	}
}

// answer runs the handler for cmd in process and completes the response; a success
// response that carries an eventName is published on its own subject before answer
// returns. It returns the response and its encoding.
func (b *Bridge) answer(ctx context.Context, r *cmdReg, cmd *wire.Message) (*wire.Message, []byte) {
	resp := b.finishResponse(ctx, cmd, b.life.CallCommand(ctx, b.log, r.h, cmd))
	data, err := wire.Encode(resp)
	if err != nil {
		b.log.Error("nats: command response not encodable", "command", cmd.Receiver.String(), "err", err)
		resp = bridge.UnhandledResponse(cmd, 500, b.cfg.instanceID)
		data, _ = wire.Encode(resp)
	}
	if resp.MessageType == wire.TypeCommandSuccessResponse && resp.EventName != "" {
		b.publishEvent(resp, data)
	}
	return resp, data
}

// publishEvent publishes a success response with an eventName a second time on its own
// subject (so subscriptions see it, TS PURISTA's behaviour), awaiting the JetStream ack
// when JetStream is available so durable subscriptions surely get it.
func (b *Bridge) publishEvent(resp *wire.Message, data []byte) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := b.publish(ctx, resp, data); err != nil {
		b.log.Error("nats: success event not published", "eventName", resp.EventName, "id", resp.ID, "err", err)
	}
}

// finishResponse fills what the handler left empty (as the memory bridge does): nil
// becomes an unhandled 500 (504 when the handler's time ran out); id, correlationId,
// sender, receiver, timestamp and content type default from the command.
func (b *Bridge) finishResponse(ctx context.Context, cmd, resp *wire.Message) *wire.Message {
	return bridge.CompleteResponse(ctx, cmd, resp, b.cfg.instanceID)
}

// cmdReg is a registered command handler.
type cmdReg struct {
	b       *Bridge
	addr    wire.Address
	h       bridge.CommandHandler
	timeout time.Duration
	g       inflight.Gate // calls in flight

	ch      chan *natsgo.Msg // the subscription's commands, taken by receivers
	quit    chan struct{}    // closed when the registration ends: receivers exit
	waiting atomic.Int32     // receivers waiting for a command
	active  atomic.Int32     // receivers running a handler

	mu       sync.Mutex
	sub      *natsgo.Subscription
	drained  *natsgo.Subscription // the subscription stop began to drain
	once     sync.Once
	quitOnce sync.Once
}

// RegisterCommand implements bridge.EventBridge: a queue subscription on
// wire.NATSCommandSubject(addr) in the group wire.NATSQueueGroup(addr). Each command runs
// on a receiver goroutine (receivers.go) with a ctx that ends after opts.Timeout.
func (b *Bridge) RegisterCommand(ctx context.Context, addr wire.Address, h bridge.CommandHandler, opts bridge.CommandOptions) (bridge.Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil || addr.ServiceName == "" || addr.ServiceTarget == "" {
		return nil, fmt.Errorf("nats: register command %s: needs a handler, service name and target", addr)
	}
	addr.InstanceID = ""
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = bridge.DefaultTimeout
	}
	r := &cmdReg{b: b, addr: addr, h: h, timeout: timeout}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.life.Load() >= lifecycle.StateDraining {
		return nil, fmt.Errorf("nats: register command %s: %w", addr, bridge.ErrClosed)
	}
	if _, dup := b.cmds[addr]; dup {
		return nil, fmt.Errorf("nats: register command %s: %w", addr, bridge.ErrDuplicate)
	}
	if b.life.Load() == lifecycle.StateRunning {
		if err := r.subscribe(); err != nil {
			return nil, err
		}
		if err := b.flush(ctx); err != nil {
			r.stop()
			return nil, fmt.Errorf("nats: register command %s: %w", addr, err)
		}
	}
	b.cmds[addr] = r
	return r, nil
}

// subscribe makes r's queue subscription; b.mu is held.
func (r *cmdReg) subscribe() error {
	b := r.b
	if r.ch == nil {
		r.ch, r.quit = make(chan *natsgo.Msg, cmdBuffer), make(chan struct{})
	}
	sub, err := b.nc.ChanQueueSubscribe(wire.NATSCommandSubject(r.addr), wire.NATSQueueGroup(r.addr), r.ch)
	if err != nil {
		return fmt.Errorf("nats: register command %s: %w", r.addr, err)
	}
	r.spawnIfNoneWaits()
	r.mu.Lock()
	r.sub = sub
	r.mu.Unlock()
	return nil
}

// refuse answers a command this instance no longer takes with an unhandled 503.
func (b *Bridge) refuse(m *natsgo.Msg) {
	if m.Reply == "" {
		return
	}
	cmd, err := wire.Decode(m.Data)
	if err != nil || cmd.MessageType != wire.TypeCommand {
		return
	}
	resp := bridge.UnhandledResponse(cmd, 503, b.cfg.instanceID)
	if data, err := wire.Encode(resp); err == nil {
		_ = b.nc.PublishMsg(&natsgo.Msg{Subject: m.Reply, Data: data, Header: messageHeader(resp)}) // best effort while closing
	}
}

// serve answers one command from the broker.
func (b *Bridge) serve(r *cmdReg, m *natsgo.Msg) {
	cmd, err := wire.DecodeOwned(m.Data) // nats.go allocated it for this message
	if err != nil || cmd.MessageType != wire.TypeCommand {
		b.log.Warn("nats: dropped invalid command", "subject", m.Subject, "bytes", len(m.Data), "err", err)
		return
	}
	ctx := b.handlerCtx.WithTimeout(r.timeout) // no timer unless the handler waits on it
	defer ctx.Finish()
	resp := b.finishResponse(ctx, cmd, b.life.CallCommand(ctx, b.log, r.h, cmd))
	buf := b.bufs.Get()
	defer b.bufs.Put(buf) // the publishes below copy data before they return
	data, err := buf.Encode(resp)
	if err != nil {
		b.log.Error("nats: command response not encodable", "command", cmd.Receiver.String(), "err", err)
		resp = bridge.UnhandledResponse(cmd, 500, b.cfg.instanceID)
		data, _ = buf.Encode(resp)
	}
	if m.Reply != "" {
		if err := b.nc.PublishMsg(&natsgo.Msg{Subject: m.Reply, Data: data, Header: b.respHeaders.of(resp)}); err != nil {
			b.log.Warn("nats: response not sent", "command", cmd.Receiver.String(), "err", err)
		}
	}
	if resp.MessageType == wire.TypeCommandSuccessResponse && resp.EventName != "" {
		b.publishEvent(resp, data)
	}
}

// stop removes the subscription so no new command arrives.
func (r *cmdReg) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sub != nil {
		// Drain, not Unsubscribe: the server stops routing to this instance at once, and
		// commands already buffered in the client are still handed to onMsg (answered, or
		// refused with a 503 once the gate is shut) instead of being dropped unanswered.
		if err := r.sub.Drain(); err != nil {
			_ = r.sub.Unsubscribe()
		}
		r.drained = r.sub
		r.sub = nil
	}
}

// waitDrained waits until the draining subscription has handed over its buffered
// commands and receivers have taken them, at most until ctx ends or drainWait passes.
func (r *cmdReg) waitDrained(ctx context.Context) {
	r.mu.Lock()
	sub := r.drained
	r.mu.Unlock()
	if sub == nil {
		return
	}
	deadline := time.Now().Add(drainWait)
	for (sub.IsValid() || len(r.ch) > 0) && ctx.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

// drainWait bounds how long Close waits for a subscription's buffered messages.
const drainWait = time.Second

// Unregister implements bridge.Registration: it removes the queue subscription, then
// waits until ctx ends for the commands being answered. Safe to call more than once.
func (r *cmdReg) Unregister(ctx context.Context) error {
	r.once.Do(func() {
		r.b.mu.Lock()
		if r.b.cmds[r.addr] == r {
			delete(r.b.cmds, r.addr)
		}
		r.b.mu.Unlock()
		r.stop()
		r.b.flushQuietly(ctx)
	})
	err := r.b.life.WaitUnregister(ctx, &r.g)
	r.quitOnce.Do(func() {
		r.waitDrained(ctx)
		if r.quit != nil {
			close(r.quit)
		}
	})
	return err
}
