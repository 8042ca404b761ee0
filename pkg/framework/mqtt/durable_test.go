package mqtt_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/purista-go/purista/internal/testutil/tcpproxy"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/mqtt"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// Durability on the real broker (issue 10, "MQTT durability holds"): an event emitted
// while an instance is down is handled when it, or another instance of the service, runs
// again, and is never handed to a session that will not come back.

// seqs records the sequence numbers (the payloads) of the events a subscription handled,
// in the order handled.
type seqs struct {
	mu  sync.Mutex
	got []int
}

func (s *seqs) handle(_ context.Context, m *wire.Message) error {
	var n int
	_ = json.Unmarshal(m.Payload, &n)
	s.mu.Lock()
	s.got = append(s.got, n)
	s.mu.Unlock()
	return nil
}

func (s *seqs) all() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.got...)
}

// has reports whether every number in [0, n) was handled.
func (s *seqs) has(n int) bool {
	seen := map[int]bool{}
	for _, v := range s.all() {
		seen[v] = true
	}
	for i := range n {
		if !seen[i] {
			return false
		}
	}
	return true
}

// hasRange reports whether every number in [from, to) was handled.
func (s *seqs) hasRange(from, to int) bool {
	seen := map[int]bool{}
	for _, v := range s.all() {
		seen[v] = true
	}
	for i := from; i < to; i++ {
		if !seen[i] {
			return false
		}
	}
	return true
}

// subscribeTo registers h for the events named name as subscriber, durable and shared.
func subscribeTo(t *testing.T, b *mqtt.Bridge, subscriber wire.Address, name string, h bridge.MessageHandler) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := b.RegisterSubscription(ctx, bridge.Subscription{Subscriber: subscriber,
		Filter: bridge.Filter{EventName: name}, Durable: true}, h); err != nil {
		t.Fatalf("RegisterSubscription: %v", err)
	}
}

// emitSeq emits events from..to-1 named name, each carrying its number.
func emitSeq(t *testing.T, b *mqtt.Bridge, name string, from, to int) {
	t.Helper()
	sender := wire.Address{ServiceName: "DurableEmitter", ServiceVersion: "1", ServiceTarget: "emit"}
	for i := from; i < to; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := b.Emit(ctx, event(sender, name, i))
		cancel()
		if err != nil {
			t.Fatalf("Emit %d: %v", i, err)
		}
	}
}

