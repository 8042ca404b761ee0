package nats

import (
	"context"
	"fmt"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/inflight"
	"github.com/purista-go/purista/pkg/framework/internal/lifecycle"
	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// subReg is one registered subscription. Exactly one of sub (core NATS) and cc
// (JetStream) is set while it runs.
type subReg struct {
	b       *Bridge
	sub     bridge.Subscription
	h       bridge.MessageHandler
	durable bool // JetStream consumer
	sem     chan struct{}
	g       inflight.Gate     // deliveries and scheduled retries in flight
	retries transport.Retries // core NATS redeliveries; each holds a unit of g

	mu      sync.Mutex
	core    *natsgo.Subscription
	ccs     []jetstream.ConsumeContext
	closing bool
	once    sync.Once
}

// RegisterSubscription implements bridge.EventBridge. See the package documentation for
// which transport each kind of subscription uses. sub.Subscriber needs a service name; one
// bridge registers each subscriber address once. A durable subscription fails with
// bridge.ErrUnavailable when the server has no JetStream.
func (b *Bridge) RegisterSubscription(ctx context.Context, sub bridge.Subscription, h bridge.MessageHandler) (bridge.Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil || sub.Subscriber.ServiceName == "" {
		return nil, fmt.Errorf("nats: register subscription %s: needs a handler and a subscriber service name", sub.Subscriber)
	}
	sub.Subscriber.InstanceID = b.cfg.InstanceID
	r := &subReg{
		b: b, sub: sub, h: h,
		durable: sub.Durable && !sub.EveryInstance && sub.Filter.MessageType != wire.TypeCommand,
		sem:     make(chan struct{}, b.cfg.maxConcurrency),
	}
	r.retries.Work = &r.g
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.life.Load() >= lifecycle.StateDraining {
		return nil, fmt.Errorf("nats: register subscription %s: %w", sub.Subscriber, bridge.ErrClosed)
	}
	ep := transport.EndpointOf(sub.Subscriber)
	if _, dup := b.subs.Get(ep); dup {
		return nil, fmt.Errorf("nats: register subscription %s: %w", sub.Subscriber, bridge.ErrDuplicate)
	}
	if b.life.Load() == lifecycle.StateRunning {
		if err := r.start(ctx); err != nil {
			return nil, err
		}
		if err := b.flush(ctx); err != nil {
			r.stop()
			return nil, fmt.Errorf("nats: register subscription %s: %w", sub.Subscriber, err)
		}
	}
	_ = b.subs.Add(ep, r) // not a duplicate: b.mu is held since the check
	return r, nil
}

// pattern returns the subscription subject of the filter, with message type typ.
func (r *subReg) pattern(typ wire.MessageType) string {
	t := transport.FilterTokens(r.sub.Filter)
	t.MessageType = string(typ)
	return wire.NATSPattern(t)
}

// start subscribes; b.mu is held and the bridge is connected.
func (r *subReg) start(ctx context.Context) error {
	b := r.b
	if !r.durable {
		var (
			s   *natsgo.Subscription
			err error
		)
		if r.sub.EveryInstance {
			s, err = b.nc.Subscribe(r.pattern(r.sub.Filter.MessageType), r.onCore)
		} else {
			s, err = b.nc.QueueSubscribe(r.pattern(r.sub.Filter.MessageType), wire.NATSQueueGroup(r.sub.Subscriber), r.onCore)
		}
		if err != nil {
			return fmt.Errorf("nats: register subscription %s: %w", r.sub.Subscriber, err)
		}
		_ = s.SetPendingLimits(-1, -1)
		r.mu.Lock()
		r.core = s
		r.mu.Unlock()
		return nil
	}
	if b.js == nil {
		return fmt.Errorf("nats: register durable subscription %s: %w: JetStream is not enabled on the server", r.sub.Subscriber, bridge.ErrUnavailable)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	subjects := r.streamFilters()
	// One consumer per filter subject on servers before 2.10 (no FilterSubjects there); a
	// message has one type, so it matches exactly one of them.
	groups := [][]string{subjects}
	if len(subjects) > 1 && !serverAtLeast(b.nc.ConnectedServerVersion(), 2, 10) {
		groups = groups[:0]
		for _, s := range subjects {
			groups = append(groups, []string{s})
		}
	}
	for i, g := range groups {
		name := ConsumerName(r.sub.Subscriber)
		if len(groups) > 1 {
			name += fmt.Sprintf("__%d", i)
		}
		cfg := jetstream.ConsumerConfig{
			Durable:           name,
			Description:       "purista subscription " + r.sub.Subscriber.String(),
			DeliverPolicy:     jetstream.DeliverNewPolicy,
			AckPolicy:         jetstream.AckExplicitPolicy,
			AckWait:           b.cfg.ackWait,
			MaxDeliver:        transport.MaxAttempts(r.sub.Retry),
			MaxAckPending:     max(b.cfg.maxConcurrency*4, 256),
			InactiveThreshold: b.cfg.inactive,
		}
		if len(g) == 1 {
			cfg.FilterSubject = g[0]
		} else {
			cfg.FilterSubjects = g
		}
		cons, err := b.js.CreateOrUpdateConsumer(cctx, b.cfg.streamName, cfg)
		if err != nil {
			r.stop()
			return fmt.Errorf("nats: register durable subscription %s: consumer: %w", r.sub.Subscriber, err)
		}
		cc, err := cons.Consume(r.onJS,
			jetstream.PullMaxMessages(b.cfg.maxConcurrency),
			jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
				b.log.Debug("nats: consume", "subscriber", r.sub.Subscriber.String(), "err", err)
			}))
		if err != nil {
			r.stop()
			return fmt.Errorf("nats: register durable subscription %s: consume: %w", r.sub.Subscriber, err)
		}
		r.mu.Lock()
		r.ccs = append(r.ccs, cc)
		r.mu.Unlock()
	}
	return nil
}

