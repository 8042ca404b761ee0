package amqp

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/inflight"
	"github.com/purista-go/purista/pkg/framework/internal/lifecycle"
	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// AMQP headers this bridge adds for retries and dead letters (purista extensions; the
// TypeScript bridge neither writes nor reads them).
const (
	// HeaderAttempt is the delivery attempt (1-based) of a retried subscription message.
	HeaderAttempt = "x-purista-attempt"
	// HeaderDeadReason is the last handler error of a dead letter.
	HeaderDeadReason = "x-purista-dead-reason"
	// HeaderDeadAttempts is the number of deliveries made before dead-lettering.
	HeaderDeadAttempts = "x-purista-dead-attempts"
	// HeaderDeadAt is when the message was dead-lettered, in ms since the epoch.
	HeaderDeadAt = "x-purista-dead-at"
	// HeaderDeadSubscriber... name the subscription that gave up.
	HeaderDeadSubscriberService  = "x-purista-dead-subscriber-service"
	HeaderDeadSubscriberVersion  = "x-purista-dead-subscriber-version"
	HeaderDeadSubscriberTarget   = "x-purista-dead-subscriber-target"
	HeaderDeadSubscriberInstance = "x-purista-dead-subscriber-instance"
)

// Emit implements bridge.EventBridge. It publishes msg to the exchange with its headers
// and returns after the broker's publisher confirm; it fails at once with ErrUnavailable
// while the connection is down (the caller decides whether to retry). Events never take
// the local short-circuit.
func (b *Bridge) Emit(ctx context.Context, msg *wire.Message) error {
	if err := b.intake(ctx); err != nil {
		return err
	}
	defer b.work.Leave()
	out, data, err := bridge.EncodeEvent(msg, b.cfg.InstanceID)
	if err != nil {
		return fmt.Errorf("amqp: emit: %w", err)
	}
	s, err := b.session()
	if err != nil {
		return fmt.Errorf("amqp: emit %s: %w", out.MessageType, err)
	}
	p := b.publishing(out, data, "")
	dc, err := s.pub.PublishWithDeferredConfirmWithContext(ctx, wire.AMQPExchange, "", false, false, p)
	b.headers.put(p.Headers)
	if err != nil {
		return fmt.Errorf("amqp: emit %s %s: %w: %w", out.MessageType, out.EventName, bridge.ErrUnavailable, err)
	}
	if err := confirmed(ctx, s, dc); err != nil {
		return fmt.Errorf("amqp: emit %s %s: %w", out.MessageType, out.EventName, err)
	}
	return nil
}

// subReg is this instance's registration of a subscription.
type subReg struct {
	b    *Bridge
	sub  bridge.Subscription
	h    bridge.MessageHandler
	g    inflight.Gate // deliveries in flight; shut by Unregister
	cons consumer
	once sync.Once

	// retries holds the scheduled retries. Its Work is nil: a message waiting for its
	// retry stays unacknowledged, so the broker has it back if the retry never runs.
	retries transport.Retries

	mu    sync.Mutex
	queue string // the queue consumed on the current session
}

