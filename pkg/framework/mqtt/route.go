package mqtt

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/purista-go/purista/pkg/framework/internal/lifecycle"
)

// handler receives a message of a route. It runs on paho's receive goroutine (or, for a
// held message, on the goroutine registering its route) and must not block; it must call
// ack exactly once when the message may be acknowledged, or never to leave it to the
// session.
type handler func(p *paho.Publish, ack func())

// route is one MQTT subscription of the bridge (one filter; MQTT keeps one subscription
// per filter and client) and the handlers of the registrations that use it.
type route struct {
	id     int
	filter string   // as subscribed, $share prefix included
	levels []string // the topic filter's levels, without the $share prefix
	hs     map[int]handler
	left   bool // unsubscribed by Close; guarded by Bridge.mu
}

// hook is one handler of a route.
type hook struct {
	r  *route
	id int
}

// maxRouteID is the largest MQTT subscription identifier (MQTT 5 §3.8.2.1.2).
const maxRouteID = 1<<28 - 1

// routeID is the subscription identifier of filter: a hash of the filter, so that a filter
// has the same identifier in every process. A resumed session delivers the messages it
// queued with the identifiers of the process that subscribed; they find their route again
// in the next one, whatever order it registers in.
func routeID(filter string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(filter)) // never fails
	if id := int(h.Sum32() & maxRouteID); id != 0 {
		return id
	}
	return 1
}

// addHook adds h to the route of filter, creating the route (not yet subscribed), and
// hands h the messages held for that route (see hold).
func (b *Bridge) addHook(filter string, h handler) hook {
	b.mu.Lock()
	r := b.byFilter[filter]
	if r == nil {
		plain := filter
		if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				plain = rest[i+1:]
			}
		}
		id := routeID(filter)
		for b.routes[id] != nil { // a hash collision: the next free identifier
			id = id%maxRouteID + 1
		}
		r = &route{id: id, filter: filter, levels: strings.Split(plain, "/"), hs: map[int]handler{}}
		b.routes[r.id] = r
		b.byFilter[filter] = r
		delete(b.gone, r.id)
	}
	b.nextHook++
	hk := hook{r: r, id: b.nextHook}
	r.hs[hk.id] = h
	ready := b.takeHeld(r)
	b.mu.Unlock()
	for _, m := range ready {
		h(m.p, m.ack)
	}
	return hk
}

// activate subscribes the route of hk now if the bridge is connected; otherwise the next
// connection does (onUp subscribes every route).
func (b *Bridge) activate(ctx context.Context, hk hook) error {
	cm := b.connection()
	if cm == nil {
		return nil // Start subscribes it
	}
	b.connMu.Lock()
	defer b.connMu.Unlock()
	err := b.subscribe(ctx, cm, hk.r)
	if err != nil && errors.Is(err, autopaho.ConnectionDownError) {
		return nil // the reconnect subscribes it
	}
	return err
}

// subscribe sends the SUBSCRIBE of r (QoS 1, subscription identifier r.id).
func (b *Bridge) subscribe(ctx context.Context, cm *autopaho.ConnectionManager, r *route) error {
	id := r.id
	sa, err := cm.Subscribe(ctx, &paho.Subscribe{
		Properties:    &paho.SubscribeProperties{SubscriptionIdentifier: &id},
		Subscriptions: []paho.SubscribeOptions{{Topic: r.filter, QoS: 1}},
	})
	if err != nil {
		return fmt.Errorf("mqtt: subscribe %s: %w", r.filter, err)
	}
	if len(sa.Reasons) != 1 || sa.Reasons[0] >= 0x80 {
		return fmt.Errorf("mqtt: subscribe %s: broker refused with reason codes %v", r.filter, sa.Reasons)
	}
	return nil
}