// streamFilters returns the consumer filter subjects of a durable subscription: its
// pattern when the filter names a message type, else the pattern once per message type
// the events stream holds (only customMessage and commandSuccessResponse when the filter
// names an event: PURISTA puts eventName on no other type it publishes).
func (r *subReg) streamFilters() []string {
	if r.sub.Filter.MessageType != "" {
		return []string{r.pattern(r.sub.Filter.MessageType)}
	}
	types := eventTypes
	if r.sub.Filter.EventName != "" {
		types = []wire.MessageType{wire.TypeCustomMessage, wire.TypeCommandSuccessResponse}
	}
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = r.pattern(t)
	}
	return out
}

// serverAtLeast reports whether version ("2.9.10") is at least major.minor.
func serverAtLeast(version string, major, minor int) bool {
	var ma, mi int
	if _, err := fmt.Sscanf(version, "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// onCore handles a core NATS message: it waits for a free handler slot (back-pressure
// into the subscription's pending queue) and runs the delivery on a goroutine.
func (r *subReg) onCore(m *natsgo.Msg) {
	r.dispatch(func() { r.deliverCore(m.Data, 1) }, nil)
}

// onJS handles a JetStream message like onCore. After stop, buffered messages are NAKed
// so that another instance gets them at once.
func (r *subReg) onJS(m jetstream.Msg) {
	r.dispatch(func() { r.deliverJS(m) }, func() { _ = m.Nak() })
}

func (r *subReg) dispatch(run, reject func()) {
	r.mu.Lock()
	closing := r.closing
	r.mu.Unlock()
	if closing || !r.g.Enter(false) {
		if reject != nil {
			reject()
		}
		return
	}
	r.sem <- struct{}{}
	go func() {
		defer r.g.Leave()
		defer func() { <-r.sem }()
		run()
	}()
}

// call runs the handler with a ctx bounded by the ack wait; a panic is an error.
func (r *subReg) call(msg *wire.Message) error {
	ctx, cancel := context.WithTimeout(r.b.ctx, r.b.cfg.ackWait)
	defer cancel()
	return transport.CallSubscription(ctx, r.b.log, Name, r.sub.Subscriber, r.h, msg)
}

// deliverCore runs attempt number attempt of a core NATS message and schedules the retry
// (in process, r.retries) or the dead letter a failure calls for.
func (r *subReg) deliverCore(data []byte, attempt int) {
	msg, err := wire.Decode(data)
	if err != nil {
		// Addressed to this subscription (its subject matched) but never deliverable: dead-
		// lettered at once with the reason, as the durable path does.
		r.b.log.Warn("nats: invalid message dead-lettered", "subscriber", r.sub.Subscriber.String(), "bytes", len(data), "err", err)
		r.deadLetterCore(data, attempt, err.Error())
		return
	}
	if !r.sub.Filter.Match(msg) {
		return
	}
	if err = r.call(msg); err == nil || r.b.ctx.Err() != nil {
		return
	}
	if r.retries.Settle(r.sub.Retry, attempt, err, func(next int) {
		if !r.g.Enter(true) {
			return
		}
		go func() { // never block the caller: it may hold the last handler slot
			defer r.g.Leave()
			r.sem <- struct{}{}
			defer func() { <-r.sem }()
			r.deliverCore(data, next)
		}()
	}, func(attempts int, reason string) { r.deadLetterCore(data, attempts, reason) }) == transport.Retrying {
		r.b.mon.Retried(r.sub.Subscriber)
	}
}

// deadLetterCore dead-letters a core NATS message; one that cannot be published is lost
// (core NATS keeps no copy).
func (r *subReg) deadLetterCore(data []byte, attempts int, reason string) {
	if err := r.b.deadLetter(r.sub.Subscriber, data, reason, attempts); err != nil {
		r.b.log.Error("nats: dead letter not published; message dropped", "subscriber", r.sub.Subscriber.String(), "err", err)
	}
}

// deliverJS runs one delivery of a JetStream message: ack on success; on failure NAK with
// the policy's delay or, at the last attempt, dead-letter and terminate.
func (r *subReg) deliverJS(m jetstream.Msg) {
	attempt := 1
	if md, err := m.Metadata(); err == nil {
		attempt = int(md.NumDelivered)
	}
	msg, err := wire.Decode(m.Data())
	if err != nil {
		r.b.log.Warn("nats: invalid message dead-lettered", "subscriber", r.sub.Subscriber.String(), "err", err)
		r.giveUp(m, err.Error(), attempt)
		return
	}
	if !r.sub.Filter.Match(msg) {
		_ = m.Ack()
		return
	}
	err = r.call(msg)
	if err == nil {
		if aerr := m.Ack(); aerr != nil {
			r.b.log.Debug("nats: ack failed; the message will be redelivered", "err", aerr)
		}
		return
	}
	if r.b.ctx.Err() != nil {
		_ = m.Nak()
		return
	}
	if retry, delay := transport.Next(r.sub.Retry, attempt); retry {
		_ = m.NakWithDelay(delay)
		r.b.mon.Retried(r.sub.Subscriber)
		return
	}
	r.giveUp(m, err.Error(), attempt)
}

// giveUp dead-letters m and terminates it; if the dead letter cannot be stored the
// message is NAKed to be tried again later.
func (r *subReg) giveUp(m jetstream.Msg, reason string, attempt int) {
	if err := r.b.deadLetter(r.sub.Subscriber, m.Data(), reason, attempt); err != nil {
		r.b.log.Error("nats: dead letter not published; will retry", "subscriber", r.sub.Subscriber.String(), "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	_ = m.TermWithReason("dead-lettered: " + reason)
}

// stop ends intake: it unsubscribes (core) or drains the consumer with NAKs (JetStream)
// and drops pending retries.
func (r *subReg) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing {
		return
	}
	r.closing = true
	if r.core != nil {
		_ = r.core.Unsubscribe()
	}
	for _, cc := range r.ccs {
		cc.Drain()
	}
	r.retries.Stop()
}

// waitStopped waits until the JetStream consumer has delivered its buffer (which onJS
// NAKs), at most drainWait: a pull request still open on the server would otherwise hold
// the drain until it expires. What is not delivered by then stays on the server for the
// next delivery (to another instance, or this subscription's next start).
func (r *subReg) waitStopped(ctx context.Context) {
	r.mu.Lock()
	ccs := r.ccs
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, drainWait)
	defer cancel()
	for _, cc := range ccs {
		select {
		case <-cc.Closed():
		case <-ctx.Done():
			cc.Stop()
		}
	}
}

// Unregister implements bridge.Registration: no message reaches the handler after it
// returns; it waits until ctx ends for the deliveries in progress. A durable consumer
// stays on the server (it keeps collecting messages for the subscription's next start).
func (r *subReg) Unregister(ctx context.Context) error {
	r.once.Do(func() {
		r.b.mu.Lock()
		r.b.subs.Remove(transport.EndpointOf(r.sub.Subscriber), r)
		r.b.mu.Unlock()
		r.stop()
		r.b.flushQuietly(ctx)
	})
	err := r.b.life.WaitUnregister(ctx, &r.g)
	r.waitStopped(ctx)
	return err
}
