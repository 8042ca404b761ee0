package mqtt

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/lifecycle"
	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// cmdReg is a command handler registered on this bridge. Its Calls count the calls in
// flight, from the broker and local; Unregister shuts it.
type cmdReg struct {
	transport.Command
	b    *Bridge
	addr wire.Address
	r    hook
	once sync.Once
}

// call is a command received from the broker whose answer is owed.
type call struct {
	cmd     *wire.Message
	timeout time.Duration
	done    bool // answered, or taken over by the forced stop; guarded by Bridge.callMu
}

// shareName is the share group of the shared subscription at a.
func (b *Bridge) shareName(a wire.Address) string {
	if b.cfg.puristaShare {
		return wire.MQTTDefaultShare
	}
	name := "purista_" + wire.SnakeCase(a.ServiceName) + "_" + wire.SnakeCase(a.ServiceVersion) + "_" + wire.SnakeCase(a.ServiceTarget)
	return strings.NewReplacer("/", "_", "+", "_", "#", "_").Replace(name)
}

// RegisterCommand implements bridge.EventBridge: it subscribes
// $share/<group>/purista/command/+/+/+/+/+/+/+/+/<svc>/<ver>/<target>, so instances of the
// command share the load. The PUBACK of a command is sent on receipt; the handler runs on
// a goroutine of its own with a ctx that ends after min(opts.Timeout, the command's
// remaining expiry). A command that cannot be decoded (not JSON, not a PURISTA envelope,
// nested too deep, not a command) is answered at once with bridge.RejectResponse (a
// handled 400); one that arrives while the bridge closes or the registration is being
// removed, with an unhandled 503.
func (b *Bridge) RegisterCommand(ctx context.Context, addr wire.Address, h bridge.CommandHandler, opts bridge.CommandOptions) (bridge.Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil || addr.ServiceName == "" || addr.ServiceTarget == "" {
		return nil, fmt.Errorf("mqtt: register command %s: needs a handler, service name and target", addr)
	}
	ep := transport.EndpointOf(addr)
	c := &cmdReg{Command: transport.Command{Handler: h, Timeout: opts.Timeout}, b: b, addr: ep.Address()}
	if c.Timeout <= 0 {
		c.Timeout = bridge.DefaultTimeout
	}
	b.mu.Lock()
	if b.life.Load() >= lifecycle.StateDraining {
		b.mu.Unlock()
		return nil, fmt.Errorf("mqtt: register command %s: %w", addr, bridge.ErrClosed)
	}
	if err := b.cmds.Add(ep, c); err != nil {
		b.mu.Unlock()
		return nil, fmt.Errorf("mqtt: register command %s: %w", addr, err)
	}
	b.mu.Unlock()
	c.r = b.addHook(wire.MQTTCommandFilter(c.addr, b.shareName(c.addr)), c.handle)
	if err := b.activate(ctx, c.r); err != nil {
		_ = c.Unregister(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("mqtt: register command %s: %w", addr, err)
	}
	return c, nil
}

// Unregister implements bridge.Registration: it unsubscribes, then waits, until ctx ends,
// for the calls the handler is answering. Commands that arrive meanwhile are answered 503.
func (c *cmdReg) Unregister(ctx context.Context) error {
	var err error
	c.once.Do(func() {
		c.b.mu.Lock()
		c.b.cmds.Remove(transport.EndpointOf(c.addr), c)
		c.b.mu.Unlock()
		err = c.b.removeHooks(ctx, c.r)
	})
	if werr := c.b.life.WaitUnregister(ctx, &c.Calls); werr != nil {
		return werr
	}
	return err
}

// handle receives a command from the broker (on paho's goroutine).
func (c *cmdReg) handle(p *paho.Publish, ack func()) {
	ack() // at most once: a command is never redelivered for a handler failure
	b := c.b
	if b.life.Load() != lifecycle.StateRunning || !b.work.Enter(false) {
		b.refuse(p, c.addr)
		return
	}
	if !c.Calls.Enter(false) {
		b.work.Leave()
		b.refuse(p, c.addr)
		return
	}
	b.pool.Run(func() {
		defer b.work.Leave()
		defer c.Calls.Leave()
		cmd, err := decodeCommand(p)
		if err != nil {
			b.reject(p, c.addr, err)
			return
		}
		if !b.seen.add(cmd.ID + "/" + cmd.CorrelationID) {
			b.log.Info("mqtt: dropped redelivered command", "id", cmd.ID)
			return
		}
		cl := &call{cmd: cmd, timeout: expiryOf(p, c.Timeout)}
		if !b.track(cl) {
			b.answer(cmd, bridge.UnhandledResponse(cmd, http.StatusServiceUnavailable, b.cfg.InstanceID), cl.timeout)
			return
		}
		ctx := b.handlerCtx.WithTimeout(cl.timeout) // no timer unless the handler waits on it
		resp := b.finishResponse(ctx, cmd, b.life.CallCommand(ctx, b.log, c.Handler, cmd))
		ctx.Finish()
		if !b.claim(cl) {
			b.log.Debug("mqtt: answer dropped: the forced stop answered the command 503", "correlationId", cmd.CorrelationID)
			return
		}
		defer b.replies.Leave()
		b.sendResponse(cmd, resp, cl.timeout)
	})
}

// decodeCommand decodes the body of p, which must be a command.
func decodeCommand(p *paho.Publish) (*wire.Message, error) {
	cmd, err := wire.Decode(p.Payload)
	if err != nil {
		return nil, err
	}
	if cmd.MessageType != wire.TypeCommand {
		return nil, fmt.Errorf("%w: messageType %s is not a command", wire.ErrInvalidMessage, cmd.MessageType)
	}
	return cmd, nil
}

// expiryOf is the time the sender of p gives its answer: def, or less when p's message
// expiry is shorter.
func expiryOf(p *paho.Publish, def time.Duration) time.Duration {
	if e := p.Properties.MessageExpiry; e != nil && *e > 0 {
		return min(def, time.Duration(*e)*time.Second)
	}
	return def
}

// track records c as owed; it returns false when a forced stop is under way (c is then to
// be answered 503 at once).
func (b *Bridge) track(c *call) bool {
	b.callMu.Lock()
	defer b.callMu.Unlock()
	if b.forced {
		return false
	}
	b.calls[c] = struct{}{}
	return true
}

// claim marks c answered by its handler and admits its response to b.replies (the caller
// must then b.replies.Leave); false when the forced stop answered c already.
func (b *Bridge) claim(c *call) bool {
	b.callMu.Lock()
	defer b.callMu.Unlock()
	if c.done {
		return false
	}
	c.done = true
	delete(b.calls, c)
	return b.replies.Enter(false)
}

// answer sends resp to the caller of cmd unless Close is past waiting for responses.
func (b *Bridge) answer(cmd, resp *wire.Message, timeout time.Duration) {
	if !b.replies.Enter(false) {
		b.log.Debug("mqtt: answer dropped: the bridge has disconnected", "correlationId", cmd.CorrelationID)
		return
	}
	defer b.replies.Leave()
	b.sendResponse(cmd, resp, timeout)
}

// refuse answers a command that arrived while the bridge closes or its registration is
// being removed with an unhandled 503 (a 400 when it cannot be decoded), off paho's
// goroutine.
func (b *Bridge) refuse(p *paho.Publish, addr wire.Address) {
	if !b.replies.Enter(false) {
		b.log.Debug("mqtt: dropped a command after the bridge disconnected", "topic", p.Topic)
		return
	}
	b.pool.Run(func() {
		defer b.replies.Leave()
		cmd, err := decodeCommand(p)
		if err != nil {
			b.rejectAdmitted(p, addr, err)
			return
		}
		b.log.Debug("mqtt: command refused while closing", "command", addr.String(), "correlationId", cmd.CorrelationID)
		b.sendResponse(cmd, bridge.UnhandledResponse(cmd, http.StatusServiceUnavailable, b.cfg.InstanceID), expiryOf(p, bridge.DefaultTimeout))
	})
}

// reject answers a command addressed to addr whose body cannot be decoded (cause) with
// bridge.RejectResponse, a handled 400, on the caller's response topic.
func (b *Bridge) reject(p *paho.Publish, addr wire.Address, cause error) {
	if !b.replies.Enter(false) {
		return
	}
	defer b.replies.Leave()
	b.rejectAdmitted(p, addr, cause)
}

// rejectAdmitted is reject for a caller that entered b.replies.
func (b *Bridge) rejectAdmitted(p *paho.Publish, addr wire.Address, cause error) {
	cmd := recoverCommand(p, addr)
	if cmd.Sender.InstanceID == "" || cmd.CorrelationID == "" {
		b.log.Warn("mqtt: dropped an undecodable command that names no caller instance or correlationId",
			"topic", p.Topic, "bytes", len(p.Payload), "err", cause)
		return
	}
	b.log.Warn("mqtt: rejected an undecodable command (400)", "topic", p.Topic, "bytes", len(p.Payload),
		"correlationId", cmd.CorrelationID, "err", cause)
	b.sendResponse(cmd, bridge.RejectResponse(cmd, cause.Error(), b.cfg.InstanceID), expiryOf(p, bridge.DefaultTimeout))
}

// recoverCommand returns what can be recovered of the command p, addressed to addr, whose
// body did not decode (see transport.RecoverCommand), completed from the transport: the
// correlationId from p's correlation data, the sender from the topic's sender levels
// (snake-cased there, as the response topic needs them), a fresh id.
func recoverCommand(p *paho.Publish, addr wire.Address) *wire.Message {
	cmd := transport.RecoverCommand(addr, p.Payload)
	cmd.ID = cmp.Or(cmd.ID, wire.NewID())
	cmd.CorrelationID = cmp.Or(cmd.CorrelationID, string(p.Properties.CorrelationData))
	if cmd.Sender.InstanceID == "" {
		if t, err := wire.ParseMQTTTopic(p.Topic); err == nil {
			cmd.Sender = wire.Address{ServiceName: t.SenderServiceName, ServiceVersion: t.SenderServiceVersion,
				ServiceTarget: t.SenderServiceTarget, InstanceID: t.SenderInstanceID}
		}
	}
	return cmd
}

// sendResponse publishes resp, the answer to cmd, to the caller's response topic and
// waits for the broker's PUBACK. A success with an eventName also serves subscriptions:
// it goes out in the event form, with every PURISTA user property (the response topic
// carries the event name, so one message reaches the caller and the subscribers); every
// other response is body-only (see replyPacket).
func (b *Bridge) sendResponse(cmd, resp *wire.Message, timeout time.Duration) {
	data, err := wire.Encode(resp)
	if err != nil {
		b.log.Error("mqtt: command response not encodable", "command", cmd.Receiver.String(), "err", err)
		resp = bridge.UnhandledResponse(cmd, http.StatusInternalServerError, b.cfg.InstanceID)
		data, _ = wire.Encode(resp)
	}
	var pkt *paho.Publish
	if resp.MessageType == wire.TypeCommandSuccessResponse && resp.EventName != "" {
		pkt = b.packet(resp, data, b.cfg.eventExpiry)
	} else {
		pkt = b.replyPacket(resp, data, timeout)
	}
	// Not bound to the bridge's context: a forced stop still sends what it owes.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), max(timeout, closeStepTimeout))
	defer cancel()
	if err := b.publish(ctx, pkt); err != nil {
		b.log.Warn("mqtt: response not sent", "command", cmd.Receiver.String(), "correlationId", cmd.CorrelationID, "err", err)
	}
}

// finishResponse fills what the handler left empty: a nil response becomes an unhandled
// 500 (503 when a forced stop ended the handler's ctx, 504 when its time ran out); id,
// correlationId, sender (the command's receiver with this instance's id), receiver (the
// command's sender), timestamp and content type default from the command.
func (b *Bridge) finishResponse(ctx context.Context, cmd, resp *wire.Message) *wire.Message {
	return bridge.CompleteResponse(ctx, cmd, resp, b.cfg.InstanceID)
}
