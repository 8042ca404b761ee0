package amqp

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/inflight"
	"github.com/purista-go/purista/pkg/framework/internal/lifecycle"
	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// dlReg is a dead-letter handler registration.
type dlReg struct {
	b    *Bridge
	addr wire.Address // zero: this bridge's own subscriptions, told in process
	h    bridge.DeadLetterHandler
	g    inflight.Gate
	cons consumer
	once sync.Once
}

// OnDeadLetter implements bridge.EventBridge.
//
// With a subscriber address, h consumes that subscription's dead-letter queue
// purista.dlq.<svc>.<ver>.<target> (declared durable if missing): each dead letter is
// handed to h and then acknowledged, that is removed from the queue. The queue is a work
// queue: when several registrations (in this or other processes) observe one subscriber,
// each dead letter reaches one of them. When subscriber.InstanceID is set, dead letters of
// other instances are acknowledged without calling h.
//
// With the zero Address, h is called in process for every message one of this bridge's
// subscriptions dead-letters, right after the broker confirmed the copy in the dead-letter
// queue (which keeps it for inspection or for a subscriber-specific observer).
func (b *Bridge) OnDeadLetter(ctx context.Context, subscriber wire.Address, h bridge.DeadLetterHandler) (bridge.Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, fmt.Errorf("amqp: on dead letter %s: nil handler", subscriber)
	}
	r := &dlReg{b: b, addr: subscriber, h: h}
	b.topo.Lock()
	defer b.topo.Unlock()
	if b.life.Load() >= lifecycle.StateDraining {
		return nil, fmt.Errorf("amqp: on dead letter %s: %w", subscriber, bridge.ErrClosed)
	}
	if s := b.sess.Load(); s != nil {
		if err := r.attach(s); err != nil && !s.isDead() {
			return nil, fmt.Errorf("amqp: on dead letter %s: %w", subscriber, err)
		}
	}
	b.dls[r] = struct{}{}
	return r, nil
}

func (r *dlReg) attach(s *session) error {
	if r.addr == (wire.Address{}) {
		return nil
	}
	q := wire.AMQPDeadLetterQueue(r.addr)
	return r.cons.start(s, r.b.cfg.prefetch, false, nil, func(ch *amqp091.Channel) (string, error) {
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			return "", fmt.Errorf("amqp: declare %s: %w", q, err)
		}
		r.b.markDeclared(q)
		return q, nil
	}, r.deliver)
}

// deliver hands one dead letter of the queue to a handler goroutine (see dispatch).
func (r *dlReg) deliver(d amqp091.Delivery) { r.b.dispatch(&r.g, d, r.handle) }

// handle runs h for one dead letter of the queue and acknowledges it.
func (r *dlReg) handle(d amqp091.Delivery) {
	dl := readDeadLetter(d)
	// The queue selects the endpoint (transport.ObservesDeadLetter's endpoint test would
	// skip a dead letter whose subscriber headers are missing): only the instance is left.
	if r.addr.InstanceID == "" || r.addr.InstanceID == dl.Subscriber.InstanceID {
		r.call(dl)
	}
	_ = d.Ack(false)
}

// call calls the handler, recovering (and logging) a panic.
func (r *dlReg) call(dl bridge.DeadLetter) {
	transport.CallDeadLetter(r.b.ctx, r.b.log, Name, r.h, dl)
}

// readDeadLetter rebuilds a DeadLetter from a message of a dead-letter queue. Message is
// nil when the body is not a valid PURISTA message.
func readDeadLetter(d amqp091.Delivery) bridge.DeadLetter {
	str := func(k string) string { s, _ := d.Headers[k].(string); return s }
	dl := bridge.DeadLetter{
		Subscriber: wire.Address{
			ServiceName: str(HeaderDeadSubscriberService), ServiceVersion: str(HeaderDeadSubscriberVersion),
			ServiceTarget: str(HeaderDeadSubscriberTarget), InstanceID: str(HeaderDeadSubscriberInstance),
		},
		Reason: str(HeaderDeadReason),
	}
	switch v := d.Headers[HeaderDeadAttempts].(type) {
	case int32:
		dl.Attempts = int(v)
	case int64:
		dl.Attempts = int(v)
	case string:
		dl.Attempts, _ = strconv.Atoi(v)
	}
	switch v := d.Headers[HeaderDeadAt].(type) {
	case int64:
		dl.At = time.UnixMilli(v)
	case int32:
		dl.At = time.UnixMilli(int64(v))
	}
	if msg, err := wire.Decode(d.Body); err == nil {
		dl.Message = msg
	}
	return dl
}

// notifyLocalDeadLetter calls this bridge's zero-address dead-letter handlers with dl.
func (b *Bridge) notifyLocalDeadLetter(dl bridge.DeadLetter) {
	b.topo.Lock()
	var hs []*dlReg
	for r := range b.dls {
		if r.addr == (wire.Address{}) {
			hs = append(hs, r)
		}
	}
	b.topo.Unlock()
	for _, r := range hs {
		if !r.g.Enter(true) {
			continue
		}
		c := dl
		if dl.Message != nil {
			c.Message = dl.Message.Clone()
		}
		r.call(c)
		r.g.Leave()
	}
}

// Unregister implements bridge.Registration.
func (r *dlReg) Unregister(ctx context.Context) error {
	r.once.Do(func() {
		r.b.topo.Lock()
		delete(r.b.dls, r)
		r.b.topo.Unlock()
		r.cons.cancel()
	})
	return waitIdle(ctx, &r.g, &r.cons)
}
