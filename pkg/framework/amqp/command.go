package amqp

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/inflight"
	"github.com/purista-go/purista/pkg/framework/internal/lifecycle"
	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// cmdReg is this instance's registration of a command handler.
type cmdReg struct {
	transport.Command // handler, its timeout, calls in flight (shut by Unregister)

	b       *Bridge
	addr    wire.Address
	cons    consumer
	once    sync.Once
	leaving atomic.Bool // Unregister has begun
}

// RegisterCommand implements bridge.EventBridge. It declares the command queue
// purista.cmd.<svc>.<ver>.<target> (non-durable, auto-delete, shared by the instances)
// with its header binding and consumes it without acknowledgements (at most once, as
// TypeScript PURISTA does; prefetch therefore does not apply); each command is answered
// on its own goroutine. While disconnected the registration is kept and declared
// on reconnect.
func (b *Bridge) RegisterCommand(ctx context.Context, addr wire.Address, h bridge.CommandHandler, opts bridge.CommandOptions) (bridge.Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil || addr.ServiceName == "" || addr.ServiceTarget == "" {
		return nil, fmt.Errorf("amqp: register command %s: needs a handler, service name and target", addr)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = bridge.DefaultTimeout
	}
	addr.InstanceID = ""
	r := &cmdReg{Command: transport.Command{Handler: h, Timeout: timeout}, b: b, addr: addr}
	r.cons.quick = r.refuseIfClosing
	ep := transport.EndpointOf(addr)
	b.topo.Lock()
	defer b.topo.Unlock()
	if b.life.Load() >= lifecycle.StateDraining {
		return nil, fmt.Errorf("amqp: register command %s: %w", addr, bridge.ErrClosed)
	}
	if _, dup := b.cmds.Get(ep); dup {
		return nil, fmt.Errorf("amqp: register command %s: %w", addr, bridge.ErrDuplicate)
	}
	if s := b.sess.Load(); s != nil {
		if err := r.attach(s); err != nil && !s.isDead() {
			return nil, fmt.Errorf("amqp: register command %s: %w", addr, err)
		}
	}
	_ = b.cmds.Add(ep, r) // cannot fail: checked above under b.topo
	return r, nil
}

func (r *cmdReg) attach(s *session) error {
	q := wire.AMQPCommandQueue(r.addr)
	return r.cons.start(s, r.b.cfg.prefetch, true, r.b.pool, func(ch *amqp091.Channel) (string, error) {
		if _, err := ch.QueueDeclare(q, false, true, false, false, nil); err != nil {
			return "", fmt.Errorf("amqp: declare %s: %w", q, err)
		}
		if err := ch.QueueBind(q, "", wire.AMQPExchange, false, table(wire.AMQPCommandBindingArgs(r.addr))); err != nil {
			return "", fmt.Errorf("amqp: bind %s: %w", q, err)
		}
		return q, nil
	}, r.deliver)
}

// refuseIfClosing answers d at once with an unhandled 503 (a 400 when it cannot be
// decoded) when this instance takes no more commands: the bridge drains or the
// registration is being removed. It runs in the receiving phase (see consumer.quick), so
// that once the consumer's dispatch loop has ended every refusal has been sent. It
// reports whether it answered d.
func (r *cmdReg) refuseIfClosing(d amqp091.Delivery) bool {
	b := r.b
	why := "draining"
	if b.life.Load() < lifecycle.StateDraining {
		if !r.leaving.Load() {
			return false
		}
		why = "unregistering"
	}
	cmd, err := decodeCommand(d.Body)
	if err != nil {
		b.reject(d, r.addr, err)
		return true
	}
	b.refuse(cmd, d.ReplyTo, why)
	return true
}

// decodeCommand decodes a command delivery's body, which amqp091 allocated for it alone;
// a message of another type is an error wrapping wire.ErrInvalidMessage.
func decodeCommand(body []byte) (*wire.Message, error) {
	cmd, err := wire.DecodeOwned(body)
	if err == nil && cmd.MessageType != wire.TypeCommand {
		err = fmt.Errorf("%w: messageType %q on a command queue", wire.ErrInvalidMessage, cmd.MessageType)
	}
	return cmd, err
}

// deliver answers one command. It runs on the pool worker that received it (see
// relay). Commands are consumed without acknowledgement (as TypeScript PURISTA does):
// at most once. A command that cannot be decoded is rejected with a 400; one that arrives
// while the bridge drains or the registration is being removed is refused with a 503
// (mostly by refuseIfClosing already).
func (r *cmdReg) deliver(d amqp091.Delivery) {
	b := r.b
	cmd, err := decodeCommand(d.Body)
	if err != nil {
		b.reject(d, r.addr, err)
		return
	}
	if b.life.Load() >= lifecycle.StateDraining || !b.work.Enter(true) {
		b.refuse(cmd, d.ReplyTo, "draining")
		return
	}
	defer b.work.Leave()
	if !r.Calls.Enter(true) {
		b.refuse(cmd, d.ReplyTo, "unregistering")
		return
	}
	defer r.Calls.Leave()
	o := &owed{cmd: cmd, replyTo: d.ReplyTo}
	if !b.answers.add(o) { // the forced stop has begun
		b.refuse(cmd, d.ReplyTo, "stopping")
		return
	}
	ctx := b.handlerCtx.WithTimeout(r.Timeout) // no timer unless the handler waits on it
	resp := bridge.CompleteResponse(ctx, cmd, b.life.CallCommand(ctx, b.log, r.Handler, cmd), b.cfg.InstanceID)
	ctx.Finish()
	if !b.answers.take(o) {
		b.log.Debug("amqp: answer dropped: the command was answered 503 by the forced stop", "correlationId", cmd.CorrelationID)
		return
	}
	defer b.answers.sent()
	b.respond(resp, d.ReplyTo)
}