func closeBridge(t *testing.T, b *mqtt.Bridge) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// TestIdentityDefaults: an instance id or client id makes a stable identity with the long
// session expiry; without one the session expiry is the short, documented one.
func TestIdentityDefaults(t *testing.T) {
	for _, c := range []struct {
		name       string
		url        string
		opts       []mqtt.Option
		stable     bool
		wantExpiry time.Duration
	}{
		{"random instance id", "mqtt://127.0.0.1:1883", nil, false, mqtt.DefaultEphemeralSessionExpiry},
		{"instance id", "mqtt://127.0.0.1:1883", []mqtt.Option{mqtt.WithInstanceID(wire.NewID())}, true, mqtt.DefaultSessionExpiry},
		{"client id option", "mqtt://127.0.0.1:1883", []mqtt.Option{mqtt.WithClientID("pod-0")}, true, mqtt.DefaultSessionExpiry},
		{"client id in the URL", "mqtt://127.0.0.1:1883?clientId=pod-0", nil, true, mqtt.DefaultSessionExpiry},
		{"explicit expiry", "mqtt://127.0.0.1:1883", []mqtt.Option{mqtt.WithSessionExpiry(5 * time.Second)}, false, 5 * time.Second},
		{"explicit expiry in the URL", "mqtt://127.0.0.1:1883?sessionExpiry=7", []mqtt.Option{mqtt.WithInstanceID(wire.NewID())}, true, 7 * time.Second},
		{"a pod name as instance id", "mqtt://127.0.0.1:1883", []mqtt.Option{mqtt.WithInstanceID("signup-0")}, true, mqtt.DefaultSessionExpiry},
		{"an instance id no topic level can carry", "mqtt://127.0.0.1:1883", []mqtt.Option{mqtt.WithInstanceID("+")}, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := mqtt.New(c.url, c.opts...)
			if c.wantExpiry == 0 {
				if !errors.Is(err, mqtt.ErrConfig) {
					t.Errorf("New = %v, want ErrConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.StableIdentity() != c.stable || b.SessionExpiry() != c.wantExpiry {
				t.Errorf("stable %v, expiry %s; want %v, %s", b.StableIdentity(), b.SessionExpiry(), c.stable, c.wantExpiry)
			}
		})
	}
}

// TestDurableStableIdentity: an instance with a stable identity (an instance id, or a
// client id with a random instance id) stops (cleanly, or its connection dies), N events
// are emitted while it is down, and a process started with the same identity handles all
// N, whether it registers its subscription before or after Start (the framework registers
// after: the events the session queued then arrive before the subscription exists, and
// are held for it, never acknowledged unhandled). With a client id, a response to the
// crashed process's instance id that its session kept is dropped, not held.
func TestDurableStableIdentity(t *testing.T) {
	addr := brokerAddr(t)
	const n = 50
	for _, c := range []struct {
		name          string
		crash         bool
		registerFirst bool
		clientID      bool
	}{
		{"clean stop, register after start", false, false, false},
		{"clean stop, register before start", false, true, false},
		{"crash, register after start", true, false, false},
		{"client id, clean stop", false, false, true},
		{"client id, crash", true, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := wire.NewID()
			identity := mqtt.WithInstanceID(id)
			if c.clientID {
				identity = mqtt.WithClientID("pod-" + id)
			}
			name := "durableStable" + wire.NewID()[:8]
			subscriber := uniqAddr("DurableSub", "onEvent")
			emitter := start(t, addr)

			p, err := tcpproxy.New(addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close() })
			first := start(t, p.Addr(), identity)
			var before seqs
			subscribeTo(t, first, subscriber, name, before.handle)
			if c.crash {
				p.Cut() // the process is gone: no UNSUBSCRIBE, no DISCONNECT
				waitFor(t, 10*time.Second, "the first instance to see its connection gone", func() bool {
					return first.Healthy(context.Background()) != nil
				})
			} else {
				closeBridge(t, first)
			}

			emitSeq(t, emitter, name, 0, n)
			if c.clientID && c.crash { // a late answer to a call of the crashed process
				late := command(t, uniqAddr("Late", "run"), uniqAddr("Late", "x"), 1)
				late.Sender.InstanceID = first.InstanceID()
				resp := &wire.Message{ID: late.ID, MessageType: wire.TypeCommandSuccessResponse, CorrelationID: late.CorrelationID,
					Sender: *late.Receiver, Receiver: &late.Sender, Payload: json.RawMessage(`1`)}
				raw := dialRaw(t, addr)
				body, _ := wire.Encode(resp)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if _, err := raw.Publish(ctx, &paho.Publish{QoS: 1, Topic: wire.MQTTTopic(wire.TokensOf(resp)), Payload: body}); err != nil {
					t.Fatal(err)
				}
			}

			var logs lockedBuffer
			again := newBridge(t, addr, identity, mqtt.WithLogger(slogTo(&logs)))
			var after seqs
			if c.registerFirst {
				subscribeTo(t, again, subscriber, name, after.handle)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := again.Start(ctx); err != nil {
				t.Fatalf("Start: %v", err)
			}
			if !c.registerFirst {
				subscribeTo(t, again, subscriber, name, after.handle)
			}
			waitFor(t, 30*time.Second, "every event emitted while the instance was down", func() bool { return after.has(n) })
			if got := before.all(); len(got) != 0 {
				t.Errorf("the stopped instance handled %v", got)
			}
			if c.clientID && c.crash {
				waitFor(t, 30*time.Second, "the late answer to the crashed instance dropped", func() bool {
					return strings.Contains(logs.String(), "dropped a message for a removed registration")
				})
			}
		})
	}
}

// TestEphemeralLeavesShareGroups: three instances without a stable identity subscribe
// durably (one share group) and stop cleanly; a live instance then receives every event,
// none is handed to a session left behind.
func TestEphemeralLeavesShareGroups(t *testing.T) {
	addr := brokerAddr(t)
	const n = 24
	name := "ephemeralGroup" + wire.NewID()[:8]
	subscriber := uniqAddr("GroupSub", "onEvent")
	for range 3 {
		b := start(t, addr)
		subscribeTo(t, b, subscriber, name, func(context.Context, *wire.Message) error { return nil })
		closeBridge(t, b)
	}
	live := start(t, addr)
	var got seqs
	subscribeTo(t, live, subscriber, name, got.handle)
	emitter := start(t, addr)
	emitSeq(t, emitter, name, 0, n)
	waitFor(t, 30*time.Second, "every event at the live instance", func() bool { return got.has(n) })
}