// RegisterSubscription implements bridge.EventBridge. A shared subscription consumes
// purista.sub.<svc>.<ver>.<target> (durable) when sub.Durable, else
// TransientSubscriptionQueue (auto-delete); an every-instance one a server-named
// exclusive queue (Durable is then ignored). The queue is
// bound x-match=all on the filter's set fields; messages are also checked against the
// filter on receipt (commands, and responses without an eventName, are not events). The
// dead-letter queue purista.dlq.<svc>.<ver>.<target> is declared too. Messages are
// acknowledged after the handler returns nil; see the package doc for retries. A message
// that cannot be decoded is dead-lettered at once, with the decoding error as the reason.
func (b *Bridge) RegisterSubscription(ctx context.Context, sub bridge.Subscription, h bridge.MessageHandler) (bridge.Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil || sub.Subscriber.ServiceName == "" {
		return nil, fmt.Errorf("amqp: register subscription %s: needs a handler and a subscriber service name", sub.Subscriber)
	}
	r := &subReg{b: b, sub: sub, h: h}
	r.sub.Subscriber.InstanceID = b.cfg.InstanceID
	ep := transport.EndpointOf(sub.Subscriber)
	b.topo.Lock()
	defer b.topo.Unlock()
	if b.life.Load() >= lifecycle.StateDraining {
		return nil, fmt.Errorf("amqp: register subscription %s: %w", sub.Subscriber, bridge.ErrClosed)
	}
	if _, dup := b.subs.Get(ep); dup {
		return nil, fmt.Errorf("amqp: register subscription %s: %w", sub.Subscriber, bridge.ErrDuplicate)
	}
	if s := b.sess.Load(); s != nil {
		if err := r.attach(s); err != nil && !s.isDead() {
			return nil, fmt.Errorf("amqp: register subscription %s: %w", sub.Subscriber, err)
		}
	}
	_ = b.subs.Add(ep, r) // cannot fail: checked above under b.topo
	return r, nil
}

func (r *subReg) attach(s *session) error {
	b := r.b
	dlq := wire.AMQPDeadLetterQueue(r.sub.Subscriber)
	if !r.sub.EveryInstance && !r.sub.Durable {
		b.warnStaleDurable(s, r.sub.Subscriber)
	}
	return r.cons.start(s, b.cfg.prefetch, false, nil, func(ch *amqp091.Channel) (string, error) {
		if _, err := ch.QueueDeclare(dlq, true, false, false, false, nil); err != nil {
			return "", fmt.Errorf("amqp: declare %s: %w", dlq, err)
		}
		b.markDeclared(dlq)
		var q amqp091.Queue
		var err error
		switch {
		case r.sub.EveryInstance:
			q, err = ch.QueueDeclare("", false, true, true, false, nil)
		case r.sub.Durable:
			name := wire.AMQPSubscriptionQueue(r.sub.Subscriber)
			if q, err = ch.QueueDeclare(name, true, false, false, false, nil); err == nil {
				b.markDeclared(name)
			}
		default:
			q, err = ch.QueueDeclare(TransientSubscriptionQueue(r.sub.Subscriber), false, true, false, false, nil)
		}
		if err != nil {
			return "", fmt.Errorf("amqp: declare subscription queue of %s: %w", r.sub.Subscriber, err)
		}
		if err := ch.QueueBind(q.Name, "", wire.AMQPExchange, false, table(wire.AMQPBindingArgs(transport.FilterTokens(r.sub.Filter)))); err != nil {
			return "", fmt.Errorf("amqp: bind %s: %w", q.Name, err)
		}
		r.mu.Lock()
		r.queue = q.Name
		r.mu.Unlock()
		return q.Name, nil
	}, r.deliver)
}

// TransientSubscriptionQueue returns the queue the instances of a shared subscription
// that is not durable consume: purista.sub-transient.<svc>.<ver>.<target> (case kept,
// non-durable, auto-delete). It differs from the durable wire.AMQPSubscriptionQueue
// "purista.sub.<svc>.<ver>.<target>" within the fixed prefix, so no address maps both
// forms to one name, and switching a subscription's Durable never meets a queue
// declared with the other durability (RabbitMQ refuses that redeclaration with 406
// PRECONDITION_FAILED).
func TransientSubscriptionQueue(a wire.Address) string {
	return transientPrefix + strings.TrimPrefix(wire.AMQPSubscriptionQueue(a), durablePrefix)
}

const (
	durablePrefix   = "purista.sub."
	transientPrefix = "purista.sub-transient."
)

