package amqp

import (
	"slices"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// DeclaredDurableQueues returns the durable queues b declared (subscription and
// dead-letter queues), for test clean-up.
func (b *Bridge) DeclaredDurableQueues() []string {
	b.dmu.Lock()
	defer b.dmu.Unlock()
	var qs []string
	for q := range b.declared {
		qs = append(qs, q)
	}
	slices.Sort(qs)
	return qs
}

// SubscriptionQueues returns the queues b's subscriptions consume now.
func (b *Bridge) SubscriptionQueues() []string {
	var qs []string
	for _, r := range b.subs.All() {
		if q := r.queueName(); q != "" {
			qs = append(qs, q)
		}
	}
	return qs
}

// ReplyQueue returns b's current reply queue ("" while disconnected).
func (b *Bridge) ReplyQueue() string {
	if s := b.sess.Load(); s != nil {
		return s.replyQueue
	}
	return ""
}

// CommandQueueOf is wire.AMQPCommandQueue, re-exported for brevity in tests.
var CommandQueueOf = wire.AMQPCommandQueue

// DeliverCommand hands d to b's command registration for addr as if the broker had
// delivered it to the registration's consumer, and reports whether one is registered.
func (b *Bridge) DeliverCommand(addr wire.Address, d amqp091.Delivery) bool {
	addr.InstanceID = ""
	r, ok := b.cmds.Get(transport.EndpointOf(addr))
	if !ok {
		return false
	}
	r.deliver(d)
	return true
}

// RedactedURL returns the URL as b shows it in logs, errors and Healthy.
func (b *Bridge) RedactedURL() string { return b.redacted }
