package mqtt

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/inflight"
	"github.com/purista-go/purista/pkg/framework/internal/lifecycle"
	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// User properties of a dead-letter message (published to wire.MQTTDeadLetterTopic of the
// subscriber, with the original message as body).
const (
	PropReason                   = "reason"
	PropAttempts                 = "attempts"
	PropDeadLetteredAt           = "deadLetteredAt" // ms since the epoch
	PropSubscriberServiceName    = "subscriberServiceName"
	PropSubscriberServiceVersion = "subscriberServiceVersion"
	PropSubscriberServiceTarget  = "subscriberServiceTarget"
	PropSubscriberInstanceID     = "subscriberInstanceId"
)

// deadLetter publishes data, which failed every attempt of subscriber, to the dead-letter
// topic and waits for the broker's PUBACK.
func (b *Bridge) deadLetter(ctx context.Context, subscriber wire.Address, data []byte, reason string, attempts int) error {
	props := &paho.PublishProperties{ContentType: wire.ContentTypeJSON, MessageExpiry: expirySeconds(b.cfg.eventExpiry)}
	props.User.Add(PropReason, reason).
		Add(PropAttempts, strconv.Itoa(attempts)).
		Add(PropDeadLetteredAt, strconv.FormatInt(wire.NowMillis(), 10)).
		Add(PropSubscriberServiceName, subscriber.ServiceName).
		Add(PropSubscriberServiceVersion, subscriber.ServiceVersion).
		Add(PropSubscriberServiceTarget, subscriber.ServiceTarget).
		Add(PropSubscriberInstanceID, subscriber.InstanceID)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := b.publish(pctx, &paho.Publish{QoS: 1, Topic: wire.MQTTDeadLetterTopic(subscriber), Payload: data, Properties: props}); err != nil {
		return err
	}
	b.mon.DeadLettered(subscriber)
	return nil
}

// dlReg is a dead-letter observer.
type dlReg struct {
	b    *Bridge
	addr wire.Address // zero: every subscription of b
	h    bridge.DeadLetterHandler
	hk   hook
	g    inflight.Gate
	once sync.Once
}

// OnDeadLetter implements bridge.EventBridge. It subscribes (not shared, so every observer
// sees every dead letter) to purista/deadletter/<svc>/<ver>/<target> of subscriber, or to
// purista/deadletter/# filtered to this bridge's instance for the zero Address; with
// subscriber.InstanceID set, only that instance's dead letters are passed on. Dead letters
// published while nobody observes are not kept (MQTT keeps messages only for existing
// subscriptions). h runs on the bridge's worker pool; the dead letter is acknowledged when
// h returns.
func (b *Bridge) OnDeadLetter(ctx context.Context, subscriber wire.Address, h bridge.DeadLetterHandler) (bridge.Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, fmt.Errorf("mqtt: on dead letter %s: nil handler", subscriber)
	}
	d := &dlReg{b: b, addr: subscriber, h: h}
	b.mu.Lock()
	if b.life.Load() >= lifecycle.StateDraining {
		b.mu.Unlock()
		return nil, fmt.Errorf("mqtt: on dead letter %s: %w", subscriber, bridge.ErrClosed)
	}
	b.dls[d] = struct{}{}
	b.mu.Unlock()
	filter := wire.Prefix + "/deadletter/#"
	if subscriber != (wire.Address{}) {
		filter = wire.MQTTDeadLetterTopic(subscriber)
	}
	d.hk = b.addHook(filter, d.handle)
	if err := b.activate(ctx, d.hk); err != nil {
		_ = d.Unregister(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("mqtt: on dead letter %s: %w", subscriber, err)
	}
	return d, nil
}

// handle receives a dead letter (on paho's goroutine).
func (d *dlReg) handle(p *paho.Publish, ack func()) {
	b := d.b
	u := p.Properties.User
	dl := bridge.DeadLetter{
		Subscriber: wire.Address{
			ServiceName:    u.Get(PropSubscriberServiceName),
			ServiceVersion: u.Get(PropSubscriberServiceVersion),
			ServiceTarget:  u.Get(PropSubscriberServiceTarget),
			InstanceID:     u.Get(PropSubscriberInstanceID),
		},
		Reason: u.Get(PropReason),
		At:     time.Now(),
	}
	dl.Attempts, _ = strconv.Atoi(u.Get(PropAttempts))
	if ms, err := strconv.ParseInt(u.Get(PropDeadLetteredAt), 10, 64); err == nil {
		dl.At = time.UnixMilli(ms)
	}
	if !transport.ObservesDeadLetter(d.addr, b.cfg.InstanceID, dl.Subscriber) {
		ack()
		return
	}
	if b.life.Load() != lifecycle.StateRunning || !b.work.Enter(false) {
		return
	}
	data := p.Payload
	b.push(func(ctx context.Context) {
		if ctx.Err() != nil {
			return // force-stopped: unacknowledged, the session redelivers it
		}
		defer ack()
		if !d.g.Enter(false) {
			return // unregistered
		}
		defer d.g.Leave()
		if msg, err := wire.Decode(data); err == nil {
			dl.Message = msg
		}
		transport.CallDeadLetter(ctx, b.log, Name, d.h, dl)
	})
}

// Unregister implements bridge.Registration.
func (d *dlReg) Unregister(ctx context.Context) error {
	var err error
	d.once.Do(func() {
		d.b.mu.Lock()
		delete(d.b.dls, d)
		d.b.mu.Unlock()
		err = d.b.removeHooks(ctx, d.hk)
	})
	if werr := d.b.life.WaitUnregister(ctx, &d.g); werr != nil {
		return werr
	}
	return err
}
