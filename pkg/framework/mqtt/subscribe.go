package mqtt

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/eclipse/paho.golang/paho"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/inflight"
	"github.com/purista-go/purista/pkg/framework/internal/lifecycle"
	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// Emit implements bridge.EventBridge: it publishes msg (QoS 1, expiry WithEventExpiry) on
// its 13-level topic and returns when the broker acknowledged it (PUBACK). A sender without
// instance id gets this bridge's. Commands cannot be emitted (use Invoke).
func (b *Bridge) Emit(ctx context.Context, msg *wire.Message) error {
	if err := b.intake(ctx); err != nil {
		return err
	}
	defer b.work.Leave()
	out, data, err := bridge.EncodeEvent(msg, b.cfg.InstanceID)
	if err != nil {
		return fmt.Errorf("mqtt: emit: %w", err)
	}
	if err := b.publish(ctx, b.packet(out, data, b.cfg.eventExpiry)); err != nil {
		return fmt.Errorf("mqtt: emit %s: %w", out.MessageType, err)
	}
	return nil
}

// subReg is a subscription registered on this bridge.
type subReg struct {
	b       *Bridge
	key     wire.Address
	sub     bridge.Subscription
	h       bridge.MessageHandler
	hooks   []hook
	g       inflight.Gate // deliveries in flight; shut by Unregister
	once    sync.Once
	leaving atomic.Bool // Close unsubscribed it: the session does not keep its messages
}

// filters returns the topic filters of a subscription: the 13-level pattern and, when the
// filter can match a service-level info message, also the 12-level pattern TypeScript
// PURISTA's collapsed info topics need (docs/wire-format.md).
func filters(f bridge.Filter) []string {
	pattern := wire.MQTTPattern(transport.FilterTokens(f))
	out := []string{pattern}
	info := f.MessageType == "" || strings.HasPrefix(string(f.MessageType), "info")
	if info && f.Sender.ServiceTarget == "" {
		levels := strings.Split(pattern, "/")
		out = append(out, strings.Join(append(levels[:7:7], levels[8:]...), "/"))
	}
	return out
}