// TestEphemeralCrashSessionExpires: an instance without a stable identity crashes (its
// connection is cut and never comes back); its session keeps its turn in the share group
// only until the session expiry (a short one here), after which every event reaches the
// live instance.
func TestEphemeralCrashSessionExpires(t *testing.T) {
	addr := brokerAddr(t)
	const expiry = 2 * time.Second
	const run = 12 // consecutive events at the live instance: the crashed session is out
	name := "ephemeralCrash" + wire.NewID()[:8]
	subscriber := uniqAddr("CrashSub", "onEvent")
	p, err := tcpproxy.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	crashed := start(t, p.Addr(), mqtt.WithSessionExpiry(expiry))
	if crashed.StableIdentity() {
		t.Fatal("the crashing instance must have a random id")
	}
	subscribeTo(t, crashed, subscriber, name, func(context.Context, *wire.Message) error { return nil })
	live := start(t, addr, mqtt.WithSessionExpiry(expiry))
	var got seqs
	subscribeTo(t, live, subscriber, name, got.handle)
	emitter := start(t, addr)
	p.Cut()

	// Emit in order until the live instance has handled run consecutive events: every
	// number missing among those handled is an event the broker handed to the crashed
	// session; run consecutive numbers mean that session is gone.
	stop := make(chan struct{})
	emitted := make(chan int, 1)
	go func() {
		i := 0
		defer func() { emitted <- i }()
		sender := wire.Address{ServiceName: "DurableEmitter", ServiceVersion: "1", ServiceTarget: "emit"}
		for {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := emitter.Emit(ctx, event(sender, name, i))
			cancel()
			if err != nil {
				t.Errorf("Emit %d: %v", i, err)
				return
			}
			i++
		}
	}()
	// firstRun returns the smallest number from which run consecutive numbers were
	// handled, or -1. It looks at the set of numbers handled: handlers run concurrently,
	// so the handling order says nothing.
	firstRun := func() int {
		seen := map[int]bool{}
		for _, v := range got.all() {
			seen[v] = true
		}
		first := -1
		for v := range seen {
			if seen[v-1] || (first >= 0 && v > first) {
				continue // not the start of a run, or not before the one found
			}
			k := v
			for seen[k] {
				k++
			}
			if k-v >= run {
				first = v
			}
		}
		return first
	}
	waitFor(t, 60*time.Second, "a run of consecutive events at the live instance", func() bool {
		return firstRun() >= 0
	})
	close(stop)
	total := <-emitted
	from := firstRun()
	waitFor(t, 30*time.Second, "every event from the run on at the live instance (none handed to the crashed session)", func() bool {
		return got.hasRange(from, total)
	})
	t.Logf("%d events emitted after the crash; from event %d on, every one reached the live instance", total, from)
}

// TestUnregisteredMessageDeadLettered: a message queued in a stable session for a
// subscription the next process does not register is held for the registration wait and
// then dead-lettered with the reason and acknowledged, so that it does not hold back the
// acknowledgements of later messages on the connection: after a cut, the broker delivers
// none of them again.
func TestUnregisteredMessageDeadLettered(t *testing.T) {
	addr := brokerAddr(t)
	id := wire.NewID()
	name := "staleSub" + wire.NewID()[:8]
	other := "keepSession" + wire.NewID()[:8]
	subscriber := uniqAddr("StaleSub", "onEvent")
	keeper := uniqAddr("KeepSub", "onEvent")

	first := start(t, addr, mqtt.WithInstanceID(id))
	subscribeTo(t, first, subscriber, name, func(context.Context, *wire.Message) error { return nil })
	closeBridge(t, first)
	emitter := start(t, addr)
	// The dead letters of instance id for a message without registration (no endpoint).
	dls := observeDeadLetters(t, emitter, wire.Address{InstanceID: id})
	emitSeq(t, emitter, name, 0, 1)

	// The next process has only another durable subscription (so its Close keeps the session).
	p, err := tcpproxy.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	second := start(t, p.Addr(), mqtt.WithInstanceID(id), mqtt.WithRegistrationWait(200*time.Millisecond),
		mqtt.WithMaxConcurrency(1)) // events handled in arrival order
	var kept counts
	subscribeTo(t, second, keeper, other, kept.handle)
	dl := dls.await(t, 1, "the dead letter of the message without registration")[0]
	if !strings.Contains(dl.Reason, "no registration for") || !strings.Contains(dl.Reason, "removed") ||
		dl.Subscriber.InstanceID != id || dl.Message == nil || dl.Message.EventName != name {
		t.Errorf("dead letter %+v (reason %q), want the message and the reason", dl, dl.Reason)
	}
	checkAcknowledged(t, second, emitter, p, other, &kept, 0)
	closeBridge(t, second)
}