// removeHooks removes handlers; routes left without one are unsubscribed if connected.
func (b *Bridge) removeHooks(ctx context.Context, hks ...hook) error {
	var filters []string
	b.mu.Lock()
	for _, hk := range hks {
		if hk.r == nil {
			continue
		}
		delete(hk.r.hs, hk.id)
		if len(hk.r.hs) == 0 && b.routes[hk.r.id] == hk.r {
			delete(b.routes, hk.r.id)
			delete(b.byFilter, hk.r.filter)
			b.gone[hk.r.id] = true
			filters = append(filters, hk.r.filter)
		}
	}
	b.mu.Unlock()
	cm := b.connection()
	if cm == nil || len(filters) == 0 || b.life.Load() == lifecycle.StateClosed {
		return nil
	}
	b.connMu.Lock()
	defer b.connMu.Unlock()
	if _, err := cm.Unsubscribe(ctx, &paho.Unsubscribe{Topics: filters}); err != nil &&
		!errors.Is(err, autopaho.ConnectionDownError) {
		return fmt.Errorf("mqtt: unsubscribe %v: %w", filters, err)
	}
	return nil
}

// onPublish receives every PUBLISH (on paho's receive goroutine, in order). It picks the
// route by subscription identifier (checking that its filter matches the topic), or by
// matching the topic when the broker sent none, and hands the message over without
// blocking. A message without a route is held for it (see hold), unless its route was
// removed (Unregister) or it is a response to an earlier instance of a stable identity:
// those are acknowledged and dropped.
func (b *Bridge) onPublish(pr paho.PublishReceived) (bool, error) {
	p := pr.Packet
	cli := pr.Client
	var once atomic.Bool
	ack := func() {
		if once.CompareAndSwap(false, true) && p.QoS > 0 {
			if err := cli.Ack(p); err != nil {
				b.log.Debug("mqtt: ack failed", "topic", p.Topic, "err", err)
			}
		}
	}
	if p.Properties == nil {
		p.Properties = &paho.PublishProperties{}
	}
	id := 0
	if sid := p.Properties.SubscriptionIdentifier; sid != nil {
		id = *sid
	}
	var one [1]handler // the usual case, without an allocation
	hs := one[:0]
	b.mu.Lock()
	if id != 0 {
		if r := b.routes[id]; r != nil && topicMatch(r.levels, p.Topic) {
			for _, h := range r.hs {
				hs = append(hs, h)
			}
		}
	} else {
		for _, r := range b.routes {
			if topicMatch(r.levels, p.Topic) {
				for _, h := range r.hs {
					hs = append(hs, h)
				}
			}
		}
	}
	if len(hs) == 0 {
		switch {
		case b.gone[id] || b.staleResponse(id, p.Topic):
			b.mu.Unlock()
			b.log.Debug("mqtt: dropped a message for a removed registration", "topic", p.Topic)
			ack()
		case b.life.Load() == lifecycle.StateRunning:
			b.hold(p, ack, id)
			b.mu.Unlock()
		default: // closing: left to the session
			b.mu.Unlock()
		}
		return true, nil
	}
	b.mu.Unlock()
	switch len(hs) {
	case 1:
		hs[0](p, ack)
	default:
		var n atomic.Int32
		n.Store(int32(len(hs)))
		each := func() {
			if n.Add(-1) == 0 {
				ack()
			}
		}
		for _, h := range hs {
			var o sync.Once
			h(p, func() { o.Do(each) })
		}
	}
	return true, nil
}

// topicMatch reports whether topic matches the filter levels (MQTT "+" and "#").
func topicMatch(filter []string, topic string) bool {
	for i, f := range filter {
		if f == "#" {
			return true
		}
		j := strings.IndexByte(topic, '/')
		level := topic
		if j >= 0 {
			level = topic[:j]
		}
		if f != "+" && f != level {
			return false
		}
		if j < 0 {
			return i == len(filter)-1
		}
		topic = topic[j+1:]
	}
	return false
}

// dedup remembers the last n command ids, so that a command the broker redelivers after
// a reconnect (its PUBACK had not been sent yet) is not answered twice.
type dedup struct {
	mu   sync.Mutex
	set  map[string]struct{}
	ring []string
	next int
}

func newDedup(n int) *dedup {
	return &dedup{set: make(map[string]struct{}, n), ring: make([]string, n)}
}

// add records id and reports whether it was new.
func (d *dedup) add(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.set[id]; ok {
		return false
	}
	if old := d.ring[d.next]; old != "" {
		delete(d.set, old)
	}
	d.ring[d.next] = id
	d.next = (d.next + 1) % len(d.ring)
	d.set[id] = struct{}{}
	return true
}