// RegisterSubscription implements bridge.EventBridge. It subscribes the filter's 13-level
// topic pattern (plus PURISTA's 12-level info form where it applies): shared in the
// subscription's own share group (see WithPuristaShareName) unless sub.EveryInstance, which
// gives a plain subscription. The broker narrows by topic; the bridge then checks the
// envelope against sub.Filter exactly.
//
// Acknowledgement: a message is acknowledged after the handler succeeds, after it has
// been dead-lettered, or once a retry has been scheduled. A failing handler is retried in
// process according to sub.Retry: the pending retry lives in this process (as on the
// memory bridge and NATS core), so that it does not hold back the acknowledgements of
// later messages, which MQTT sends in arrival order. Close waits for pending retries; a
// forced stop (Close's ctx ends first) dead-letters the retries it cuts off, with the
// reason. A process that dies with a retry pending loses it. After the last attempt the
// message is published (QoS 1) to purista/deadletter/<svc>/<ver>/<target> with the user
// properties reason, attempts and subscriber*, and acknowledged once the broker confirmed
// that.
//
// A message that cannot be decoded is dead-lettered at once, with the reason.
//
// Durable: MQTT keeps messages for a session (a client id), not for a subscription. For an
// instance with a stable identity (WithInstanceID, WithClientID) Durable keeps the
// session and the subscription in it when the bridge closes, so events queue while the
// instance is down (as the broker allows: Mosquitto's max_queued_messages, 1000 by
// default) and are handled when the same identity starts again, within the session
// expiry. An instance without a stable identity leaves the subscription's share group
// when it closes and its session ends, durable or not: events then go to the other
// instances, or, when none runs, to nobody.
func (b *Bridge) RegisterSubscription(ctx context.Context, sub bridge.Subscription, h bridge.MessageHandler) (bridge.Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil || sub.Subscriber.ServiceName == "" {
		return nil, fmt.Errorf("mqtt: register subscription %s: needs a handler and a subscriber service name", sub.Subscriber)
	}
	ep := transport.EndpointOf(sub.Subscriber)
	key := ep.Address()
	s := &subReg{b: b, key: key, sub: sub, h: h}
	s.sub.Subscriber.InstanceID = b.cfg.InstanceID
	b.mu.Lock()
	if b.life.Load() >= lifecycle.StateDraining {
		b.mu.Unlock()
		return nil, fmt.Errorf("mqtt: register subscription %s: %w", sub.Subscriber, bridge.ErrClosed)
	}
	if err := b.subs.Add(ep, s); err != nil {
		b.mu.Unlock()
		return nil, fmt.Errorf("mqtt: register subscription %s: %w", sub.Subscriber, err)
	}
	b.mu.Unlock()
	share := ""
	if !sub.EveryInstance {
		share = b.shareName(key)
	}
	for _, f := range filters(sub.Filter) {
		s.hooks = append(s.hooks, b.addHook(wire.MQTTShared(share, f), s.handle))
	}
	for _, hk := range s.hooks {
		if err := b.activate(ctx, hk); err != nil {
			_ = s.Unregister(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("mqtt: register subscription %s: %w", sub.Subscriber, err)
		}
	}
	return s, nil
}

// Unregister implements bridge.Registration: it unsubscribes, then waits, until ctx ends,
// for the messages being handled. Messages that arrive meanwhile, or later from a resumed
// session, are acknowledged and dropped.
func (s *subReg) Unregister(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		s.b.mu.Lock()
		s.b.subs.Remove(transport.EndpointOf(s.key), s)
		s.b.mu.Unlock()
		err = s.b.removeHooks(ctx, s.hooks...)
	})
	if werr := s.b.life.WaitUnregister(ctx, &s.g); werr != nil {
		return werr
	}
	return err
}

// handle receives a message for s (on paho's goroutine) and queues its delivery. While the
// bridge closes, new messages are left unacknowledged for the session that keeps them;
// those of a subscription that Close has taken out of the session (they arrived before
// the broker confirmed the UNSUBSCRIBE) are still handled while other work is in flight.
func (s *subReg) handle(p *paho.Publish, ack func()) {
	b := s.b
	switch st := b.life.Load(); {
	case st == lifecycle.StateRunning && b.work.Enter(false):
	case st == lifecycle.StateDraining && s.leaving.Load() && b.work.Enter(true):
	default:
		return
	}
	data := p.Payload
	b.push(func(ctx context.Context) { s.deliver(ctx, data, 1, ack) })
}

// deliver runs delivery attempt number attempt and then acknowledges, schedules a retry
// or dead-letters. The message is acknowledged once the handler succeeded, once it has
// been dead-lettered, or once a retry has been scheduled: from then on the retry lives in
// this process (b.retries, counted in b.work, so Close waits for it) and does not hold
// back the acknowledgements of later messages on the connection (paho sends them in
// arrival order). ack is a no-op for a retry.
func (s *subReg) deliver(ctx context.Context, data []byte, attempt int, ack func()) {
	b := s.b
	if ctx.Err() != nil {
		s.abandon(data, attempt, "the bridge was force-stopped before the delivery ran")
		return
	}
	if !s.g.Enter(false) {
		ack() // unregistered
		return
	}
	defer s.g.Leave()
	msg, err := wire.Decode(data)
	if err != nil {
		s.deadLetter(ctx, data, "undecodable message: "+err.Error(), attempt, ack)
		return
	}
	if !s.sub.Filter.Match(msg) {
		ack()
		return
	}
	err = transport.CallSubscription(ctx, b.log, Name, s.sub.Subscriber, s.h, msg)
	if err == nil {
		ack()
		return
	}
	if ctx.Err() != nil {
		s.abandon(data, attempt, "the bridge was force-stopped while the handler ran: "+err.Error())
		return
	}
	pr := &parkedRetry{s: s, data: data, next: attempt + 1, lastErr: err.Error()}
	b.park(pr)
	switch b.retries.Settle(s.sub.Retry, attempt, err,
		func(next int) {
			if b.unpark(pr) && b.work.Enter(true) {
				b.push(func(ctx context.Context) { s.deliver(ctx, data, next, func() {}) })
			}
		},
		func(n int, reason string) { s.deadLetter(ctx, data, reason, n, ack) }) {
	case transport.Retrying:
		b.mon.Retried(s.sub.Subscriber)
		ack() // the retry scheduler owns the message now
	case transport.Dropped:
		b.unpark(pr)
		s.abandon(data, attempt, "the bridge stopped before a retry could be scheduled: "+err.Error())
	default:
		b.unpark(pr)
	}
}

