package bridgetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

func caseEmitNoSubscribers(t *testing.T, h Harness) {
	t.Parallel()
	caller, _ := endpoints()
	a := h.start(t)
	emit(t, h, a, event(t, caller, uniq("btNobodyListens"), 1))
	if err := a.Healthy(h.ctx(t)); err != nil {
		t.Fatalf("Healthy after emitting into the void: %v", err)
	}
}

func caseEmitAsync(t *testing.T, h Harness) {
	t.Parallel()
	caller, _ := endpoints()
	name := uniq("btEvent")
	a, b := h.start(t), h.start(t)
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	subscribe(t, h, b, bridge.Subscription{Subscriber: addr(uniq("BtSub"), "slow"), Filter: bridge.Filter{EventName: name}},
		func(ctx context.Context, _ *wire.Message) error {
			started <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		})
	t.Cleanup(func() { close(release) })
	done := make(chan error, 1)
	go func() { done <- a.Emit(h.ctx(t), event(t, caller, name, 1)) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Emit: %v", err)
		}
	case <-time.After(h.Wait):
		t.Fatal("Emit waits for the subscription handler")
	}
	select {
	case <-started:
	case <-time.After(h.Wait):
		t.Fatal("the handler never ran")
	}
}

func caseEmitSameInstance(t *testing.T, h Harness) {
	t.Parallel()
	caller, _ := endpoints()
	name := uniq("btEvent")
	a := h.start(t)
	var rec recorder
	subscribe(t, h, a, bridge.Subscription{Subscriber: addr(caller.ServiceName, "self"), Filter: bridge.Filter{EventName: name}}, rec.handle)
	ev := event(t, caller, name, 1)
	emit(t, h, a, ev)
	h.eventually(t, "the instance to receive its own event", func() bool { return rec.count() == 1 })
	got := rec.all()[0]
	if got.ID != ev.ID || got.MessageType != wire.TypeCustomMessage || got.Sender.InstanceID != a.InstanceID() {
		t.Errorf("received %s %s from %+v, want %s customMessage from instance %s", got.ID, got.MessageType, got.Sender, ev.ID, a.InstanceID())
	}
}

// twoInstances registers sub on two new instances and emits n events from a third; it
// returns the recorders of the two instances and the emitted ids.
func twoInstances(t *testing.T, h Harness, every bool, n int) (r1, r2 *recorder, ids []string) {
	caller, _ := endpoints()
	name := uniq("btEvent")
	a, b1, b2 := h.start(t), h.start(t), h.start(t)
	r1, r2 = &recorder{}, &recorder{}
	sub := bridge.Subscription{Subscriber: addr(uniq("BtSub"), "onEvent"), Filter: bridge.Filter{EventName: name}, EveryInstance: every}
	subscribe(t, h, b1, sub, r1.handle)
	subscribe(t, h, b2, sub, r2.handle)
	for i := range n {
		ev := event(t, caller, name, i)
		ids = append(ids, ev.ID)
		emit(t, h, a, ev)
	}
	return r1, r2, ids
}

func caseEveryInstance(t *testing.T, h Harness) {
	if h.Features.NoEveryInstance {
		t.Skip("Features.NoEveryInstance: the bridge has no every-instance subscriptions")
	}
	t.Parallel()
	r1, r2, ids := twoInstances(t, h, true, 10)
	h.eventually(t, "both instances to receive every event", func() bool { return len(r1.ids()) == 10 && len(r2.ids()) == 10 })
	for _, r := range []*recorder{r1, r2} {
		got := r.ids()
		for _, id := range ids {
			if got[id] == 0 {
				t.Errorf("event %s missing", id)
			}
		}
	}
}

func caseShared(t *testing.T, h Harness) {
	t.Parallel()
	r1, r2, ids := twoInstances(t, h, false, 20)
	total := func() int { return r1.count() + r2.count() }
	h.eventually(t, "all events to be handled", func() bool { return total() >= len(ids) })
	h.steady(t, "each event handled exactly once", func() bool { return total() == len(ids) })
	got := r1.ids()
	for id, n := range r2.ids() {
		got[id] += n
	}
	for _, id := range ids {
		if got[id] != 1 {
			t.Errorf("event %s handled %d times, want once", id, got[id])
		}
	}
}

func caseLargeFanOut(t *testing.T, h Harness) {
	t.Parallel()
	caller, _ := endpoints()
	name := uniq("btEvent")
	a, b1, b2 := h.start(t), h.start(t), h.start(t)
	const subs, events = 24, 20
	recs := make([]*recorder, subs)
	svc := uniq("BtFan")
	for i := range recs {
		recs[i] = &recorder{}
		b := b1
		if i%2 == 1 {
			b = b2
		}
		subscribe(t, h, b, bridge.Subscription{Subscriber: addr(svc, fmt.Sprintf("sub%d", i)), Filter: bridge.Filter{EventName: name}}, recs[i].handle)
	}
	for i := range events {
		emit(t, h, a, event(t, caller, name, i))
	}
	h.eventually(t, "every subscription to receive every event", func() bool {
		for _, r := range recs {
			if len(r.ids()) < events {
				return false
			}
		}
		return true
	})
}