// warnStaleDurable logs a warning when the durable queue of the subscription at a exists
// although the subscription is not durable (any more): it keeps its binding and collects
// every matching event until an operator deletes it (purista does not, since instances
// still running as durable consume it).
func (b *Bridge) warnStaleDurable(s *session, a wire.Address) {
	ch, err := s.conn.Channel() // a passive declare of a missing queue closes its channel
	if err != nil {
		return
	}
	defer ch.Close()
	name := wire.AMQPSubscriptionQueue(a)
	if q, err := ch.QueueDeclarePassive(name, true, false, false, false, nil); err == nil {
		b.log.Warn("amqp: the durable queue of a subscription that is no longer durable still exists and collects its events; delete it when no instance runs it as durable",
			"queue", name, "messages", q.Messages, "consumers", q.Consumers)
	}
}

func (r *subReg) queueName() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queue
}

// deliver hands one message to a handler goroutine; prefetch bounds how many run.
func (r *subReg) deliver(d amqp091.Delivery) { r.b.dispatch(&r.g, d, r.handle) }

// dispatch runs handle(d) on a goroutine of its own that counts in the bridge's work gate
// and in g (a registration's deliveries in flight) until handle returns. When either gate
// is shut (the bridge or the registration is closing), d goes back to its queue instead.
func (b *Bridge) dispatch(g *inflight.Gate, d amqp091.Delivery, handle func(amqp091.Delivery)) {
	if !b.work.Enter(true) {
		_ = d.Nack(false, true)
		return
	}
	if !g.Enter(true) {
		b.work.Leave()
		_ = d.Nack(false, true)
		return
	}
	go func() {
		defer b.work.Leave()
		defer g.Leave()
		handle(d)
	}()
}

// wants reports whether msg is for r: it matches the filter. Responses count too: the
// exchange carries a copy of every response (see WithResponseCopies), as with TypeScript
// PURISTA, and a subscription may select them by message type or event name.
func (r *subReg) wants(msg *wire.Message) bool { return r.sub.Filter.Match(msg) }

func (r *subReg) handle(d amqp091.Delivery) {
	b := r.b
	attempt := attemptOf(d.Headers)
	msg, err := wire.Decode(d.Body)
	if err != nil { // never deliverable: no retry
		r.deadLetter(d, nil, attempt, "undecodable message: "+err.Error())
		return
	}
	if !r.wants(msg) {
		_ = d.Ack(false)
		return
	}
	err = r.call(msg)
	if err == nil {
		if aerr := d.Ack(false); aerr != nil {
			b.log.Debug("amqp: ack failed; the broker will redeliver", "err", aerr)
		}
		return
	}
	if b.ctx.Err() != nil {
		_ = d.Nack(false, true)
		return
	}
	switch r.retries.Settle(r.sub.Retry, attempt, err,
		func(next int) { r.retry(d, next) },
		func(n int, reason string) { r.deadLetter(d, msg, n, reason) }) {
	case transport.Dropped:
		_ = d.Nack(false, true) // unregistering or closing: back to the queue at once
	case transport.Retrying:
		b.mon.Retried(r.sub.Subscriber)
	}
}

// call calls the handler, recovering a panic as a failed delivery.
func (r *subReg) call(msg *wire.Message) error {
	return transport.CallSubscription(r.b.ctx, r.b.log, Name, r.sub.Subscriber, r.h, msg)
}

// attemptOf reads HeaderAttempt (1 when absent).
func attemptOf(h amqp091.Table) int {
	switch v := h[HeaderAttempt].(type) {
	case int32:
		return max(int(v), 1)
	case int64:
		return max(int(v), 1)
	case int:
		return max(v, 1)
	case int16:
		return max(int(v), 1)
	case int8:
		return max(int(v), 1)
	case uint8:
		return max(int(v), 1)
	}
	return 1
}