// parkedRetry is a retry scheduled in b.retries whose message is already acknowledged.
type parkedRetry struct {
	s       *subReg
	data    []byte
	next    int    // the attempt it runs
	lastErr string // the error of the attempt before
}

// park records pr until its retry runs (unpark) or Close drops it (abandonParked).
func (b *Bridge) park(pr *parkedRetry) {
	b.mu.Lock()
	if b.parked == nil {
		b.parked = map[*parkedRetry]struct{}{}
	}
	b.parked[pr] = struct{}{}
	b.mu.Unlock()
}

// unpark removes pr and reports whether it was still parked: the caller then owns it.
func (b *Bridge) unpark(pr *parkedRetry) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.parked[pr]
	delete(b.parked, pr)
	return ok
}

// abandonParked dead-letters the retries that b.retries.Stop dropped (a forced stop: a
// normal Close waits for every pending retry). Close waits for them through b.replies.
func (b *Bridge) abandonParked() {
	b.mu.Lock()
	parked := b.parked
	b.parked = nil
	b.mu.Unlock()
	for pr := range parked {
		pr.s.abandon(pr.data, pr.next, "the bridge was force-stopped while the retry was pending: "+pr.lastErr)
	}
}

// abandon settles a delivery that cannot run, or be retried, because Close forced a stop.
// The first attempt's message is still unacknowledged: the session delivers it again. A
// retry's message was acknowledged when the retry was scheduled: it is dead-lettered with
// reason, on a goroutine that Close waits for (b.replies) before it disconnects.
func (s *subReg) abandon(data []byte, attempt int, reason string) {
	if attempt <= 1 {
		return // unacknowledged: the session redelivers it
	}
	b := s.b
	if !b.replies.Enter(false) {
		b.log.Error("mqtt: retry lost at close; its message was already acknowledged", "subscriber", s.key.String(), "reason", reason)
		return
	}
	go func() {
		defer b.replies.Leave()
		ctx := context.WithoutCancel(b.ctx)
		s.deadLetter(ctx, data, fmt.Sprintf("retry %d not run: %s", attempt, reason), attempt-1, func() {})
	}()
}

// deadLetter publishes data to the subscription's dead-letter topic with reason and, once
// the broker confirmed it, acknowledges the message; if that fails the message stays
// unacknowledged (the session delivers it again).
func (s *subReg) deadLetter(ctx context.Context, data []byte, reason string, attempts int, ack func()) {
	b := s.b
	if err := b.deadLetter(ctx, s.sub.Subscriber, data, reason, attempts); err != nil {
		b.log.Error("mqtt: dead letter not published; the broker delivers the message again only if it was not acknowledged yet (a first attempt)", "subscriber", s.key.String(), "err", err)
		return
	}
	b.log.Warn("mqtt: message dead-lettered", "subscriber", s.key.String(), "attempts", attempts, "reason", reason)
	ack()
}

// push queues j, already admitted by b.work, on the bridge's bounded job queue.
func (b *Bridge) push(j func(context.Context)) { b.jobs.Push(j) }