func caseConcurrentEmit(t *testing.T, h Harness) {
	t.Parallel()
	caller, _ := endpoints()
	name := uniq("btEvent")
	a, b := h.start(t), h.start(t)
	var rec recorder
	subscribe(t, h, b, bridge.Subscription{Subscriber: addr(uniq("BtSub"), "onEvent"), Filter: bridge.Filter{EventName: name}}, rec.handle)
	const goroutines, each = 20, 25
	var mu sync.Mutex
	var ids []string
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				ev := event(t, caller, name, g*each+i)
				if err := a.Emit(h.ctx(t), ev); err != nil {
					t.Errorf("Emit: %v", err)
					return
				}
				mu.Lock()
				ids = append(ids, ev.ID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	h.eventually(t, "every concurrently emitted event", func() bool { return len(rec.ids()) == goroutines*each })
	got := rec.ids()
	for _, id := range ids {
		if got[id] == 0 {
			t.Errorf("event %s missing", id)
		}
	}
}

func caseCommandsNotDelivered(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	register(t, h, b, callee, echo(t, b), bridge.CommandOptions{})
	var rec recorder
	subscribe(t, h, b, bridge.Subscription{Subscriber: addr(uniq("BtSub"), "watch"),
		Filter: bridge.Filter{Receiver: bridge.AddressFilter{ServiceName: callee.ServiceName}}}, rec.handle)
	invoke(t, h, a, command(t, caller, callee, 1))
	h.steady(t, "no command delivered to a subscription without MessageType command", func() bool { return rec.count() == 0 })
}

func caseCommandSubscription(t *testing.T, h Harness) {
	if h.Features.NoCommandSubscription {
		t.Skip("Features.NoCommandSubscription: subscriptions cannot observe commands")
	}
	t.Parallel()
	caller, callee := endpoints()
	a, b := h.start(t), h.start(t)
	register(t, h, b, callee, echo(t, b), bridge.CommandOptions{})
	var rec recorder
	subscribe(t, h, b, bridge.Subscription{Subscriber: addr(uniq("BtSub"), "audit"),
		Filter: bridge.Filter{MessageType: wire.TypeCommand, Receiver: bridge.AddressFilter{ServiceName: callee.ServiceName}}}, rec.handle)
	cmd := command(t, caller, callee, 1)
	invoke(t, h, a, cmd)
	h.eventually(t, "the command to reach the subscription that asks for commands", func() bool { return rec.count() >= 1 })
	if got := rec.all()[0]; got.ID != cmd.ID || got.MessageType != wire.TypeCommand {
		t.Errorf("subscription received %s %s, want command %s", got.MessageType, got.ID, cmd.ID)
	}
}

// caseResponseEvent: a success response with an eventName answers its caller and
// reaches, once each, subscriptions selecting it by eventName and by messageType
// commandSuccessResponse and eventName, on other instances, on the answering instance
// and on the calling one. (Broker bridges send the reply point to point without PURISTA
// headers; the publish that serves subscribers is a second one.) No instance has two
// subscriptions that match the same message (some MQTT brokers merge those into one
// delivery, see the mqtt package's tests).
func caseResponseEvent(t *testing.T, h Harness) {
	t.Parallel()
	caller, callee := endpoints()
	name := uniq("btDone")
	a, b, c, d := h.start(t), h.start(t), h.start(t), h.start(t)
	register(t, h, b, callee, func(_ context.Context, cmd *wire.Message) *wire.Message {
		resp := success(cmd, b.InstanceID(), json.RawMessage(`{"id":42}`))
		resp.EventName = name
		return resp
	}, bridge.CommandOptions{})
	byName := bridge.Filter{EventName: name}
	byType := bridge.Filter{MessageType: wire.TypeCommandSuccessResponse, EventName: name}
	subs := []struct {
		what string
		on   bridge.EventBridge
		f    bridge.Filter
		rec  recorder
	}{
		{what: "eventName on another instance", on: c, f: byName},
		{what: "messageType+eventName on another instance", on: d, f: byType},
		{what: "eventName on the answering instance", on: b, f: byName},
		{what: "messageType+eventName on the calling instance", on: a, f: byType},
	}
	for i := range subs {
		s := &subs[i]
		subscribe(t, h, s.on, bridge.Subscription{Subscriber: addr(uniq("BtSub"), fmt.Sprintf("onDone%d", i)), Filter: s.f}, s.rec.handle)
	}
	cmd := command(t, caller, callee, 1)
	resp := invoke(t, h, a, cmd)
	if resp.MessageType != wire.TypeCommandSuccessResponse || resp.EventName != name || resp.CorrelationID != cmd.CorrelationID ||
		!sameJSON(resp.Payload, []byte(`{"id":42}`)) || resp.Sender.InstanceID != b.InstanceID() {
		t.Errorf("caller got %s eventName %q correlationId %s payload %s from %s; want the success response %q to %s from %s",
			resp.MessageType, resp.EventName, resp.CorrelationID, resp.Payload, resp.Sender.InstanceID, name, cmd.CorrelationID, b.InstanceID())
	}
	for i := range subs {
		s := &subs[i]
		h.eventually(t, "the success event at the subscription by "+s.what, func() bool { return s.rec.count() >= 1 })
	}
	h.steady(t, "one delivery per subscription", func() bool {
		for i := range subs {
			if subs[i].rec.count() != 1 {
				return false
			}
		}
		return true
	})
	for i := range subs {
		got := subs[i].rec.all()[0]
		if got.MessageType != wire.TypeCommandSuccessResponse || got.EventName != name || got.CorrelationID != cmd.CorrelationID ||
			!sameJSON(got.Payload, []byte(`{"id":42}`)) || !got.Sender.SameEndpoint(callee) {
			t.Errorf("subscription by %s received %s eventName %q correlationId %s payload %s sender %+v", subs[i].what,
				got.MessageType, got.EventName, got.CorrelationID, got.Payload, got.Sender)
		}
	}
}

// filterCase subscribes with filter, emits miss (must not arrive) and then hit (must).
type filterCase struct {
	name string
	// build returns the filter and the messages; a and b are the emitting instances.
	build func(t *testing.T, a, b bridge.EventBridge) (f bridge.Filter, hit, miss []*wire.Message, emitter []bridge.EventBridge)
}

func filterCases() []Case {
	cs := []filterCase{
		{"FilterEventName", func(t *testing.T, a, _ bridge.EventBridge) (bridge.Filter, []*wire.Message, []*wire.Message, []bridge.EventBridge) {
			from, _ := endpoints()
			name := uniq("btEvent")
			return bridge.Filter{EventName: name},
				[]*wire.Message{event(t, from, name, 1)},
				[]*wire.Message{event(t, from, name+"X", 1)}, nil
		}},
		{"FilterSender", func(t *testing.T, a, _ bridge.EventBridge) (bridge.Filter, []*wire.Message, []*wire.Message, []bridge.EventBridge) {
			svc := uniq("BtSender")
			other := addr(svc, "other")
			otherVersion := addr(svc, "emit")
			otherVersion.ServiceVersion = "2"
			return bridge.Filter{Sender: bridge.AddressFilter{ServiceName: svc, ServiceVersion: "1", ServiceTarget: "emit"}},
				[]*wire.Message{event(t, addr(svc, "emit"), "btAny", 1)},
				[]*wire.Message{event(t, other, "btAny", 1), event(t, otherVersion, "btAny", 1), event(t, addr(uniq("BtSender"), "emit"), "btAny", 1)}, nil
		}},
		{"FilterSenderInstance", func(t *testing.T, a, b bridge.EventBridge) (bridge.Filter, []*wire.Message, []*wire.Message, []bridge.EventBridge) {
			from := addr(uniq("BtSender"), "emit")
			return bridge.Filter{Sender: bridge.AddressFilter{ServiceName: from.ServiceName, InstanceID: a.InstanceID()}},
				[]*wire.Message{event(t, from, "btAny", 1)},
				[]*wire.Message{event(t, from, "btAny", 2)}, []bridge.EventBridge{a, b}
		}},
		{"FilterReceiver", func(t *testing.T, a, _ bridge.EventBridge) (bridge.Filter, []*wire.Message, []*wire.Message, []bridge.EventBridge) {
			from, to := endpoints()
			hit := event(t, from, "btAny", 1)
			hit.Receiver = &to
			miss := event(t, from, "btAny", 2)
			other := to
			other.ServiceTarget = "other"
			miss.Receiver = &other
			noReceiver := event(t, from, "btAny", 3)
			return bridge.Filter{Receiver: bridge.AddressFilter{ServiceName: to.ServiceName, ServiceTarget: to.ServiceTarget}},
				[]*wire.Message{hit}, []*wire.Message{miss, noReceiver}, nil
		}},
		{"FilterMessageType", func(t *testing.T, a, _ bridge.EventBridge) (bridge.Filter, []*wire.Message, []*wire.Message, []bridge.EventBridge) {
			from := addr(uniq("BtSender"), "")
			info := &wire.Message{ID: wire.NewID(), Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON,
				ContentEncoding: wire.EncodingUTF8, MessageType: wire.TypeInfoServiceReady, Sender: from, Payload: json.RawMessage(`{}`)}
			return bridge.Filter{MessageType: wire.TypeInfoServiceReady, Sender: bridge.AddressFilter{ServiceName: from.ServiceName}},
				[]*wire.Message{info}, []*wire.Message{event(t, from, "btAny", 1)}, nil
		}},
		{"FilterPrincipal", func(t *testing.T, a, _ bridge.EventBridge) (bridge.Filter, []*wire.Message, []*wire.Message, []bridge.EventBridge) {
			from, _ := endpoints()
			p := uniq("principal")
			hit, miss, none := event(t, from, "btAny", 1), event(t, from, "btAny", 2), event(t, from, "btAny", 3)
			hit.PrincipalID, miss.PrincipalID = p, p+"x"
			return bridge.Filter{PrincipalID: p}, []*wire.Message{hit}, []*wire.Message{miss, none}, nil
		}},
		{"FilterTenant", func(t *testing.T, a, _ bridge.EventBridge) (bridge.Filter, []*wire.Message, []*wire.Message, []bridge.EventBridge) {
			from, _ := endpoints()
			tn := uniq("tenant")
			hit, miss, none := event(t, from, "btAny", 1), event(t, from, "btAny", 2), event(t, from, "btAny", 3)
			hit.TenantID, miss.TenantID = tn, tn+"x"
			return bridge.Filter{TenantID: tn}, []*wire.Message{hit}, []*wire.Message{miss, none}, nil
		}},
		{"FilterCombined", func(t *testing.T, a, _ bridge.EventBridge) (bridge.Filter, []*wire.Message, []*wire.Message, []bridge.EventBridge) {
			from, _ := endpoints()
			name, p, tn := uniq("btEvent"), uniq("principal"), uniq("tenant")
			mk := func(n string, p, tn string) *wire.Message {
				m := event(t, from, n, 1)
				m.PrincipalID, m.TenantID = p, tn
				return m
			}
			return bridge.Filter{EventName: name, PrincipalID: p, TenantID: tn},
				[]*wire.Message{mk(name, p, tn)},
				[]*wire.Message{mk(name+"x", p, tn), mk(name, p+"x", tn), mk(name, p, tn+"x")}, nil
		}},
	}
	out := make([]Case, 0, len(cs))
	for _, fc := range cs {
		out = append(out, Case{Name: fc.name, Run: func(t *testing.T, h Harness) {
			t.Parallel()
			a, b, s := h.start(t), h.start(t), h.start(t)
			f, hit, miss, emitters := fc.build(t, a, b)
			var rec recorder
			subscribe(t, h, s, bridge.Subscription{Subscriber: addr(uniq("BtFilter"), "sub"), Filter: f}, rec.handle)
			// With two emitters, hits go out from the first and misses from the second.
			hitFrom, missFrom := a, a
			if len(emitters) == 2 {
				hitFrom, missFrom = emitters[0], emitters[1]
			}
			for _, m := range miss {
				emit(t, h, missFrom, m)
			}
			for _, m := range hit {
				emit(t, h, hitFrom, m)
			}
			h.eventually(t, "the matching messages", func() bool { return rec.count() >= len(hit) })
			h.steady(t, "no non-matching message delivered", func() bool { return rec.count() == len(hit) })
			want := map[string]bool{}
			for _, m := range hit {
				want[m.ID] = true
			}
			for _, m := range rec.all() {
				if !want[m.ID] {
					t.Errorf("message %s (%s) should not have matched %+v", m.ID, m.MessageType, f)
				}
			}
		}})
	}
	return out
}

func caseDurable(t *testing.T, h Harness) {
	if h.Features.NoDurable {
		t.Skip("Features.NoDurable: messages emitted while no instance runs are lost")
	}
	t.Parallel()
	caller, _ := endpoints()
	name := uniq("btEvent")
	a, b1 := h.start(t), h.start(t)
	sub := bridge.Subscription{Subscriber: addr(uniq("BtSub"), "durable"), Filter: bridge.Filter{EventName: name}, Durable: true}
	var rec1 recorder
	subscribe(t, h, b1, sub, rec1.handle)
	if err := b1.Close(h.ctx(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var ids []string
	for i := range 3 {
		ev := event(t, caller, name, i)
		ids = append(ids, ev.ID)
		emit(t, h, a, ev)
	}
	b2 := h.newBridge(t)
	var rec2 recorder
	subscribe(t, h, b2, sub, rec2.handle)
	if err := b2.Start(h.ctx(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	h.eventually(t, "the events kept while no instance ran", func() bool {
		got := rec2.ids()
		for _, id := range ids {
			if got[id] == 0 {
				return false
			}
		}
		return true
	})
}
