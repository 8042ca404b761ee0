package nats

import (
	"context"
	"fmt"
	"strconv"
	"strings"
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

// deadLetter publishes data, which failed every attempt of the subscription at
// subscriber, to wire.NATSDeadLetterSubject(subscriber) with the reason headers. With
// JetStream the dead-letter stream keeps it and the call waits for the stream's ack.
func (b *Bridge) deadLetter(subscriber wire.Address, data []byte, reason string, attempts int) error {
	h := natsgo.Header{}
	if msg, err := wire.Decode(data); err == nil {
		h = messageHeader(msg)
	}
	h.Set(HeaderDeadLetterReason, reason)
	h.Set(HeaderDeadLetterAttempts, strconv.Itoa(attempts))
	h.Set(HeaderDeadLetterInstance, b.cfg.InstanceID)
	h.Set(HeaderDeadLetterSubscriber, subscriber.ServiceName+"/"+subscriber.ServiceVersion+"/"+subscriber.ServiceTarget)
	h.Set(HeaderDeadLetterAt, time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pm := &natsgo.Msg{Subject: wire.NATSDeadLetterSubject(subscriber), Data: data, Header: h}
	if err := b.publishMsg(ctx, pm, ""); err != nil {
		return err
	}
	b.mon.DeadLettered(subscriber)
	b.log.Warn("nats: message dead-lettered", "subscriber", subscriber.String(), "attempts", attempts, "reason", reason)
	return nil
}

// dlReg is an OnDeadLetter registration.
type dlReg struct {
	b    *Bridge
	addr wire.Address // zero: every subscription of b
	h    bridge.DeadLetterHandler
	g    inflight.Gate

	mu   sync.Mutex
	core *natsgo.Subscription
	cc   jetstream.ConsumeContext
	once sync.Once
}

// OnDeadLetter implements bridge.EventBridge. It reads the dead-letter subject of
// subscriber (with JetStream through an ordered consumer on the dead-letter stream that
// starts at new messages, so it survives reconnects; otherwise a core subscription). For
// the zero Address it observes the dead letters given up by this bridge instance; an
// address with an InstanceID observes only that instance's.
func (b *Bridge) OnDeadLetter(ctx context.Context, subscriber wire.Address, h bridge.DeadLetterHandler) (bridge.Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, fmt.Errorf("nats: on dead letter %s: nil handler", subscriber)
	}
	r := &dlReg{b: b, addr: subscriber, h: h}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.life.Load() >= lifecycle.StateDraining {
		return nil, fmt.Errorf("nats: on dead letter %s: %w", subscriber, bridge.ErrClosed)
	}
	if b.life.Load() == lifecycle.StateRunning {
		if err := r.start(ctx); err != nil {
			return nil, err
		}
		if err := b.flush(ctx); err != nil {
			r.stop()
			return nil, fmt.Errorf("nats: on dead letter %s: %w", subscriber, err)
		}
	}
	b.dls[r] = struct{}{}
	return r, nil
}

func (r *dlReg) subject() string {
	if r.addr == (wire.Address{}) {
		return DeadLetterStreamSubjects()[0]
	}
	return wire.NATSDeadLetterSubject(r.addr)
}

// start subscribes; b.mu is held and the bridge is connected.
func (r *dlReg) start(ctx context.Context) error {
	b := r.b
	if b.js == nil {
		s, err := b.nc.Subscribe(r.subject(), func(m *natsgo.Msg) { r.handle(m.Data, m.Header) })
		if err != nil {
			return fmt.Errorf("nats: on dead letter %s: %w", r.addr, err)
		}
		r.core = s
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cons, err := b.js.OrderedConsumer(cctx, b.cfg.dlqStreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{r.subject()},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return fmt.Errorf("nats: on dead letter %s: consumer: %w", r.addr, err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { r.handle(m.Data(), m.Headers()) })
	if err != nil {
		return fmt.Errorf("nats: on dead letter %s: consume: %w", r.addr, err)
	}
	r.cc = cc
	return nil
}

// handle passes one dead letter to the handler if r observes it
// (transport.ObservesDeadLetter; the subject already selected the endpoint).
func (r *dlReg) handle(data []byte, h natsgo.Header) {
	dl := bridge.DeadLetter{Subscriber: wire.Address{InstanceID: h.Get(HeaderDeadLetterInstance)}}
	if parts := strings.SplitN(h.Get(HeaderDeadLetterSubscriber), "/", 3); len(parts) == 3 {
		dl.Subscriber.ServiceName, dl.Subscriber.ServiceVersion, dl.Subscriber.ServiceTarget = parts[0], parts[1], parts[2]
	}
	if !transport.ObservesDeadLetter(r.addr, r.b.cfg.InstanceID, dl.Subscriber) || !r.g.Enter(false) {
		return
	}
	defer r.g.Leave()
	dl.Reason = h.Get(HeaderDeadLetterReason)
	dl.Attempts, _ = strconv.Atoi(h.Get(HeaderDeadLetterAttempts))
	dl.At = time.Now()
	if at, err := time.Parse(time.RFC3339Nano, h.Get(HeaderDeadLetterAt)); err == nil {
		dl.At = at
	}
	if msg, err := wire.Decode(data); err == nil {
		dl.Message = msg
	}
	transport.CallDeadLetter(r.b.ctx, r.b.log, Name, r.h, dl)
}

func (r *dlReg) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.core != nil {
		_ = r.core.Unsubscribe()
		r.core = nil
	}
	if r.cc != nil {
		r.cc.Stop()
		r.cc = nil
	}
}

// Unregister implements bridge.Registration.
func (r *dlReg) Unregister(ctx context.Context) error {
	r.once.Do(func() {
		r.b.mu.Lock()
		delete(r.b.dls, r)
		r.b.mu.Unlock()
		r.stop()
	})
	return r.b.life.WaitUnregister(ctx, &r.g)
}