// retry republishes d to r's queue as delivery attempt next, then acknowledges the
// original. Until then the original stays unacknowledged, so a crash loses nothing.
func (r *subReg) retry(d amqp091.Delivery, next int) {
	b := r.b
	s, err := b.session()
	q := r.queueName()
	if err == nil {
		p := redelivery(d)
		p.Headers[HeaderAttempt] = int32(next)
		ctx, cancel := context.WithTimeout(b.ctx, bridge.DefaultTimeout)
		err = b.publish(ctx, s, "", q, p)
		cancel()
	}
	if err != nil {
		b.log.Warn("amqp: retry not published; the broker will redeliver", "subscriber", r.sub.Subscriber.String(), "err", err)
		_ = d.Nack(false, true)
		return
	}
	if err := d.Ack(false); err != nil {
		b.log.Debug("amqp: ack after retry failed; a duplicate will follow", "err", err)
	}
}

// redelivery copies d's properties, headers and body into a new publishing.
func redelivery(d amqp091.Delivery) amqp091.Publishing {
	h := make(amqp091.Table, len(d.Headers)+8)
	for k, v := range d.Headers {
		h[k] = v
	}
	return amqp091.Publishing{
		Headers: h, ContentType: d.ContentType, ContentEncoding: d.ContentEncoding,
		DeliveryMode: amqp091.Persistent, CorrelationId: d.CorrelationId, ReplyTo: d.ReplyTo,
		MessageId: d.MessageId, Timestamp: d.Timestamp, Type: d.Type, Body: d.Body,
	}
}

// deadLetter moves d to the subscription's dead-letter queue with the reason headers,
// acknowledges it once the broker confirmed the copy, and tells this bridge's
// zero-address dead-letter handlers.
func (r *subReg) deadLetter(d amqp091.Delivery, msg *wire.Message, attempts int, reason string) {
	b := r.b
	dl := bridge.DeadLetter{Message: msg, Subscriber: r.sub.Subscriber, Reason: reason, Attempts: attempts, At: time.Now()}
	p := redelivery(d)
	p.Headers[HeaderDeadReason] = reason
	p.Headers[HeaderDeadAttempts] = int32(attempts)
	p.Headers[HeaderDeadAt] = dl.At.UnixMilli()
	p.Headers[HeaderDeadSubscriberService] = dl.Subscriber.ServiceName
	p.Headers[HeaderDeadSubscriberVersion] = dl.Subscriber.ServiceVersion
	p.Headers[HeaderDeadSubscriberTarget] = dl.Subscriber.ServiceTarget
	p.Headers[HeaderDeadSubscriberInstance] = dl.Subscriber.InstanceID
	delete(p.Headers, HeaderAttempt)
	s, err := b.session()
	if err == nil {
		ctx, cancel := context.WithTimeout(b.ctx, bridge.DefaultTimeout)
		err = b.publish(ctx, s, "", wire.AMQPDeadLetterQueue(r.sub.Subscriber), p)
		cancel()
	}
	if err != nil {
		b.log.Warn("amqp: dead letter not published; the broker will redeliver", "subscriber", dl.Subscriber.String(), "err", err)
		_ = d.Nack(false, true)
		return
	}
	_ = d.Ack(false)
	b.mon.DeadLettered(r.sub.Subscriber)
	b.log.Warn("amqp: message dead-lettered", "subscriber", dl.Subscriber.String(),
		"queue", wire.AMQPDeadLetterQueue(r.sub.Subscriber), "attempts", attempts, "reason", reason)
	b.notifyLocalDeadLetter(dl)
}

// Unregister implements bridge.Registration. It cancels the consumer, drops scheduled
// retries (the broker requeues their originals), waits until ctx ends for the messages
// being handled, and deletes an every-instance queue. A durable queue stays, keeping
// messages for the next instance. A handler must not unregister itself.
func (r *subReg) Unregister(ctx context.Context) error {
	r.once.Do(func() {
		b := r.b
		b.topo.Lock()
		b.subs.Remove(transport.EndpointOf(r.sub.Subscriber), r)
		b.topo.Unlock()
		r.cons.cancel()
		r.retries.Stop()
	})
	err := waitIdle(ctx, &r.g, &r.cons)
	return err
}
