package amqp

import (
	"context"
	"slices"

	"github.com/purista-go/purista/pkg/framework/wire"
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
	b.topo.Lock()
	defer b.topo.Unlock()
	var qs []string
	for _, r := range b.subs {
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

// PublishBothWays publishes m (encoded as body) to queue q through the default exchange
// twice on b's session: first as Invoke, respond and Emit publish it (on a plain
// connection the properties are encoded by appendProperties and spliced in by
// frameConn), then with amqp091 encoding the same properties. It reports whether the
// first publish used the splice.
func (b *Bridge) PublishBothWays(m *wire.Message, body []byte, replyTo, replyQueue, q string) (bool, error) {
	s, err := b.session()
	if err != nil {
		return false, err
	}
	first, pb := s.publishing(m, body, replyTo, replyQueue)
	err = s.fast.PublishWithContext(context.Background(), "", q, false, false, first)
	s.published(pb)
	if err != nil {
		return false, err
	}
	second, _ := (&session{}).publishing(m, body, replyTo, replyQueue)
	return pb != nil, s.fast.PublishWithContext(context.Background(), "", q, false, false, second)
}
