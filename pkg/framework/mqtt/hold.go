package mqtt

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/purista-go/purista/pkg/framework/wire"
)

// Messages that arrive before their registration.
//
// A resumed session delivers what it queued while the instance was away as soon as the
// connection is up, before the service has registered its commands and subscriptions
// (the framework starts the bridge first). Such a message is never acknowledged before
// its handler exists: it is held until a registration adds its route (addHook hands it
// over) or until the registration wait ends (WithRegistrationWait). It is then
// dead-lettered with the reason and acknowledged: paho acknowledges in arrival order, so a
// message left unacknowledged on a live connection would hold back the PUBACK of every
// later one, and once the broker's in-flight window is full the broker would stop
// delivering to this client.

// heldMsg is a message waiting for its route.
type heldMsg struct {
	p     *paho.Publish
	ack   func()
	id    int       // its subscription identifier, 0 if the broker sent none
	until time.Time // end of its wait
}

// hold keeps p until its route is added or the registration wait ends. b.mu is held.
func (b *Bridge) hold(p *paho.Publish, ack func(), id int) {
	b.held = append(b.held, heldMsg{p: p, ack: ack, id: id, until: time.Now().Add(b.cfg.registrationWait)})
	if b.heldTimer == nil {
		b.heldTimer = time.AfterFunc(b.cfg.registrationWait, b.expireHeld)
	}
	b.log.Debug("mqtt: holding a message until its registration", "topic", p.Topic, "subscriptionId", id)
}

// takeHeld removes from the held messages those for r and returns them. b.mu is held.
func (b *Bridge) takeHeld(r *route) []heldMsg {
	if len(b.held) == 0 {
		return nil
	}
	var out []heldMsg
	keep := b.held[:0]
	for _, m := range b.held {
		if (m.id == r.id || m.id == 0) && topicMatch(r.levels, m.p.Topic) {
			out = append(out, m)
		} else {
			keep = append(keep, m)
		}
	}
	clear(b.held[len(keep):])
	b.held = keep
	if len(b.held) == 0 && b.heldTimer != nil {
		b.heldTimer.Stop()
		b.heldTimer = nil
	}
	return out
}

// expireHeld ends the wait of the held messages whose time is up: each is dead-lettered
// (see deadLetterHeld).
func (b *Bridge) expireHeld() {
	now := time.Now()
	var expired []heldMsg
	b.mu.Lock()
	keep := b.held[:0]
	for _, m := range b.held {
		if now.Before(m.until) {
			keep = append(keep, m)
		} else {
			expired = append(expired, m)
		}
	}
	clear(b.held[len(keep):])
	b.held = keep
	b.heldTimer = nil
	if len(b.held) > 0 {
		b.heldTimer = time.AfterFunc(time.Until(b.held[0].until), b.expireHeld)
	}
	b.mu.Unlock()
	for _, m := range expired {
		if !b.work.Enter(true) {
			return // closing: left to the session
		}
		b.push(func(ctx context.Context) { b.deadLetterHeld(ctx, m) })
	}
}

// deadLetterHeld publishes m, whose registration did not come within the registration
// wait, to the dead-letter topic of this instance (the zero service address with this
// instance's id, seen by OnDeadLetter observers of the zero Address) with the reason, and
// acknowledges it once the broker confirmed that; if that fails it stays unacknowledged.
func (b *Bridge) deadLetterHeld(ctx context.Context, m heldMsg) {
	reason := fmt.Sprintf("no registration for %s within %s: the subscription was removed from this instance's code?",
		m.p.Topic, b.cfg.registrationWait)
	if err := b.deadLetter(ctx, wire.Address{InstanceID: b.cfg.InstanceID}, m.p.Payload, reason, 0); err != nil {
		b.log.Error("mqtt: dead letter not published; the message without registration stays unacknowledged",
			"topic", m.p.Topic, "subscriptionId", m.id, "err", err)
		return
	}
	b.log.Warn("mqtt: message dead-lettered", "topic", m.p.Topic, "subscriptionId", m.id, "reason", reason)
	m.ack()
}

// dropHeld forgets the held messages (Close): they stay unacknowledged.
func (b *Bridge) dropHeld() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.heldTimer != nil {
		b.heldTimer.Stop()
		b.heldTimer = nil
	}
	b.held = nil
}

// staleResponse reports whether a message without a route, received with subscription
// identifier id on topic, came through the response subscription of another instance id
// (an earlier process of this client id whose session was resumed): nobody waits for it.
func (b *Bridge) staleResponse(id int, topic string) bool {
	levels := strings.Split(topic, "/")
	if id == 0 || len(levels) != 13 || levels[9] == "" {
		return false
	}
	return routeID(wire.MQTTResponseFilter(levels[9])) == id
}
