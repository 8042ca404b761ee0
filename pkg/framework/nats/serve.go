package nats

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/lifecycle"
	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// cmdReg is a registered command handler. Its transport.Command (handler, timeout, the
// gate of calls in flight) serves broker-delivered and local calls alike.
type cmdReg struct {
	transport.Command
	b    *Bridge
	addr wire.Address

	ch         chan *natsgo.Msg // the subscription's commands, taken by receivers
	quit       chan struct{}    // closed when the registration ends: receivers exit
	waiting    atomic.Int32     // receivers waiting for a command
	active     atomic.Int32     // receivers running a handler
	watch      *time.Timer      // the watchdog's ticks (receivers.go)
	watchArmed atomic.Bool      // watch ticks

	mu         sync.Mutex
	sub        *natsgo.Subscription
	drained    *natsgo.Subscription // the subscription stop began to drain
	slots      map[*slot]struct{}   // one per receiver running
	seen       map[*slot]uint32     // each slot's seq at the watchdog's previous tick
	quietTicks int                  // the watchdog's ticks since it last saw a command
	once       sync.Once
	quitOnce   sync.Once
}

// RegisterCommand implements bridge.EventBridge: a queue subscription on
// wire.NATSCommandSubject(addr) in the group wire.NATSQueueGroup(addr). Each command runs
// on a receiver goroutine (receivers.go) with a ctx that ends after opts.Timeout. A
// command that cannot be decoded is answered at once with bridge.RejectResponse (400).
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
	r := &cmdReg{Command: transport.Command{Handler: h, Timeout: timeout}, b: b, addr: addr, slots: map[*slot]struct{}{}, seen: map[*slot]uint32{}}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.life.Load() >= lifecycle.StateDraining {
		return nil, fmt.Errorf("nats: register command %s: %w", addr, bridge.ErrClosed)
	}
	ep := transport.EndpointOf(addr)
	if _, dup := b.cmds.Get(ep); dup {
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
	if err := b.cmds.Add(ep, r); err != nil { // not a duplicate: b.mu is held since the check
		r.stop()
		return nil, fmt.Errorf("nats: register command %s: %w", addr, err)
	}
	return r, nil
}

// subscribe makes r's queue subscription; b.mu is held.
func (r *cmdReg) subscribe() error {
	b := r.b
	if r.ch == nil {
		r.ch, r.quit = make(chan *natsgo.Msg, cmdBuffer), make(chan struct{})
		r.watch = time.AfterFunc(time.Hour, r.watchdog)
		r.watch.Stop()
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

// serve answers one command from the broker on the receiver that holds s. The reply to
// the caller's inbox is the response envelope alone, without headers (callers read the
// body); a success response with an eventName is then published for subscriptions too.
func (b *Bridge) serve(r *cmdReg, s *slot, m *natsgo.Msg) {
	cmd, err := decodeCommand(m.Data)
	if err != nil {
		b.reject(r.addr, m, err)
		return
	}
	ctx := b.handlerCtx.WithTimeout(r.Timeout) // no timer unless the handler waits on it
	defer ctx.Finish()
	s.begin(cmd, m.Reply)
	resp := bridge.CompleteResponse(ctx, cmd, b.life.CallCommand(ctx, b.log, r.Handler, cmd), b.cfg.InstanceID)
	buf := b.bufs.Get()
	defer b.bufs.Put(buf) // the publishes below copy data before they return
	data, err := buf.Encode(resp)
	if err != nil {
		b.log.Error("nats: command response not encodable", "command", cmd.Receiver.String(), "err", err)
		resp = bridge.UnhandledResponse(cmd, http.StatusInternalServerError, b.cfg.InstanceID)
		data, _ = buf.Encode(resp)
	}
	answered, err := s.finish(b.nc, data)
	if err != nil {
		b.log.Warn("nats: response not sent", "command", cmd.Receiver.String(), "err", b.scrub(err))
	}
	if answered && resp.MessageType == wire.TypeCommandSuccessResponse && resp.EventName != "" {
		b.publishEvent(resp, data)
	}
}

// decodeCommand decodes a command body; anything else is an error wrapping
// wire.ErrInvalidMessage.
func decodeCommand(data []byte) (*wire.Message, error) {
	cmd, err := wire.DecodeOwned(data) // nats.go allocated it for this message
	if err != nil {
		return nil, err
	}
	if cmd.MessageType != wire.TypeCommand {
		return nil, fmt.Errorf("%w: a %s on a command subject", wire.ErrInvalidMessage, cmd.MessageType)
	}
	return cmd, nil
}

// refuse answers a command this instance no longer takes (the bridge drains) with an
// unhandled 503, or with a 400 when it cannot be decoded.
func (b *Bridge) refuse(r *cmdReg, m *natsgo.Msg) {
	cmd, err := decodeCommand(m.Data)
	if err != nil {
		b.reject(r.addr, m, err)
		return
	}
	if m.Reply != "" {
		b.replyTo(m.Reply, bridge.UnhandledResponse(cmd, http.StatusServiceUnavailable, b.cfg.InstanceID))
	}
}

// reject answers an undecodable command addressed to addr (its subject matched addr's
// registration) with bridge.RejectResponse, built from what the body still tells.
func (b *Bridge) reject(addr wire.Address, m *natsgo.Msg, cause error) {
	b.log.Warn("nats: undecodable command rejected", "subject", m.Subject, "bytes", len(m.Data), "reply", m.Reply != "", "err", cause)
	if m.Reply == "" {
		return
	}
	cmd := transport.RecoverCommand(addr, m.Data)
	if cmd.ID == "" {
		cmd.ID = wire.NewID()
	}
	if cmd.CorrelationID == "" {
		// A response needs one to be a valid envelope; the caller's inbox, unique to the
		// call, is what matches the reply on NATS.
		cmd.CorrelationID = cmd.ID
	}
	b.replyTo(m.Reply, bridge.RejectResponse(cmd, cause.Error(), b.cfg.InstanceID))
}

// replyTo sends resp to a caller's inbox: the envelope alone, no headers.
func (b *Bridge) replyTo(inbox string, resp *wire.Message) {
	data, err := wire.Encode(resp)
	if err == nil {
		err = b.nc.Publish(inbox, data)
	}
	if err != nil {
		b.log.Warn("nats: response not sent", "status", resp.MessageType, "err", b.scrub(err))
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
		r.b.cmds.Remove(transport.EndpointOf(r.addr), r)
		r.b.mu.Unlock()
		r.stop()
		r.b.flushQuietly(ctx)
	})
	err := r.b.life.WaitUnregister(ctx, &r.Calls)
	r.quitOnce.Do(func() {
		r.waitDrained(ctx)
		if r.quit != nil {
			close(r.quit)
		}
	})
	return err
}