// refuse answers cmd, which this instance no longer takes (the bridge drains, or its
// registration is being removed), with an unhandled 503 so that the caller learns at
// once instead of waiting for its timeout. Best effort: the connection may be gone too.
func (b *Bridge) refuse(cmd *wire.Message, replyTo, why string) {
	b.log.Debug("amqp: command refused while "+why, "correlationId", cmd.CorrelationID)
	b.respond(bridge.UnhandledResponse(cmd, http.StatusServiceUnavailable, b.cfg.InstanceID), replyTo)
}

// respond sends resp, the answer to a command, to the caller's reply queue replyTo (no
// reply when empty; see replyPublishing) and publishes a copy to the exchange for the
// subscriptions (see copyResponse). Best effort: what cannot be sent is logged.
func (b *Bridge) respond(resp *wire.Message, replyTo string) {
	event := isEvent(resp)
	copied := event || b.cfg.copies
	if replyTo == "" && !copied {
		return
	}
	buf := b.bufs.Get()
	defer b.bufs.Put(buf) // after the publishes: amqp091 has written the body then
	data, err := buf.Encode(resp)
	if err != nil {
		b.log.Error("amqp: command response not encodable", "err", err)
		return
	}
	b.send(resp, data, replyTo, event, copied)
}

// isEvent reports whether resp is a success response with an eventName: an event as well.
func isEvent(resp *wire.Message) bool {
	return resp.MessageType == wire.TypeCommandSuccessResponse && resp.EventName != ""
}

// publishEvent publishes resp, a response that a local call produced (data is its
// encoding), to the exchange for the subscriptions: Local's Publish. Local offers it every
// response when response copies are on (WithResponseCopies), else only success responses
// with an eventName.
func (b *Bridge) publishEvent(resp *wire.Message, data []byte) {
	b.send(resp, data, "", resp.MessageType == wire.TypeCommandSuccessResponse && resp.EventName != "", true)
}

// send is respond once resp is encoded as data. When copied, resp also goes to the
// exchange with every header but replyTo (the cached header table; no replyTo, so no
// reply queue receives the copy): an event (a success with an eventName) on the confirm
// channel, published before the reply and its confirm awaited after it, so that the
// reply does not wait; any other response right after the reply on the same channel
// without a confirm (at most once, like the reply). It returns once amqp091 has copied data.
func (b *Bridge) send(resp *wire.Message, data []byte, replyTo string, event, copied bool) {
	s, err := b.session()
	if err != nil {
		b.log.Warn("amqp: response lost", "correlationId", resp.CorrelationID, "err", err)
		return
	}
	var dc *amqp091.DeferredConfirmation
	var evErr error
	if event {
		p := b.publishing(resp, data, "")
		dc, evErr = s.pub.PublishWithDeferredConfirm(wire.AMQPExchange, "", false, false, p)
		b.headers.put(p.Headers)
	}
	if replyTo != "" {
		if err := s.fast.Publish("", replyTo, false, false, replyPublishing(resp, data)); err != nil {
			b.log.Warn("amqp: response lost", "correlationId", resp.CorrelationID, "err", err)
		}
	}
	if copied && !event {
		p := b.publishing(resp, data, "")
		if err := s.fast.Publish(wire.AMQPExchange, "", false, false, p); err != nil {
			b.log.Debug("amqp: response copy for subscriptions lost", "correlationId", resp.CorrelationID, "err", err)
		}
		b.headers.put(p.Headers)
	}
	if !event {
		return
	}
	if evErr == nil {
		ctx, cancel := context.WithTimeout(context.Background(), bridge.DefaultTimeout)
		evErr = confirmed(ctx, s, dc)
		cancel()
	}
	if evErr != nil {
		b.log.Warn("amqp: success event lost", "correlationId", resp.CorrelationID, "eventName", resp.EventName, "err", evErr)
	}
}

// Unregister implements bridge.Registration. It cancels the consumer, lets the commands
// already received finish (until ctx ends) and removes the registration. When it was the
// queue's last consumer the broker deletes the queue, and later invocations fail with
// ErrNoHandler. A handler must not unregister itself.
func (r *cmdReg) Unregister(ctx context.Context) error {
	r.once.Do(func() {
		b := r.b
		b.topo.Lock()
		b.cmds.Remove(transport.EndpointOf(r.addr), r)
		b.topo.Unlock()
		r.leaving.Store(true)
		r.cons.cancel()
	})
	return waitIdle(ctx, &r.Calls, &r.cons)
}

// soleConsumer reports whether r's consumer is the only one of its command queue (asked
// on a channel of its own: a failed passive declare closes the channel). Cancelling it
// would let the broker delete the auto-delete queue, and a command routed to the queue
// while the broker deletes it is lost without a return to its caller; so Close keeps such
// a consumer until the drain has ended, refusing what it receives.
func (r *cmdReg) soleConsumer(s *session) bool {
	ch, err := s.conn.Channel()
	if err != nil {
		return false
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(wire.AMQPCommandQueue(r.addr), false, true, false, false, nil)
	return err == nil && q.Consumers <= 1
}

// waitIdle waits until ctx ends for the consumer's dispatch loop and the handlers in g.
func waitIdle(ctx context.Context, g *inflight.Gate, c *consumer) error {
	if err := c.waitUntil(ctx); err != nil {
		return fmt.Errorf("amqp: unregister: %w", err)
	}
	select {
	case <-g.Close():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("amqp: unregister: %w", ctx.Err())
	}
}
